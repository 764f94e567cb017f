/**
 * Runs on Fargate: RunTask with references only (spec key and version, secret ARN, run id),
 * never a secret value, and a `clientToken` derived from the run id, so a retried launch
 * starts one task. Paced to 20 RunTask calls a second, backing off on throttling and retrying
 * capacity failures; what cannot be launched is reported with its reason, not thrown.
 *
 * "Still running" comes from ECS itself: ListTasks (our `startedBy`, desired status RUNNING)
 * and DescribeTasks for each task's `stash:<spec>` group and run id.
 */
import { createHash } from 'node:crypto';
import {
  DescribeTasksCommand,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ECSClient,
  type RunTaskCommandInput,
} from '@aws-sdk/client-ecs';
import type { LaunchRequest, LaunchResult, Launcher, RunningTask } from '../core/ports';
import { taskEnvironment } from '../schemas/task-env';
import { ConfigError, errorMessage, StashError } from '../core/errors';
import { taskGroup, taskRun } from '../core/record';
import { backoffMs, RatePacer, realTimer, type Timer } from './pacing';
import { objectOfSource, versionIdOf } from './s3';
import { TaskDefinitions, type TaskDefinitionConfig } from './task-definitions';
import { fargateSize } from '../core/task-size';
import { taskVolumes, type EfsFileSystems } from './task-volumes';

/** `startedBy` of every task we start; ListTasks filters on it. */
export const STARTED_BY = 'stash';

/** Where and how tasks run (the dispatch Lambda's environment). */
export interface EcsLauncherConfig extends TaskDefinitionConfig {
  readonly clusterArn: string;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  readonly assignPublicIp: 'ENABLED' | 'DISABLED';
  /** The stack's EFS file systems, by role. */
  readonly efs: EfsFileSystems;
  /** The largest task a run may get: the dispatcher's RunTask grant allows no more. */
  readonly maxTaskSize: { readonly cpu: number; readonly memoryMiB: number };
}

/** Pacing and retry knobs; the defaults suit the ECS limits. */
export interface EcsLauncherOptions {
  /** Attempts per launch, the first included. @default 6 */
  readonly maxAttempts?: number;
  /** Shared by every launch of this launcher. @default 20 calls per second */
  readonly pacer?: RatePacer;
  readonly timer?: Timer;
  readonly random?: () => number;
}

/** Raised when the running tasks cannot be listed. */
export class LauncherError extends StashError {}

/** RunTask's `clientToken` for a run: 64 hex characters, the same for the same run id. */
export function clientToken(run: string): string {
  return createHash('sha256').update(run).digest('hex');
}

const THROTTLED = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'RequestThrottled']);
const TRANSIENT = new Set(['ServerException', 'ServiceUnavailable', 'ServiceUnavailableException', 'InternalFailure', 'InternalError', 'TimeoutError', 'RequestTimeout']);
const RETRYABLE_FAILURE = /capacity|RESOURCE:|AGENT|try again|InternalError|ServiceUnavailable|timeout/i;

function classify(err: unknown): 'throttled' | 'transient' | 'permanent' {
  const e = err as { name?: string; $fault?: string; code?: string };
  if (THROTTLED.has(e?.name ?? '')) return 'throttled';
  if (TRANSIENT.has(e?.name ?? '') || e?.$fault === 'server' || ['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNREFUSED'].includes(e?.code ?? '')) return 'transient';
  return 'permanent';
}

/** {@link Launcher} on ECS Fargate. */
export class EcsLauncher implements Launcher {
  readonly taskDefinitions: TaskDefinitions;
  private readonly pacer: RatePacer;
  private readonly timer: Timer;

  constructor(
    private readonly client: ECSClient,
    readonly config: EcsLauncherConfig,
    private readonly options: EcsLauncherOptions = {},
  ) {
    this.timer = options.timer ?? realTimer;
    this.pacer = options.pacer ?? new RatePacer(20, 1000, this.timer);
    this.taskDefinitions = new TaskDefinitions(client, config);
  }

  async running(): Promise<RunningTask[]> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListTasksCommand({ cluster: this.config.clusterArn, startedBy: STARTED_BY, desiredStatus: 'RUNNING', maxResults: 100, nextToken }),
        );
        arns.push(...(page.taskArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      const out: RunningTask[] = [];
      for (let i = 0; i < arns.length; i += 100) {
        const res = await this.client.send(new DescribeTasksCommand({ cluster: this.config.clusterArn, tasks: arns.slice(i, i + 100) }));
        for (const t of res.tasks ?? []) {
          if (!t.taskArn || t.lastStatus === 'STOPPED') continue;
          const run = taskRun({ taskArn: t.taskArn, group: t.group, overrides: t.overrides }, this.config.containerName);
          if (run) out.push({ spec: run.spec, run: run.run, kind: run.kind, taskArn: t.taskArn, startedAt: (t.startedAt ?? t.createdAt)?.toISOString() });
        }
      }
      return out;
    } catch (err) {
      throw new LauncherError(`failed to list running tasks in ${this.config.clusterArn}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** The RunTask request for a launch (exported through this method for tests and dry runs). */
  async runTaskInput(request: LaunchRequest): Promise<RunTaskCommandInput> {
    const { spec, run, kind } = request;
    const name = spec.spec.metadata.name;
    const size = fargateSize(spec.spec.spec.resources);
    const max = this.config.maxTaskSize;
    if (Number(size.cpu ?? 0) > max.cpu || Number(size.memory ?? 0) > max.memoryMiB) {
      throw new ConfigError(
        `spec.resources: a task of ${size.cpu} CPU units and ${size.memory} MiB is larger than the stack allows (maxTaskCpu ${max.cpu}, maxTaskMemoryMiB ${max.memoryMiB})`,
      );
    }
    const volumes = taskVolumes({ spec: spec.spec, kind, recoveredVolumes: request.recovery?.volumes }, this.config.efs);
    const taskDefinition = await this.taskDefinitions.ensure(volumes);
    const specObject = objectOfSource(spec.source);
    const specVersion = versionIdOf(spec.version);
    const env = taskEnvironment({
      spec: name,
      specKey: specObject.key,
      specVersion,
      secretRef: request.secretRef,
      run,
      slot: request.slot?.toISOString(),
      kind,
      alsoCheck: request.alsoCheck,
      readDataSubset: request.readDataSubset,
      mayInitialise: request.mayInitialise,
      recoveryKey: request.recovery ? objectOfSource(request.recovery.source).key : undefined,
      recoveryName: request.recovery?.name,
    });
    return {
      cluster: this.config.clusterArn,
      taskDefinition,
      launchType: 'FARGATE',
      count: 1,
      clientToken: clientToken(run),
      startedBy: STARTED_BY,
      group: taskGroup(name),
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: [...this.config.subnets],
          securityGroups: [...this.config.securityGroups],
          assignPublicIp: this.config.assignPublicIp,
        },
      },
      overrides: {
        ...(size.cpu ? { cpu: size.cpu } : {}),
        ...(size.memory ? { memory: size.memory } : {}),
        ...(size.ephemeralStorageGiB ? { ephemeralStorage: { sizeInGiB: size.ephemeralStorageGiB } } : {}),
        containerOverrides: [{ name: this.config.containerName, environment: [...env] }],
      },
    };
  }

  async stop(taskArn: string, reason: string): Promise<void> {
    // StopTask keeps at most 255 characters of the reason.
    await this.client.send(new StopTaskCommand({ cluster: this.config.clusterArn, task: taskArn, reason: reason.slice(0, 255) }));
  }

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    let input: RunTaskCommandInput;
    try {
      input = await this.runTaskInput(request);
    } catch (err) {
      return { launched: false, reason: errorMessage(err), retryable: !(err instanceof ConfigError), throttled: 0 };
    }
    const attempts = this.options.maxAttempts ?? 6;
    let throttled = 0;
    let reason = 'not attempted';
    let retryable = true;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        const wait = backoffMs(attempt - 1, this.options.random);
        if (request.deadline && this.timer.now() + wait >= request.deadline.getTime()) break;
        await this.timer.sleep(wait);
      }
      await this.pacer.take();
      try {
        const res = await this.client.send(new RunTaskCommand(input));
        const task = res.tasks?.[0];
        if (task?.taskArn) return { launched: true, taskArn: task.taskArn, throttled };
        const failure = res.failures?.[0];
        reason = failure ? [failure.reason, failure.detail].filter(Boolean).join(': ') : 'RunTask returned no task and no failure';
        retryable = RETRYABLE_FAILURE.test(reason);
      } catch (err) {
        const kind = classify(err);
        reason = `${(err as { name?: string }).name ?? 'Error'}: ${errorMessage(err)}`;
        if (kind === 'throttled') throttled++;
        retryable = kind !== 'permanent';
      }
      if (!retryable) break;
    }
    return { launched: false, reason, retryable, throttled };
  }
}
