import { type CfnResource, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ConfigError } from '../core/errors';
import type { ConfigBucket } from './config-bucket';
import type { S3RepositoryLocation } from '../schemas/secret';
import { acknowledgeLogGroup, guardFinding } from './nag';
import { RunnerTaskDefinition } from './runner-task-definition';
import { RunnerTaskRole } from './runner-task-role';
import { DEFAULT_MAX_TASK_SIZE } from '../core/task-size';

/** Properties of {@link Runner}. */
export interface RunnerProps {
  /** The VPC the cluster belongs to. */
  readonly vpc: ec2.IVpc;
  /** The config bucket: the task reads specs and writes status there. */
  readonly configBucket: ConfigBucket;
  /**
   * Secrets Manager name prefix; the task may read only secrets under it.
   * @default DEFAULT_SECRET_PREFIX ('stash/')
   */
  readonly secretPrefix?: string;
  /**
   * Directory with the runner's Dockerfile (built for linux/arm64 at deploy time).
   * @default 'container'
   */
  readonly imageDirectory?: string;
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
   * S3 buckets (or prefixes) whose restic repositories the task reaches with its own role.
   * @default - none
   */
  readonly s3Repositories?: readonly S3RepositoryLocation[];
  /**
   * Container Insights on the cluster: per-task metrics and performance logs, billed as
   * custom metrics and log ingestion for every hour a task runs.
   * @default false
   */
  readonly containerInsights?: boolean;
  /**
   * Task CPU units.
   * @default 1024
   */
  readonly cpu?: number;
  /**
   * Task memory, MiB.
   * @default 2048
   */
  readonly memoryLimitMiB?: number;
  /**
   * The largest CPU units a run may be given (a spec's `resources`); RunTask and
   * RegisterTaskDefinition are allowed up to it and no further.
   * @default 4096
   */
  readonly maxCpu?: number;
  /**
   * The largest memory (MiB) a run may be given.
   * @default 16384
   */
  readonly maxMemoryLimitMiB?: number;
  /**
   * Retention of the runner's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * CloudWatch namespace of the runner's metrics (BytesAdded, as embedded metric format log lines).
   * @default 'Stash'
   */
  readonly metricsNamespace?: string;
  /**
   * Task definition family; the dispatcher registers its EFS revisions in it.
   * @default `${stackName}-runner`
   */
  readonly family?: string;
}

/**
 * Where backups run: the ECS cluster (Container Insights only if asked), the runner's log group, its two
 * roles and its Fargate task definition:
 *
 * - the task role ({@link RunnerTaskRole}): what the runner may do;
 * - the execution role: what ECS does to start it (pull the image, write the log stream);
 * - the task definition ({@link RunnerTaskDefinition}): the base revision, without volumes.
 *
 * The `grant*` methods give the dispatcher and the recorder exactly what they need of it.
 */
export class Runner extends Construct {
  public readonly cluster: ecs.Cluster;
  public readonly logGroup: logs.LogGroup;
  public readonly taskRole: RunnerTaskRole;
  public readonly executionRole: iam.Role;
  public readonly taskDefinition: RunnerTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly family: string;
  /** EFS file systems specs may back up: always mounted read-only. */
  public readonly efsSources: readonly string[];
  /** EFS file systems that may hold `local` repositories. */
  public readonly efsRepositories: readonly string[];
  /** EFS file systems a Recovery may restore into. */
  public readonly efsRestoreTargets: readonly string[];
  /** The largest CPU units and memory (MiB) a run may be given. */
  public readonly maxSize: { readonly cpu: number; readonly memoryMiB: number };

  constructor(scope: Construct, id: string, props: RunnerProps) {
    super(scope, id);
    this.family = props.family ?? `${Stack.of(this).stackName}-runner`;

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: props.containerInsights ? ecs.ContainerInsights.ENABLED : ecs.ContainerInsights.DISABLED,
    });
    if (!props.containerInsights) {
      const reason =
        'Container Insights is the containerInsights setting, off by default: its metrics cost more than a short run\'s Fargate time. ' +
        'Each run logs its outcome, size and duration, and the record function publishes them as metrics.';
      Validations.of(this.cluster).acknowledge({ id: 'AwsSolutions-ECS4', reason }, { id: guardFinding('ecs_container_insights_enabled_check'), reason });
    }
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledgeLogGroup(this.logGroup, props.logRetention ?? logs.RetentionDays.THREE_MONTHS);
    this.taskRole = new RunnerTaskRole(this, 'TaskRole', {
      configBucket: props.configBucket,
      secretPrefix: props.secretPrefix,
      efsSources: props.efsSources,
      efsRepositories: props.efsRepositories,
      efsRestoreTargets: props.efsRestoreTargets,
      s3Repositories: props.s3Repositories,
    });
    this.efsSources = this.taskRole.efsSources;
    this.efsRepositories = this.taskRole.efsRepositories;
    this.efsRestoreTargets = this.taskRole.efsRestoreTargets;
    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Stash runner task execution: pull the image, write the log stream',
    });
    this.taskDefinition = new RunnerTaskDefinition(this, 'TaskDefinition', {
      family: this.family,
      taskRole: this.taskRole,
      executionRole: this.executionRole,
      logGroup: this.logGroup,
      configBucketName: props.configBucket.bucket.bucketName,
      imageDirectory: props.imageDirectory,
      cpu: props.cpu,
      memoryLimitMiB: props.memoryLimitMiB,
      metricsNamespace: props.metricsNamespace,
    });
    this.container = this.taskDefinition.container;
    this.maxSize = { cpu: props.maxCpu ?? DEFAULT_MAX_TASK_SIZE.cpu, memoryMiB: props.maxMemoryLimitMiB ?? DEFAULT_MAX_TASK_SIZE.memoryMiB };
    const base = { cpu: props.cpu ?? 1024, memoryMiB: props.memoryLimitMiB ?? 2048 };
    if (base.cpu > this.maxSize.cpu || base.memoryMiB > this.maxSize.memoryMiB) {
      throw new ConfigError(`Runner: the task size ${base.cpu} CPU units / ${base.memoryMiB} MiB exceeds the largest allowed, ${this.maxSize.cpu} / ${this.maxSize.memoryMiB}`);
    }

    Validations.of(this.executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken supports no resource-level permissions; image pulls are scoped to the asset repository.',
    });
  }

  /**
   * Lets `grantee` run only our families (the base and the `<family>-<hash>` copies the
   * dispatcher registers) on our cluster, at no more than the largest allowed size (the
   * `ecs:task-cpu` and `ecs:task-memory` keys are there when RunTask overrides the size).
   */
  public grantRunTask(grantee: iam.Role): void {
    grantee.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunOurFamilyOnOurCluster',
        actions: ['ecs:RunTask'],
        resources: [this.taskDefinitionArnPattern(`${this.family}:*`), this.taskDefinitionArnPattern(`${this.family}-*`)],
        conditions: { ...this.onOurCluster(), ...this.withinMaxSize() },
      }),
    );
    Validations.of(grantee).acknowledge(
      {
        id: taskDefinitionFinding(`${this.family}:*`),
        reason: 'Every revision of the base family: revision numbers change with each deploy of a new runner image.',
      },
      {
        id: taskDefinitionFinding(`${this.family}-*`),
        reason: 'The families the dispatcher registers per distinct EFS volume set, named <family>-<content hash>; hashes depend on the specs.',
      },
    );
  }

  /** Lets `grantee` describe the tasks of our cluster, and no other. */
  public grantDescribeTasks(grantee: iam.Role): void {
    this.grantOnOurTasks(grantee, 'DescribeOurTasks', 'ecs:DescribeTasks');
  }

  /**
   * Lets `grantee` stop the tasks of our cluster, and no other: the dispatcher stops a task
   * that outlived its spec's `timeout` (a hung restic), so that the spec's next slot runs.
   */
  public grantStopTasks(grantee: iam.Role): void {
    this.grantOnOurTasks(grantee, 'StopOurTasksThatOutliveTheirTimeout', 'ecs:StopTask');
  }

  /** One action on any task of our cluster (task ids are assigned at launch), the cluster pinned by ARN and condition. */
  private grantOnOurTasks(grantee: iam.Role, sid: string, action: string): void {
    grantee.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid,
        actions: [action],
        resources: [Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${this.cluster.clusterName}/*` })],
        conditions: this.onOurCluster(),
      }),
    );
    const cluster = Stack.of(this).getLogicalId(this.cluster.node.defaultChild as CfnResource);
    Validations.of(grantee).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${cluster}>/*]`,
      reason: 'Any task of our cluster only (task ids are assigned at launch); the ecs:cluster condition pins the cluster too.',
    });
  }

  /** Lets `grantee` list the tasks of our cluster. */
  public grantListTasks(grantee: iam.Role): void {
    grantee.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ListTasksOfOurCluster', actions: ['ecs:ListTasks'], resources: ['*'], conditions: this.onOurCluster() }),
    );
    acknowledgeResourceStar(grantee);
  }

  /**
   * Lets `grantee` register revisions of our `<family>-<hash>` families (those with EFS
   * volumes), no larger than the largest allowed size; read task definitions; and deregister
   * the copies a new base revision superseded. Describe, list and deregister support no
   * resource-level permissions; what a registered revision can do is bounded by
   * {@link grantPassRoles} and {@link grantRunTask}.
   */
  public grantRegisterRevisions(grantee: iam.Role): void {
    grantee.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RegisterOurVolumeSetFamilies',
        actions: ['ecs:RegisterTaskDefinition'],
        resources: [this.taskDefinitionArnPattern(`${this.family}-*`)],
        conditions: this.withinMaxSize(),
      }),
    );
    grantee.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadAndRetireTaskDefinitions',
        actions: ['ecs:DescribeTaskDefinition', 'ecs:ListTaskDefinitions', 'ecs:DeregisterTaskDefinition'],
        resources: ['*'],
      }),
    );
    acknowledgeResourceStar(grantee);
  }

  /** Lets `grantee` pass the task and execution roles, to ECS tasks only. */
  public grantPassRoles(grantee: iam.Role): void {
    grantee.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PassOnlyOurRolesToEcsTasks',
        actions: ['iam:PassRole'],
        resources: [this.taskRole.roleArn, this.executionRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
  }

  /** Sizes up to {@link maxSize}; the keys are absent (and the condition met) when a request sets no size. */
  private withinMaxSize() {
    return { NumericLessThanEqualsIfExists: { 'ecs:task-cpu': String(this.maxSize.cpu), 'ecs:task-memory': String(this.maxSize.memoryMiB) } };
  }

  private onOurCluster() {
    return { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } };
  }

  /** `arn:<partition>:ecs:<region>:<account>:task-definition/<name>` */
  private taskDefinitionArnPattern(name: string): string {
    return Stack.of(this).formatArn({ service: 'ecs', resource: 'task-definition', resourceName: name });
  }
}

/** The IAM5 finding cdk-nag reports for a grant on `task-definition/<name>`. */
function taskDefinitionFinding(name: string): string {
  return `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/${name}]`;
}

/** Acknowledges cdk-nag's finding on the `Resource: *` of the runner's grants, with why each needs it. */
function acknowledgeResourceStar(grantee: iam.Role): void {
  Validations.of(grantee).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'ecs:ListTasks names no task in its resource (the ecs:cluster condition scopes it to our cluster); ' +
      'ecs:DescribeTaskDefinition, ListTaskDefinitions and DeregisterTaskDefinition support no resource-level permissions.',
  });
}
