import { Duration, Fn, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { dispatchTimeoutSeconds } from '../core/limits';
import { DEFAULT_SECRET_PREFIX } from '../schemas/secret';
import type { Network } from './network';
import type { Runner } from './runner';
import { CONTAINER_NAME } from './runner-task-definition';
import { checkSecretPrefix, grantReadSecrets } from './secrets';
import { StashFunction, type StashFunctionCommonProps } from './stash-function';

/** Properties of {@link DispatchFunction}. */
export interface DispatchFunctionProps extends StashFunctionCommonProps {
  /** Where tasks run: the cluster, the task definition family and its two roles, the EFS file systems by role, the largest size. */
  readonly runner: Runner;
  /** The subnets and security groups the tasks get. */
  readonly network: Network;
  /**
   * Minutes between ticks; one dispatch must end before the next starts.
   * @default 1
   */
  readonly tickMinutes?: number;
}

/**
 * The dispatcher, woken by the tick: it reads specs, reads and writes status and state,
 * checks secrets under the prefix, registers a task definition per EFS volume set (family
 * `<family>-<hash>`), runs only our families on our cluster, and passes only our two roles to
 * ECS tasks. Reserved concurrency 1: two ticks never plan at once.
 */
export class DispatchFunction extends StashFunction {
  constructor(scope: Construct, id: string, props: DispatchFunctionProps) {
    const secretPrefix = checkSecretPrefix(props.secretPrefix ?? DEFAULT_SECRET_PREFIX);
    // One dispatch ends before the next tick starts; until then it launches (20 RunTask a second).
    const timeout = Duration.seconds(dispatchTimeoutSeconds(props.tickMinutes ?? 1));
    const { runner, network } = props;
    super(scope, id, {
      ...props,
      secretPrefix,
      handler: 'dispatch',
      description: 'Stash: plan the specs that are due and start their Fargate tasks',
      memorySize: 512,
      timeout,
      reservedConcurrentExecutions: 1,
      environment: {
        CLUSTER_ARN: runner.cluster.clusterArn,
        TASK_DEFINITION_ARN: runner.taskDefinition.taskDefinitionArn,
        TASK_FAMILY: runner.family,
        CONTAINER_NAME,
        TASK_ROLE_ARN: runner.taskRole.roleArn,
        EXECUTION_ROLE_ARN: runner.executionRole.roleArn,
        RUNNER_LOG_GROUP: runner.logGroup.logGroupName,
        SUBNET_IDS: joinIds(network.subnetIds),
        SECURITY_GROUP_IDS: joinIds(network.securityGroupIds),
        ASSIGN_PUBLIC_IP: network.assignPublicIp,
        EFS_SOURCES: runner.efsSources.join(','),
        EFS_REPOSITORIES: runner.efsRepositories.join(','),
        EFS_RESTORE_TARGETS: runner.efsRestoreTargets.join(','),
        MAX_TASK_CPU: String(runner.maxSize.cpu),
        MAX_TASK_MEMORY_MIB: String(runner.maxSize.memoryMiB),
      },
    });

    const bucket = props.configBucket;
    bucket.grantReadWriteState(this.role);
    Validations.of(this.role).acknowledge({
      id: bucket.wildcardFinding(bucket.statePrefix),
      reason: 'The watermark objects under state/ belong to the dispatcher alone.',
    });
    grantReadSecrets(
      this.role,
      secretPrefix,
      `Checks that the secret a spec names under ${secretPrefix} exists and has its backend's keys before launching; names come from the specs.`,
    );
    runner.grantRunTask(this.role);
    runner.grantDescribeTasks(this.role);
    runner.grantStopTasks(this.role);
    runner.grantListTasks(this.role);
    runner.grantRegisterRevisions(this.role);
    runner.grantPassRoles(this.role);
  }
}

/** Comma-separated ids, as the dispatcher reads them; works for tokens too. */
function joinIds(ids: readonly string[]): string {
  return ids.length === 0 ? '' : Fn.join(',', [...ids]);
}
