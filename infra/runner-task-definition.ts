import { Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ConfigError } from '../core/errors';
import { describeSizes, fargateMemories } from '../core/task-size';
import { guardFinding } from './nag';

/** The runner's container name; the dispatcher's overrides refer to it. */
export const CONTAINER_NAME = 'runner';

/** The user the runner runs as: the image's `stash` user (uid and gid 10001), never root. */
export const RUNNER_USER = '10001:10001';

/**
 * The one writable place of the runner's read-only root file system: a task-local volume
 * (Fargate's ephemeral storage) at `/tmp`, where Node and restic keep temporary files and
 * restic its cache. The image declares it (`VOLUME ["/tmp"]`, `TMPDIR`, `RESTIC_CACHE_DIR`).
 */
export const SCRATCH = { volume: 'scratch', path: '/tmp' } as const;

/** Properties of {@link RunnerTaskDefinition}. */
export interface RunnerTaskDefinitionProps {
  /** Task definition family; the dispatcher registers its EFS revisions in it. */
  readonly family: string;
  /** What the runner may do. */
  readonly taskRole: iam.IRole;
  /** What ECS does to start the runner: pull the image, write the log stream. */
  readonly executionRole: iam.IRole;
  /** Where the runner's log lines go. */
  readonly logGroup: logs.ILogGroup;
  /** Name of the config bucket the runner loads its spec from. */
  readonly configBucketName: string;
  /**
   * Directory with the runner's Dockerfile (built for linux/arm64 at deploy time).
   * @default 'container'
   */
  readonly imageDirectory?: string;
  /**
   * Task CPU units; with `memoryLimitMiB`, a size Fargate accepts (core/task-size.ts).
   * @default 1024
   */
  readonly cpu?: number;
  /**
   * Task memory, MiB.
   * @default 2048
   */
  readonly memoryLimitMiB?: number;
  /**
   * CloudWatch namespace of the runner's metrics (BytesAdded, as embedded metric format log lines).
   * @default 'Stash'
   */
  readonly metricsNamespace?: string;
}

/**
 * The runner's base Fargate task definition, on Graviton: one container, `runner`, with the
 * environment the task's entry point reads (the config bucket, Powertools' service and metrics
 * namespace) and its log lines in the runner's log group. It runs as {@link RUNNER_USER} on a
 * read-only root file system, with one writable task-local volume, {@link SCRATCH}. The
 * dispatcher registers a copy per distinct EFS volume set (family `<family>-<hash>`), which
 * keeps all of this and adds the EFS volumes. What a run needs (spec, secret, run id) comes
 * as RunTask overrides.
 */
export class RunnerTaskDefinition extends ecs.FargateTaskDefinition {
  public readonly container: ecs.ContainerDefinition;

  constructor(scope: Construct, id: string, props: RunnerTaskDefinitionProps) {
    const cpu = props.cpu ?? 1024;
    const memoryLimitMiB = props.memoryLimitMiB ?? 2048;
    if (!fargateMemories(cpu).includes(memoryLimitMiB)) {
      throw new ConfigError(
        `RunnerTaskDefinition: ${cpu} CPU units with ${memoryLimitMiB} MiB is not a Fargate size; ` +
          `with ${cpu} CPU units Fargate accepts ${describeSizes(fargateMemories(cpu)) || 'nothing'}`,
      );
    }
    super(scope, id, {
      family: props.family,
      cpu,
      memoryLimitMiB,
      // Graviton: about 20% cheaper than x86 for the same vCPU, and restic ships arm64 builds.
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
      taskRole: props.taskRole,
      executionRole: props.executionRole,
    });

    this.container = this.addContainer('Runner', {
      containerName: CONTAINER_NAME,
      image: ecs.ContainerImage.fromAsset(props.imageDirectory ?? 'container', { platform: Platform.LINUX_ARM64 }),
      essential: true,
      logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: 'runner' }),
      user: RUNNER_USER,
      readonlyRootFilesystem: true,
      environment: {
        CONFIG_BUCKET: props.configBucketName,
        POWERTOOLS_SERVICE_NAME: 'stash',
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'Stash',
      },
    });
    this.addVolume({ name: SCRATCH.volume });
    this.container.addMountPoints({ sourceVolume: SCRATCH.volume, containerPath: SCRATCH.path, readOnly: false });
    Validations.of(this).acknowledge({
      id: guardFinding('ecs_task_definition_memory_hard_limit_check'),
      reason:
        "The task's memory is the limit: the runner is its only container, and RunTask raises the task's memory for a spec's " +
        'resources; a container limit written here would stay at the base size and kill a larger run.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds names only (the config bucket, the Powertools service and metrics namespace), never a secret: ' +
        'the runner reads its backend secret from Secrets Manager itself, so it never appears in the task definition or in overrides.',
    });
  }
}
