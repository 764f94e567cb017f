import type { Construct } from 'constructs';
import { repositoryBucketsEnv, StashFunction, type StashFunctionCommonProps } from './stash-function';

/**
 * The validator, woken by a spec upload or delete: it reads specs and writes the verdict to
 * status. It checks documents only: no secret is read at upload time, so it gets no secret
 * grant, nor anything beyond what every function has. It knows the S3 repository buckets, to
 * warn of a spec at an AWS endpoint elsewhere (its secret then needs keys).
 */
export class ValidateFunction extends StashFunction {
  constructor(scope: Construct, id: string, props: StashFunctionCommonProps) {
    super(scope, id, {
      ...props,
      handler: 'validate',
      description: 'Stash: validate an uploaded spec and write the result to status/',
      environment: { S3_REPOSITORY_BUCKETS: repositoryBucketsEnv(props.s3RepositoryBuckets ?? []) },
    });
  }
}
