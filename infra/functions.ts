import { type CfnResource, Duration, Fn, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { join } from 'node:path';
import type { ConfigBucket } from './config-bucket';
import type { Network } from './network';
import { CONTAINER_NAME, secretArnPattern, secretWildcardFinding, type Runner } from './runner';
import { StashFunction } from './stash-function';
import { dispatchTimeoutSeconds } from '../core/limits';

/** Properties of {@link Functions}. */
export interface FunctionsProps {
  readonly configBucket: ConfigBucket;
  readonly runner: Runner;
  readonly network: Network;
  /** Directory with `package-lock.json` and the handlers; esbuild runs there. */
  readonly projectRoot: string;
  /**
   * Directory of the handler entry files `dispatch.ts`, `record.ts` and `validate.ts`.
   * @default `${projectRoot}/lambda`
   */
  readonly handlersDirectory?: string;
  /**
   * Secrets Manager name prefix the dispatcher may read under.
   * @default 'stash/'
   */
  readonly secretPrefix?: string;
  /**
   * CloudWatch namespace of the EMF metrics.
   * @default 'Stash'
   */
  readonly metricsNamespace?: string;
  /**
   * Minutes between ticks; one dispatch must end before the next starts.
   * @default 1
   */
  readonly tickMinutes?: number;
  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The three Lambda functions and exactly what each may do:
 *
 * - dispatch (on the tick): read specs, read and write status and state, check secrets
 *   under the prefix, register a task definition per EFS volume set (family
 *   `<family>-<hash>`), run only our families on our cluster, pass only our two roles to
 *   ECS tasks. Reserved concurrency 1: two ticks never plan at once.
 * - record (on a stopped task): read specs, read and write status, describe our tasks.
 * - validate (on a spec upload or delete): read specs, read and write status.
 */
export class Functions extends Construct {
  public readonly dispatch: StashFunction;
  public readonly record: StashFunction;
  public readonly validate: StashFunction;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const secretPrefix = props.secretPrefix ?? 'stash/';
    const tickMinutes = props.tickMinutes ?? 1;
    const handlers = props.handlersDirectory ?? join(props.projectRoot, 'lambda');
    const { configBucket: bucket, runner, network } = props;
    const stack = Stack.of(this);

    const common: Record<string, string> = {
      CONFIG_BUCKET: bucket.bucket.bucketName,
      SPEC_PREFIX: bucket.specPrefix,
      STATUS_PREFIX: bucket.statusPrefix,
      STATE_PREFIX: bucket.statePrefix,
      SECRET_PREFIX: secretPrefix,
      POWERTOOLS_SERVICE_NAME: 'stash',
      POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'Stash',
    };
    const base = { projectRoot: props.projectRoot, logRetention: props.logRetention };

    this.dispatch = new StashFunction(this, 'Dispatch', {
      ...base,
      entry: join(handlers, 'dispatch.ts'),
      description: 'Stash: plan the specs that are due and start their Fargate tasks',
      memorySize: 512,
      // One dispatch ends before the next tick starts; until then it launches (20 RunTask a second).
      timeout: Duration.seconds(dispatchTimeoutSeconds(tickMinutes)),
      reservedConcurrentExecutions: 1,
      environment: {
        ...common,
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
        ALLOWED_EFS_IDS: runner.allowedEfsIds.join(','),
      },
    });
    this.record = new StashFunction(this, 'Record', {
      ...base,
      entry: join(handlers, 'record.ts'),
      description: 'Stash: record a stopped runner task in status/ and as metrics',
      environment: { ...common, CLUSTER_ARN: runner.cluster.clusterArn, CONTAINER_NAME },
    });
    this.validate = new StashFunction(this, 'Validate', {
      ...base,
      entry: join(handlers, 'validate.ts'),
      description: 'Stash: validate an uploaded spec and write the result to status/',
      environment: common,
    });

    // ---- dispatch ----
    const dispatch = this.dispatch.role;
    bucket.grantReadSpecs(dispatch);
    bucket.grantReadWriteStatus(dispatch);
    bucket.grantReadWriteState(dispatch);
    grantReadSecrets(dispatch, secretPrefix);
    const onOurCluster = { ArnEquals: { 'ecs:cluster': runner.cluster.clusterArn } };
    dispatch.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunOurFamilyOnOurCluster',
        actions: ['ecs:RunTask'],
        // The base family, and the `<family>-<hash>` families the dispatcher registers per EFS volume set.
        resources: [taskDefinitionArnPattern(runner, `${runner.family}:*`), taskDefinitionArnPattern(runner, `${runner.family}-*:*`)],
        conditions: onOurCluster,
      }),
    );
    dispatch.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeOurTasks',
        actions: ['ecs:DescribeTasks'],
        resources: [taskArnPattern(runner)],
        conditions: onOurCluster,
      }),
    );
    dispatch.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListTasksOfOurCluster',
        actions: ['ecs:ListTasks'],
        resources: ['*'],
        conditions: onOurCluster,
      }),
    );
    dispatch.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RegisterRevisionsWithEfsVolumes',
        actions: ['ecs:RegisterTaskDefinition', 'ecs:DescribeTaskDefinition'],
        resources: ['*'],
      }),
    );
    dispatch.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PassOnlyOurRolesToEcsTasks',
        actions: ['iam:PassRole'],
        resources: [runner.taskRole.roleArn, runner.executionRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );

    // ---- record ----
    const record = this.record.role;
    bucket.grantReadSpecs(record);
    bucket.grantReadWriteStatus(record);
    bucket.grantReadCompiledSpecs(record);
    record.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DescribeOurTasks',
        actions: ['ecs:DescribeTasks'],
        resources: [taskArnPattern(runner)],
        conditions: onOurCluster,
      }),
    );

    // ---- validate ----
    // It checks documents only: no secret is read at upload time, so it gets no secret grant.
    const validate = this.validate.role;
    bucket.grantReadSpecs(validate);
    bucket.grantReadWriteStatus(validate);

    // ---- what cdk-nag reports, and why it stays ----
    const ack = (role: iam.Role, id: string, reason: string) => Validations.of(role).acknowledge({ id, reason });
    for (const fn of [this.dispatch, this.record, this.validate]) {
      ack(fn.role, bucket.wildcardFinding(bucket.specPrefix), 'Reads whichever specs the user uploads; their names are not known at deploy time.');
      ack(fn.role, bucket.wildcardFinding(bucket.statusPrefix), 'Keeps status/<spec>.json for every spec; spec names are not known at deploy time.');
    }
    ack(dispatch, bucket.wildcardFinding(bucket.statePrefix), 'The watermark objects under state/ belong to the dispatcher alone.');
    ack(
      dispatch,
      secretWildcardFinding(secretPrefix),
      `Checks that the secret a spec names under ${secretPrefix} exists and has its backend's keys before launching; names come from the specs.`,
    );
    ack(
      dispatch,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/${runner.family}:*]`,
      'Every revision of the base family: revision numbers change with each deploy of a new runner image.',
    );
    ack(
      dispatch,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/${runner.family}-*:*]`,
      'The families the dispatcher registers per distinct EFS volume set, named <family>-<content hash>; hashes depend on the specs.',
    );
    for (const role of [dispatch, record]) {
      ack(role, `AwsSolutions-IAM5[Resource::${taskArnFinding(runner)}]`, 'Any task of our cluster only (task ids are assigned at launch); the ecs:cluster condition pins the cluster too.');
    }
    ack(
      dispatch,
      'AwsSolutions-IAM5[Resource::*]',
      'ecs:RegisterTaskDefinition and ecs:DescribeTaskDefinition support no resource-level permissions, and ecs:ListTasks is ' +
        'scoped by the ecs:cluster condition. What a registered revision can do is bounded elsewhere: iam:PassRole allows only ' +
        'our task and execution roles, and ecs:RunTask only our families (<family> and <family>-<hash>) on our cluster.',
    );
  }
}

/** `arn:<partition>:ecs:<region>:<account>:task-definition/<name>` */
function taskDefinitionArnPattern(runner: Runner, name: string): string {
  return Stack.of(runner).formatArn({ service: 'ecs', resource: 'task-definition', resourceName: name });
}

function grantReadSecrets(role: iam.Role, secretPrefix: string): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadSecretsUnderPrefix',
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resources: [secretArnPattern(role, secretPrefix)],
    }),
  );
}

/** `arn:<partition>:ecs:<region>:<account>:task/<cluster name>/*` */
function taskArnPattern(runner: Runner): string {
  return Stack.of(runner).formatArn({ service: 'ecs', resource: 'task', resourceName: `${runner.cluster.clusterName}/*` });
}

function taskArnFinding(runner: Runner): string {
  const logicalId = Stack.of(runner).getLogicalId(runner.cluster.node.defaultChild as CfnResource);
  return `arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${logicalId}>/*`;
}

/** Comma-separated ids, as the dispatcher reads them; works for tokens too. */
function joinIds(ids: readonly string[]): string {
  return ids.length === 0 ? '' : Fn.join(',', [...ids]);
}
