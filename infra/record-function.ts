import type { Construct } from 'constructs';
import type { Runner } from './runner';
import { CONTAINER_NAME } from './runner-task-definition';
import { StashFunction, type StashFunctionCommonProps } from './stash-function';

/** Properties of {@link RecordFunction}. */
export interface RecordFunctionProps extends StashFunctionCommonProps {
  /** The runner whose stopped tasks are recorded. */
  readonly runner: Runner;
}

/**
 * The recorder, woken by a stopped runner task: it reads specs and the compiled specs the
 * dispatcher saved, reads and writes status, and describes tasks of our cluster only.
 */
export class RecordFunction extends StashFunction {
  constructor(scope: Construct, id: string, props: RecordFunctionProps) {
    super(scope, id, {
      ...props,
      handler: 'record',
      description: 'Stash: record a stopped runner task in status/ and as metrics',
      environment: { CLUSTER_ARN: props.runner.cluster.clusterArn, CONTAINER_NAME },
    });
    props.configBucket.grantReadCompiledSpecs(this.role);
    props.runner.grantDescribeTasks(this.role);
  }
}
