import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ConfigError } from '../core/errors';
import { isEfsId } from '../schemas/restic';
import { DEFAULT_SECRET_PREFIX, formatS3RepositoryLocation, type S3RepositoryLocation } from '../schemas/secret';
import type { ConfigBucket } from './config-bucket';
import { checkSecretPrefix, grantReadSecrets } from './secrets';

/** Properties of {@link RunnerTaskRole}. */
export interface RunnerTaskRoleProps {
  /** The config bucket: the task reads specs and writes status there. */
  readonly configBucket: ConfigBucket;
  /**
   * Secrets Manager name prefix; the task may read only secrets under it.
   * @default DEFAULT_SECRET_PREFIX ('stash/')
   */
  readonly secretPrefix?: string;
  /**
   * EFS file systems specs may back up: mount and read as root, no write.
   * @default - none
   */
  readonly efsSources?: readonly string[];
  /**
   * EFS file systems that may hold `local` backend repositories: mount, read and write.
   * @default - none
   */
  readonly efsRepositories?: readonly string[];
  /**
   * EFS file systems a `Recovery` may restore into: mount, read and write.
   * @default - none
   */
  readonly efsRestoreTargets?: readonly string[];
  /**
   * S3 buckets (or prefixes of them) whose restic repositories the task reaches with its own
   * credentials, when a spec's secret holds no keys: list, read, write and delete there.
   * @default - none
   */
  readonly s3Repositories?: readonly S3RepositoryLocation[];
}

/**
 * What the runner may do: read specs, store run results, read secrets under the secret
 * prefix, and mount the configured EFS file systems: sources without `ClientWrite` (a backup
 * cannot change what it backs up), repositories and restore targets with it. A source is
 * never also a repository or a restore target. In the S3 repository buckets it may do what
 * restic does with a repository and nothing more: find the bucket's region, list, read, write
 * and delete objects (lock files always, packs when pruning).
 */
export class RunnerTaskRole extends iam.Role {
  /** EFS file systems specs may back up. */
  public readonly efsSources: readonly string[];
  /** EFS file systems that may hold `local` repositories. */
  public readonly efsRepositories: readonly string[];
  /** EFS file systems a Recovery may restore into. */
  public readonly efsRestoreTargets: readonly string[];
  /** S3 buckets (or prefixes) the task reaches with its own credentials. */
  public readonly s3Repositories: readonly S3RepositoryLocation[];

  constructor(scope: Construct, id: string, props: RunnerTaskRoleProps) {
    const secretPrefix = checkSecretPrefix(props.secretPrefix ?? DEFAULT_SECRET_PREFIX);
    const sources = [...new Set(props.efsSources ?? [])];
    const repositories = [...new Set(props.efsRepositories ?? [])];
    const restoreTargets = [...new Set(props.efsRestoreTargets ?? [])];
    const writable = [...new Set([...repositories, ...restoreTargets])];
    for (const fs of [...sources, ...writable]) {
      if (!isEfsId(fs)) throw new ConfigError(`RunnerTaskRole: "${fs}" is not an EFS file system id (fs-0123abcd...)`);
    }
    const both = sources.filter((fs) => writable.includes(fs));
    if (both.length) {
      throw new ConfigError(`RunnerTaskRole: ${both.join(', ')} cannot be both a source and a repository or restore target: a source is never mounted writable`);
    }
    super(scope, id, {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Stash runner: read specs and secrets under the prefix, store run results, mount the allowed EFS',
    });
    this.efsSources = sources;
    this.efsRepositories = repositories;
    this.efsRestoreTargets = restoreTargets;
    this.s3Repositories = props.s3Repositories ?? [];

    const bucket = props.configBucket;
    bucket.grantReadSpecs(this);
    bucket.grantWriteRuns(this);
    grantReadSecrets(this, secretPrefix, `Only secrets named ${secretPrefix}<storageSecretName>; the names come from the specs, not known at deploy time.`);
    this.grantMount('MountEfsSources', sources, ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientRootAccess']);
    this.grantMount('MountEfsRepositoriesAndRestoreTargets', writable, [
      'elasticfilesystem:ClientMount',
      'elasticfilesystem:ClientWrite',
      'elasticfilesystem:ClientRootAccess',
    ]);

    this.grantS3Repositories(this.s3Repositories);

    Validations.of(this).acknowledge({
      id: bucket.wildcardFinding(bucket.specPrefix),
      reason: 'Any spec may be run: the task loads the spec object (at its version) that the dispatcher names.',
    });
    Validations.of(this).acknowledge({
      id: bucket.wildcardFinding(bucket.runsPrefix),
      reason: 'The task stores the results of its run as runs/<spec>/<run>.json; spec names are not known at deploy time.',
    });
  }

  /**
   * What restic does in an S3 repository, with the task's credentials: `GetBucketLocation`
   * (minio-go asks it when the endpoint names no region, such as `s3.amazonaws.com`),
   * `ListBucket` (listings; HeadBucket before `init`; and S3 answers 404 rather than 403 for
   * a missing object only to a caller that may list, which is how restic knows a repository
   * is not there yet), `GetObject`, `PutObject` and `DeleteObject` on the repository's objects.
   * For a prefix, listing is limited to it where a request names a prefix; S3's 404 check names
   * none, so a listing of the bucket's key names stays possible, never their contents.
   */
  private grantS3Repositories(locations: readonly S3RepositoryLocation[]): void {
    if (locations.length === 0) return;
    const arn = (resource: string) => `arn:${Stack.of(this).partition}:s3:::${resource}`;
    const buckets = [...new Set(locations.map((l) => l.bucket))];
    const whole = locations.filter((l) => l.prefix === '').map((l) => l.bucket);
    this.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'FindRepositoryBucketRegions', actions: ['s3:GetBucketLocation'], resources: buckets.map((b) => arn(b)) }),
    );
    if (whole.length) {
      this.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ListRepositoryBuckets', actions: ['s3:ListBucket'], resources: whole.map((b) => arn(b)) }));
    }
    const prefixed = locations.filter((l) => l.prefix !== '' && !whole.includes(l.bucket));
    for (const bucket of [...new Set(prefixed.map((l) => l.bucket))]) {
      const prefixes = prefixed.filter((l) => l.bucket === bucket).flatMap((l) => [l.prefix, `${l.prefix}/*`]);
      this.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: `ListRepositoryPrefixesIn${bucket.replace(/[^A-Za-z0-9]/g, '')}`,
          actions: ['s3:ListBucket'],
          resources: [arn(bucket)],
          conditions: { StringLikeIfExists: { 's3:prefix': prefixes } },
        }),
      );
    }
    const objects = locations.map((l) => arn(`${l.bucket}/${l.prefix ? `${l.prefix}/` : ''}*`));
    this.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ReadWriteRepositoryObjects', actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], resources: objects }),
    );
    Validations.of(this).acknowledge(
      ...locations.map((l) => ({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${l.bucket}/${l.prefix ? `${l.prefix}/` : ''}*]`,
        reason: `The restic repositories in s3RepositoryBuckets entry ${formatS3RepositoryLocation(l)}: restic names its objects by content hash, unknown at deploy time.`,
      })),
    );
  }

  /** Lets the task mount `fileSystems` through their mount targets, with `actions`; nothing when there are none. */
  private grantMount(sid: string, fileSystems: readonly string[], actions: string[]): void {
    if (fileSystems.length === 0) return;
    const stack = Stack.of(this);
    this.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid,
        actions,
        resources: fileSystems.map((fs) => stack.formatArn({ service: 'elasticfilesystem', resource: 'file-system', resourceName: fs })),
        conditions: { Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' } },
      }),
    );
  }
}
