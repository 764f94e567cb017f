import { Validations } from 'aws-cdk-lib';
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
 * dispatcher saved, reads and writes status, and reads the run results the task stored (and
 * stores one for a task that died). The stopped task comes in the event: no ECS call.
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
    props.configBucket.grantReadWriteRuns(this.role);
    Validations.of(this.role).acknowledge({
      id: props.configBucket.wildcardFinding(props.configBucket.runsPrefix),
      reason: 'Reads runs/<spec>/<run>.json of the task that stopped, and stores it for a task that died; spec and run names are not known at deploy time.',
    });
  }
}
