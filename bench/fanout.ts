/**
 * Benchmark 4, fan-out: 1,000 specs due in the same minute, launched by the dispatch core
 * (`tick`) through the real ECS launcher (`EcsLauncher`: its 20-per-second pacer, retries with
 * jittered backoff, RunTask client tokens) against an ECS stand-in: `aws-sdk-client-mock` on
 * an `ECSClient`, answering RunTask from a token bucket of 20 calls a second (20 in a burst)
 * and throwing ThrottlingException above it, idempotent on clientToken as ECS is. The other
 * ports (specs, watermark, statuses, secrets) are in memory, so what is measured is the launch
 * path itself, in wall-clock time.
 *
 * Two ways to run it:
 *   - one tick with no deadline: how close the launch path gets to the 50 s that 1,000
 *     launches need at 20 a second;
 *   - as deployed: the dispatch function's timeout (58 s for a 1-minute tick) and the
 *     handler's 20 s margin give the tick a deadline; what is left is deferred to the next
 *     tick, a minute after the first (its bucket refilled meanwhile).
 * Lost: slots neither launched nor still pending in the watermark for a later tick.
 */
import { DescribeTaskDefinitionCommand, ECSClient, ListTasksCommand, RunTaskCommand, type RunTaskCommandInput } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { stringify } from 'yaml';
import { EcsLauncher } from '../aws/ecs-launcher';
import { dispatchTick, type TickReport } from '../core/dispatch';
import { type SecretStore, type SpecDocument } from '../core/ports';
import { SpecCache } from '../core/spec';
import { median, ms, table, type BenchResult } from './lib';
import { DISPATCH_DEADLINE_MARGIN_MS, dispatchTimeoutSeconds } from '../core/limits';
import { MemoryStatuses, MemoryWatermark } from '../test/support/memory';

const SPECS = 1_000;
const RATE = 20;
/** The dispatch function's timeout for a 1-minute tick and the handler's margin, as deployed. */
const FUNCTION_TIMEOUT_MS = dispatchTimeoutSeconds(1) * 1000;
const DEADLINE_MARGIN_MS = DISPATCH_DEADLINE_MARGIN_MS;
const TICK_MS = 60_000;

/** 1,000 specs, all due at 02:00 UTC, on S3 with EFS sources from a few file systems. */
function documents(count: number): SpecDocument[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `fan-${String(i).padStart(4, '0')}`;
    const fs = `fs-0000000${i % 5}`;
    return {
      source: `s3://stash-config/specs/${name}.yaml`,
      version: `v-${i}`,
      text: stringify({
        apiVersion: 'stash.appscode.com/v1alpha1',
        kind: 'Restic',
        metadata: { name },
        spec: {
          fileGroups: [{ path: '/source/data', retentionPolicy: { keepLast: 7, prune: true } }],
          backend: { s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-backups', prefix: name }, storageSecretName: 's3-secret' },
          schedule: '0 2 * * *',
          volumeMounts: [{ mountPath: '/source/data', name: 'data' }],
          volumes: [{ name: 'data', efs: { fileSystemId: fs } }],
        },
      }),
    };
  });
}

const secrets: SecretStore = {
  async get(name: string) {
    return { ref: `arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/${name}-AbCdEf`, secret: { RESTIC_PASSWORD: 'p', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's' } };
  },
};

/**
 * ECS as far as the launcher goes: RunTask from a token bucket, idempotent on client tokens;
 * each task's start time on the benchmark's timeline (tick k starts at k minutes).
 */
class EcsStandIn {
  readonly client = new ECSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIA', secretAccessKey: 's' }, maxAttempts: 1 });
  readonly tasks = new Map<string, { arn: string; at: number }>();
  calls = 0;
  throttled = 0;
  private tokens = RATE;
  private refilled = performance.now();
  private tickIndex = 0;
  private tickStart = performance.now();

  constructor() {
    const mock = mockClient(this.client);
    mock.on(ListTasksCommand).resolves({ taskArns: [] });
    // Each volume set's task definition revision exists already.
    mock.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition?: string }) => ({
      taskDefinition: { status: 'ACTIVE', taskDefinitionArn: `arn:aws:ecs:eu-west-1:111122223333:task-definition/${input.taskDefinition}:1` },
    }));
    mock.on(RunTaskCommand).callsFake((input: RunTaskCommandInput) => this.runTask(input));
  }

  /** Tick `k` starts now; after the quiet minute before it, the bucket is full again. */
  startTick(k: number): void {
    this.tickIndex = k;
    this.tickStart = performance.now();
    if (k > 0) {
      this.tokens = RATE;
      this.refilled = this.tickStart;
    }
  }

  private runTask(input: RunTaskCommandInput) {
    this.calls++;
    const now = performance.now();
    this.tokens = Math.min(RATE, this.tokens + ((now - this.refilled) / 1000) * RATE);
    this.refilled = now;
    if (this.tokens < 1) {
      this.throttled++;
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    }
    this.tokens -= 1;
    const token = input.clientToken ?? String(this.calls);
    let task = this.tasks.get(token);
    if (!task) {
      task = { arn: `arn:aws:ecs:eu-west-1:111122223333:task/stash/${this.tasks.size}`, at: this.tickIndex * TICK_MS + (now - this.tickStart) };
      this.tasks.set(token, task);
    }
    return { tasks: [{ taskArn: task.arn }], failures: [] };
  }
}

interface Scenario {
  /** From the tick's start until the last task started, ms (next ticks counted from their scheduled time). */
  allLaunchedMs: number;
  launched: number;
  deferredAfterFirstTick: number;
  lost: number;
  throttled: number;
  calls: number;
}

async function scenario(docs: readonly SpecDocument[], deployed: boolean): Promise<Scenario> {
  const ecs = new EcsStandIn();
  const watermark = new MemoryWatermark();
  const launcher = new EcsLauncher(ecs.client, {
    clusterArn: 'arn:aws:ecs:eu-west-1:111122223333:cluster/stash',
    taskDefinitionArn: 'arn:aws:ecs:eu-west-1:111122223333:task-definition/stash-runner:1',
    taskFamily: 'stash-runner',
    containerName: 'runner',
    taskRoleArn: 'arn:aws:iam::111122223333:role/stash-task',
    executionRoleArn: 'arn:aws:iam::111122223333:role/stash-execution',
    logGroup: '/stash/runner',
    subnets: ['subnet-0123456789abcdef0'],
    securityGroups: ['sg-0123456789abcdef0'],
    assignPublicIp: 'DISABLED',
    efs: { sources: ['fs-00000000', 'fs-00000001', 'fs-00000002', 'fs-00000003', 'fs-00000004'], repositories: [], restoreTargets: [] },
    maxTaskSize: { cpu: 4096, memoryMiB: 16384 },
  });
  const statuses = new MemoryStatuses();
  const cache = new SpecCache();
  const slotTime = new Date('2026-03-02T02:00:00Z');
  const reports: TickReport[] = [];
  for (let k = 0; k < (deployed ? 5 : 1); k++) {
    // The tick's "now": 30 s after the slot, then a minute later each time.
    const now = new Date(slotTime.getTime() + 30_000 + k * TICK_MS);
    ecs.startTick(k);
    const deadline = deployed ? new Date(Date.now() + FUNCTION_TIMEOUT_MS - DEADLINE_MARGIN_MS) : undefined;
    const report = await dispatchTick(
      { specs: { documents: async () => [...docs] }, cache, watermark, launcher, secrets, statuses, clock: { now: () => new Date() }, options: { deadline, leaseMs: FUNCTION_TIMEOUT_MS + 5_000 } },
      now,
    );
    reports.push(report);
    if (!(watermark.state?.pending.length ?? 0)) break;
  }
  const launched = new Set(reports.flatMap((r) => r.slots.filter((s) => s.result === 'launched').map((s) => s.spec)));
  const pending = new Set((watermark.state?.pending ?? []).map((p) => p.spec));
  return {
    allLaunchedMs: Math.max(...[...ecs.tasks.values()].map((t) => t.at)),
    launched: launched.size,
    deferredAfterFirstTick: reports[0].slots.filter((s) => s.result === 'deferred').length,
    lost: docs.length - launched.size - pending.size,
    throttled: ecs.throttled,
    calls: ecs.calls,
  };
}

export async function fanout(options: { specs?: number; runs?: number } = {}): Promise<BenchResult> {
  const count = options.specs ?? SPECS;
  const runs = options.runs ?? 3;
  const docs = documents(count);
  const rows: string[][] = [];
  const floor = (count / RATE) * 1000;
  for (const deployed of [false, true]) {
    const results: Scenario[] = [];
    for (let k = 0; k < runs; k++) {
      const r = await scenario(docs, deployed);
      process.stderr.write(`fanout: ${deployed ? 'as deployed' : 'one tick'} ${k + 1}/${runs}: all launched after ${ms(r.allLaunchedMs)}, ${r.launched} launched, ${r.lost} lost, ${r.throttled} throttled\n`);
      results.push(r);
    }
    const med = (key: keyof Scenario) => median(results.map((r) => r[key]));
    rows.push([
      deployed ? `as deployed (deadline ${(FUNCTION_TIMEOUT_MS - DEADLINE_MARGIN_MS) / 1000} s into a tick, the rest on the next)` : 'one tick, no deadline',
      ms(med('allLaunchedMs')),
      `${(med('allLaunchedMs') / floor).toFixed(3)}×`,
      String(med('launched')),
      String(med('deferredAfterFirstTick')),
      String(Math.max(...results.map((r) => r.lost))),
      `${med('throttled')} of ${med('calls')}`,
    ]);
  }
  const markdown = [
    `${count.toLocaleString('en')} specs due at one minute; ECS stand-in: ${RATE} RunTask a second (burst ${RATE}), ThrottlingException above. ${runs} runs each, medians (lost: the worst run). ` +
      `At ${RATE}/s, ${count.toLocaleString('en')} launches need ${ms(floor)}.`,
    '',
    table(['scenario', 'all launched after', 'vs the rate floor', 'launched', 'deferred by the first tick', 'lost', 'RunTask throttled'], rows),
  ].join('\n');
  return { name: 'fanout', markdown };
}
