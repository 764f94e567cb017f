/**
 * `state/launcher.json`: where and how the stack launches tasks (cluster, task definition,
 * subnets, security groups, EFS file systems by role, the largest task size, roles). The dispatcher ensures it on each cold
 * start, so `stash backup NAME --remote` on an operator's machine launches through exactly
 * the same launcher with nothing but `--specs s3://...`. It holds ids and ARNs, no secret.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import * as z from '../schemas/zod';
import { ConfigError } from '../core/errors';
import type { EcsLauncherConfig } from './ecs-launcher';
import { S3JsonObjects } from './s3-json';
import { normalisePrefix, s3Uri } from './s3';
import { parseS3RepositoryLocations } from '../schemas/secret';
import { DEFAULT_MAX_TASK_SIZE } from '../core/task-size';

/** The object name of the launcher configuration under the state prefix. */
export const LAUNCHER_CONFIG_NAME = 'launcher.json';

/** The stored launcher configuration. */
export const LauncherConfigSchema = z.object({
  clusterArn: z.string(),
  taskDefinitionArn: z.string(),
  taskFamily: z.string(),
  containerName: z.string(),
  taskRoleArn: z.string(),
  executionRoleArn: z.string(),
  logGroup: z.string(),
  subnets: z.array(z.string()),
  securityGroups: z.array(z.string()),
  assignPublicIp: z.enum(['ENABLED', 'DISABLED']),
  efsSources: z._default(z.array(z.string()), []),
  efsRepositories: z._default(z.array(z.string()), []),
  efsRestoreTargets: z._default(z.array(z.string()), []),
  /** The largest task a run may get (the RunTask grant allows no more). */
  maxTaskCpu: z._default(z.number(), DEFAULT_MAX_TASK_SIZE.cpu),
  maxTaskMemoryMiB: z._default(z.number(), DEFAULT_MAX_TASK_SIZE.memoryMiB),
  /** Where specs without AWS keys may keep S3 repositories (the task role's), as `bucket` or `bucket/prefix`. */
  s3RepositoryBuckets: z._default(z.array(z.string()), []),
  /** Where the stack's prefixes are, so the CLI needs only the bucket. */
  specPrefix: z.string(),
  statusPrefix: z.string(),
  secretPrefix: z.string(),
});
export type LauncherConfig = z.infer<typeof LauncherConfigSchema>;

const LAUNCHER_NAME = LAUNCHER_CONFIG_NAME.replace(/\.json$/, '');

/** Reads and ensures `launcher.json` under the state prefix. */
export class S3LauncherConfig {
  private readonly objects: S3JsonObjects<typeof LauncherConfigSchema>;

  constructor(client: S3Client, bucket: string, statePrefix: string) {
    this.objects = new S3JsonObjects(client, bucket, normalisePrefix(statePrefix), LauncherConfigSchema);
  }

  /** Writes `config` unless the stored one is equal; returns whether it wrote. */
  async ensure(config: LauncherConfig): Promise<boolean> {
    let wrote = false;
    await this.objects.update(LAUNCHER_NAME, (current) => {
      wrote = JSON.stringify(current) !== JSON.stringify(config);
      return config;
    });
    return wrote;
  }

  /** The stored configuration; ConfigError when the stack's dispatcher has not written it yet. */
  async read(): Promise<LauncherConfig> {
    const got = await this.objects.read(LAUNCHER_NAME);
    if (!got) {
      throw new ConfigError(
        `${s3Uri(this.objects.bucket, this.objects.key(LAUNCHER_NAME))} does not exist: the stack's dispatcher writes it on its first tick; is the stack deployed and is this its config bucket?`,
      );
    }
    return got.value;
  }
}

/** The launcher part of a stored configuration. */
export const ecsConfigOf = (c: LauncherConfig): EcsLauncherConfig => ({
  clusterArn: c.clusterArn,
  taskDefinitionArn: c.taskDefinitionArn,
  taskFamily: c.taskFamily,
  containerName: c.containerName,
  taskRoleArn: c.taskRoleArn,
  executionRoleArn: c.executionRoleArn,
  logGroup: c.logGroup,
  subnets: c.subnets,
  securityGroups: c.securityGroups,
  assignPublicIp: c.assignPublicIp,
  efs: { sources: c.efsSources, repositories: c.efsRepositories, restoreTargets: c.efsRestoreTargets },
  maxTaskSize: { cpu: c.maxTaskCpu, memoryMiB: c.maxTaskMemoryMiB },
  s3Repositories: parseS3RepositoryLocations(c.s3RepositoryBuckets),
});
