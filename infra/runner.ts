import { ArnFormat, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ConfigBucket } from './config-bucket';

/** The runner's container name; the dispatcher's overrides refer to it. */
export const CONTAINER_NAME = 'runner';

/** Properties of {@link Runner}. */
export interface RunnerProps {
  /** The VPC the cluster belongs to. */
  readonly vpc: ec2.IVpc;
  /** The config bucket: the task reads specs and writes status there. */
  readonly configBucket: ConfigBucket;
  /**
   * Secrets Manager name prefix; the task may read only secrets under it.
   * @default 'stash/'
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
 * The ECS cluster (Container Insights on) and the runner's Fargate task definition, with
 * its two roles:
 *
 * - the task role (what the runner may do): read specs, read and write status, read secrets
 *   under the secret prefix, and mount the configured EFS file systems: sources without
 *   `ClientWrite` (a backup cannot change what it backs up), repositories and restore
 *   targets with it;
 * - the execution role (what ECS does to start it): pull the image, write the log stream.
 *
 * The task definition is the base revision: no volumes. The dispatcher registers a revision
 * per distinct EFS volume set in the same family, with the same two roles.
 */
export class Runner extends Construct {
  public readonly cluster: ecs.Cluster;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly taskRole: iam.Role;
  public readonly executionRole: iam.Role;
  public readonly logGroup: logs.LogGroup;
  public readonly family: string;
  /** Every EFS file system a spec or a Recovery may name. */
  public readonly allowedEfsIds: readonly string[];

  constructor(scope: Construct, id: string, props: RunnerProps) {
    super(scope, id);
    const secretPrefix = props.secretPrefix ?? 'stash/';
    const efsSources = props.efsSources ?? [];
    const efsRepositories = props.efsRepositories ?? [];
    const efsRestoreTargets = props.efsRestoreTargets ?? [];
    const writable = [...new Set([...efsRepositories, ...efsRestoreTargets])];
    if (secretPrefix === '' || /[*?]/.test(secretPrefix)) {
      throw new Error(`Runner: secretPrefix "${secretPrefix}" must be a non-empty name prefix without wildcards`);
    }
    for (const fs of [...efsSources, ...writable]) {
      if (!/^fs-[0-9a-f]{8,40}$/.test(fs)) throw new Error(`Runner: "${fs}" is not an EFS file system id (fs-0123abcd...)`);
    }
    const stack = Stack.of(this);
    this.family = props.family ?? `${stack.stackName}-runner`;
    this.allowedEfsIds = [...new Set([...efsSources, ...writable])];

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Stash runner: read specs and secrets under the prefix, write status, mount the allowed EFS',
    });
    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Stash runner task execution: pull the image, write the log stream',
    });

    const bucket = props.configBucket;
    bucket.grantReadSpecs(this.taskRole);
    bucket.grantReadWriteStatus(this.taskRole);
    this.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSecretsUnderPrefix',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [secretArnPattern(this, secretPrefix)],
      }),
    );
    const efsArn = (fs: string) => stack.formatArn({ service: 'elasticfilesystem', resource: 'file-system', resourceName: fs });
    const viaMountTarget = { Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' } };
    if (efsSources.length > 0) {
      this.taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'MountEfsSources',
          actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientRootAccess'],
          resources: efsSources.map(efsArn),
          conditions: viaMountTarget,
        }),
      );
    }
    if (writable.length > 0) {
      this.taskRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'MountEfsRepositoriesAndRestoreTargets',
          actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite', 'elasticfilesystem:ClientRootAccess'],
          resources: writable.map(efsArn),
          conditions: viaMountTarget,
        }),
      );
    }

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      family: this.family,
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryLimitMiB ?? 2048,
      // Graviton: about 20% cheaper than x86 for the same vCPU, and restic ships arm64 builds.
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      taskRole: this.taskRole,
      executionRole: this.executionRole,
    });
    this.container = this.taskDefinition.addContainer('Runner', {
      containerName: CONTAINER_NAME,
      image: ecs.ContainerImage.fromAsset(props.imageDirectory ?? 'container', { platform: Platform.LINUX_ARM64 }),
      essential: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'runner' }),
      environment: {
        CONFIG_BUCKET: bucket.bucket.bucketName,
        SPEC_PREFIX: bucket.specPrefix,
        STATUS_PREFIX: bucket.statusPrefix,
        SECRET_PREFIX: secretPrefix,
        STASH_MODE: 'aws',
        POWERTOOLS_SERVICE_NAME: 'stash',
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'Stash',
      },
    });

    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds names only (bucket, prefixes, mode), never a secret: the runner reads its ' +
        'backend secret from Secrets Manager itself, so it never appears in the task definition or in overrides.',
    });
    Validations.of(this.executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken supports no resource-level permissions; image pulls are scoped to the asset repository.',
    });
    Validations.of(this.taskRole).acknowledge({
      id: bucket.wildcardFinding(bucket.specPrefix),
      reason: 'Any spec may be run: the task loads the spec object (at its version) that the dispatcher names.',
    });
    Validations.of(this.taskRole).acknowledge({
      id: bucket.wildcardFinding(bucket.statusPrefix),
      reason: 'The task updates status/<spec>.json of the spec it runs; spec names are not known at deploy time.',
    });
    Validations.of(this.taskRole).acknowledge({
      id: secretWildcardFinding(secretPrefix),
      reason: `Only secrets named ${secretPrefix}<storageSecretName>; the names come from the specs, not known at deploy time.`,
    });
  }
}

/** `arn:<partition>:secretsmanager:<region>:<account>:secret:<prefix>*` */
export function secretArnPattern(scope: Construct, secretPrefix: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${secretPrefix}*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** The IAM5 finding cdk-nag reports for {@link secretArnPattern}. */
export function secretWildcardFinding(secretPrefix: string): string {
  return `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${secretPrefix}*]`;
}
