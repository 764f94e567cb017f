/**
 * Faults on the AWS side, through the dispatch function's handler on its real S3 adapters
 * (s3rver over TLS), with faults injected into the S3 client's own middleware (the SDK's
 * retries see them as S3 errors), and ECS and Secrets Manager stood in by
 * aws-sdk-client-mock: ECS is idempotent on RunTask's clientToken, as the real one is.
 *
 * After each fault: the failure is in the spec's status and in the log lines, the next tick
 * launches the spec again, the other specs are untouched, and every slot has at most one task.
 * (Overlapping ticks racing for the watermark are in aws-s3.test.ts, behind a proxy that
 * enforces conditional writes, which s3rver does not.)
 */
import {
  ECSClient,
  ECSServiceException,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RunTaskCommand,
  type RunTaskCommandInput,
} from '@aws-sdk/client-ecs';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Timer } from '../../aws/pacing';
import { composeDispatch } from '../../lambda/compose';
import { createDispatchHandler, type DispatchResult } from '../../lambda/dispatch';
import { DispatchEnvSchema, readEnv } from '../../lambda/env';
import { s3ClientConfig, startS3, type S3Server } from '../servers';

const BUCKET = 'stash-config';
const SECRET_VALUE = 'faults-aws-secret-value-41c9';
const CLUSTER_ARN = 'arn:aws:ecs:eu-west-1:111122223333:cluster/stash';
const EVENT = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/events/scheduled-event.json', import.meta.url)), 'utf8'));

const specYaml = (name: string, secret: string) => `apiVersion: stash.appscode.com/v1alpha1
kind: Restic
metadata:
  name: ${name}
spec:
  fileGroups:
  - path: /source/data
  backend:
    s3:
      endpoint: s3.amazonaws.com
      bucket: stash-backups
      prefix: ${name}
    storageSecretName: ${secret}
  schedule: '* * * * *'
  check:
    paused: true
`;

/** S3 errors as the service sends them, for the SDK's retry strategy to judge. */
const s3Error = (name: 'SlowDown' | 'InternalError', status: number) =>
  Object.assign(new Error(name === 'SlowDown' ? 'Please reduce your request rate.' : 'We encountered an internal error. Please try again.'), {
    name,
    $fault: 'server',
    $metadata: { httpStatusCode: status, attempts: 1 },
  });

/** Virtual time for the launcher's pacing and backoff. */
const virtualTimer = (): Timer => {
  let t = 0;
  return { now: () => t, sleep: async (ms) => void (t += ms) };
};

describe('faults on AWS: the dispatch function', () => {
  let s3: S3Server;
  let client: S3Client;
  let prefix: string;
  let testNo = 0;
  /** Errors the next ListObjectsV2 requests fail with, one per request. */
  const listFaults: Error[] = [];
  const ecs = mockClient(ECSClient);
  const sm = mockClient(SecretsManagerClient);
  /** clientToken -> task ARN: ECS's idempotency. */
  const tasks = new Map<string, string>();
  /** Specs whose RunTask ECS refuses for capacity. */
  const refused = new Set<string>();
  const secrets = new Map<string, Record<string, string> | undefined>();
  let throttleNext = 0;
  let out: string[];
  let now: Date;

  const put = (key: string, body: string) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  const getJson = async (key: string) => JSON.parse(await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString());
  const status = (name: string) => getJson(`${prefix}/status/${name}.json`);
  const lines = () =>
    out
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const envValue = (input: RunTaskCommandInput, name: string) => input.overrides?.containerOverrides?.[0].environment?.find((e) => e.name === name)?.value ?? '';
  const specOf = (input: RunTaskCommandInput) => envValue(input, 'STASH_SPEC_NAME');
  const runOf = (input: RunTaskCommandInput) => envValue(input, 'STASH_RUN_ID');
  const runTaskCalls = () => ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input);

  /** A fresh dispatch function (a new Lambda container) ticking at `now`. */
  const dispatch = (): Promise<DispatchResult> =>
    createDispatchHandler(
      composeDispatch(
        readEnv(DispatchEnvSchema, {
          CONFIG_BUCKET: BUCKET,
          SPEC_PREFIX: `${prefix}/specs/`,
          STATUS_PREFIX: `${prefix}/status/`,
          STATE_PREFIX: `${prefix}/state/`,
          CLUSTER_ARN,
          TASK_DEFINITION_ARN: 'arn:aws:ecs:eu-west-1:111122223333:task-definition/stash-runner:7',
          TASK_FAMILY: 'stash-runner',
          TASK_ROLE_ARN: 'arn:aws:iam::111122223333:role/stash-task',
          EXECUTION_ROLE_ARN: 'arn:aws:iam::111122223333:role/stash-execution',
          RUNNER_LOG_GROUP: '/stash/runner',
          SUBNET_IDS: 'subnet-0a1b2c3d4e5f60718',
          SECURITY_GROUP_IDS: 'sg-0123456789abcdef0',
          EFS_RESTORE_TARGETS: 'fs-0123abcd',
        }),
        { s3: client, ecs: new ECSClient({ region: 'eu-west-1' }), secrets: new SecretsManagerClient({ region: 'eu-west-1' }) },
        { clock: { now: () => now }, launcher: { timer: virtualTimer(), random: () => 0.5 } },
      ),
    )(EVENT, { getRemainingTimeInMillis: () => 50_000 });

  /** Moves the clock to 30 s past the next minute. */
  const nextMinute = () => (now = new Date(Math.floor(now.getTime() / 60_000) * 60_000 + 90_000));

  beforeAll(async () => {
    s3 = await startS3({ buckets: [BUCKET] });
    client = new S3Client({ ...s3ClientConfig(s3), maxAttempts: 3 });
    // Innermost (deserialize step): what is thrown here reaches the SDK's retry strategy as an S3 error.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListObjectsV2Command' && listFaults.length) throw listFaults.shift()!;
        return next(args);
      },
      { step: 'deserialize', name: 'faultInjection', priority: 'high' },
    );
    // S3 replaces an object atomically: a GET sees the old object or the new one. s3rver writes
    // in place, so a GET during a PUT of the same key can read it half written. One request per
    // key at a time, a GET's body read to the end before the next, gives s3rver S3's guarantee
    // for the ticks delivered at once below.
    const busy = new Map<string, Promise<unknown>>();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: string }).Key;
        if (!key || (context.commandName !== 'GetObjectCommand' && context.commandName !== 'PutObjectCommand')) return next(args);
        const before = busy.get(key) ?? Promise.resolve();
        const done = before.catch(() => undefined).then(async () => {
          const result = await next(args);
          const output = result.output as { Body?: { transformToString(encoding?: string): Promise<string> } };
          if (output.Body) {
            const text = await output.Body.transformToString('utf8');
            output.Body = { transformToString: async () => text };
          }
          return result;
        });
        busy.set(key, done);
        return done;
      },
      { step: 'initialize', name: 'atomicObjects' },
    );
  });
  afterAll(() => s3?.stop());

  beforeEach(async () => {
    prefix = `faults-${++testNo}`;
    ecs.reset();
    sm.reset();
    tasks.clear();
    refused.clear();
    listFaults.length = 0;
    throttleNext = 0;
    out = [];
    now = new Date('2026-01-01T02:00:30Z');
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out.push(String(chunk));
        return true;
      });
    }
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
    ecs.on(RunTaskCommand).callsFake((input: RunTaskCommandInput) => {
      if (throttleNext > 0) {
        throttleNext--;
        throw new ECSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });
      }
      if (refused.has(specOf(input))) {
        return { tasks: [], failures: [{ arn: CLUSTER_ARN, reason: 'Capacity is unavailable at this time. Please try again later or in a different availability zone' }] };
      }
      const arn = tasks.get(input.clientToken!) ?? `arn:aws:ecs:eu-west-1:111122223333:task/stash/${tasks.size}`;
      tasks.set(input.clientToken!, arn);
      return { tasks: [{ taskArn: arn }], failures: [] };
    });
    secrets.clear();
    for (const name of ['s3-secret', 'other-secret']) {
      secrets.set(name, { RESTIC_PASSWORD: SECRET_VALUE, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: `${SECRET_VALUE}-aws` });
    }
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId?: string }) => {
      const name = input.SecretId?.replace(/^stash\//, '') ?? '';
      const secret = secrets.get(name);
      if (!secret) throw new ResourceNotFoundException({ $metadata: {}, message: "Secrets Manager can't find the specified secret." });
      return { ARN: `arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/${name}-AbCdEf`, Name: `stash/${name}`, SecretString: JSON.stringify(secret) };
    });
    await put(`${prefix}/specs/alpha.yaml`, specYaml('alpha', 's3-secret'));
    await put(`${prefix}/specs/beta.yaml`, specYaml('beta', 'other-secret'));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    // Whatever happened, no secret value reached a log line or a RunTask request.
    expect(out.join('')).not.toContain(SECRET_VALUE);
    expect(JSON.stringify(runTaskCalls())).not.toContain(SECRET_VALUE);
    // At most one task per slot: every RunTask for one run carried the same clientToken.
    const tokens = new Map<string, Set<string>>();
    for (const i of runTaskCalls()) tokens.set(runOf(i), (tokens.get(runOf(i)) ?? new Set()).add(i.clientToken!));
    for (const [run, set] of tokens) expect(set.size, run).toBe(1);
  });

  it('S3 SlowDown while listing specs is ridden out; 500s beyond the retries fail the tick whole, and the next tick launches', async () => {
    listFaults.push(s3Error('SlowDown', 503), s3Error('SlowDown', 503));
    expect(await dispatch()).toMatchObject({ launched: 2, failed: 0 });

    nextMinute();
    listFaults.push(...Array.from({ length: 6 }, () => s3Error('InternalError', 500)));
    await expect(dispatch()).rejects.toThrow(/failed to list the specs/);
    expect(lines().find((l) => l.level === 'ERROR' && String(l.message).startsWith('tick failed; the watermark is unchanged'))?.error).toMatch(/InternalError|internal error/);
    expect(await getJson(`${prefix}/state/watermark.json`)).toMatchObject({ tick: '2026-01-01T02:00:30.000Z' });
    // The SDK tried three times before giving up; S3 recovers.
    expect(listFaults).toHaveLength(3);
    listFaults.length = 0;

    nextMinute();
    // The window the failed tick would have planned is planned now: one run per spec, the newest slot.
    expect(await dispatch()).toMatchObject({ launched: 2, failed: 0 });
    expect(await status('alpha')).toMatchObject({ running: { run: 'alpha-20260101T020200' } });
    expect(await status('beta')).toMatchObject({ running: { run: 'beta-20260101T020200' } });
    expect(runTaskCalls().map(runOf).sort()).toEqual(['alpha-20260101T020000', 'alpha-20260101T020200', 'beta-20260101T020000', 'beta-20260101T020200']);
    expect((await getJson(`${prefix}/state/watermark.json`)).pending).toEqual([]);
  });

  it('RunTask throttled, then refused for capacity: retried, deferred, and launched by the next tick; the other spec unaffected', async () => {
    throttleNext = 2;
    expect(await dispatch()).toMatchObject({ launched: 2, deferred: 0 });
    expect(lines().find((l) => l._aws)).toMatchObject({ LaunchesThrottled: 2 });

    nextMinute();
    refused.add('beta');
    expect(await dispatch()).toMatchObject({ launched: 1, deferred: 1, failed: 0 });
    const deferred = lines().find((l) => l.spec === 'beta' && l.result === 'deferred');
    expect(deferred).toMatchObject({ level: 'WARN', slot: '2026-01-01T02:01:00.000Z' });
    expect(deferred?.reason).toMatch(/^Capacity is unavailable at this time/);
    expect(await getJson(`${prefix}/state/watermark.json`)).toMatchObject({ pending: [{ spec: 'beta', slot: '2026-01-01T02:01:00.000Z', kind: 'backup' }] });
    expect(await status('alpha')).toMatchObject({ running: { run: 'alpha-20260101T020100' } });

    nextMinute();
    refused.clear();
    expect(await dispatch()).toMatchObject({ launched: 2, failed: 0 });
    expect(await status('beta')).toMatchObject({ running: { run: 'beta-20260101T020200' } });
    expect((await getJson(`${prefix}/state/watermark.json`)).pending).toEqual([]);
  });

  it('a secret deleted, then missing a key: the launch fails with the reason in the status and the log; restored, the next tick launches', async () => {
    secrets.delete('other-secret');
    expect(await dispatch()).toMatchObject({ launched: 1, failed: 1 });
    expect(await status('beta')).toMatchObject({ lastError: '2026-01-01T02:00:00.000Z: launch failed: secret "other-secret" does not exist' });
    expect(lines().find((l) => l.level === 'ERROR' && l.spec === 'beta')).toMatchObject({ result: 'failed', slot: '2026-01-01T02:00:00.000Z' });
    expect(await status('alpha')).toMatchObject({ running: { run: 'alpha-20260101T020000' } });

    nextMinute();
    secrets.set('other-secret', { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: `${SECRET_VALUE}-aws` });
    expect(await dispatch()).toMatchObject({ launched: 1, failed: 1 });
    expect(await status('beta')).toMatchObject({ lastError: '2026-01-01T02:01:00.000Z: launch failed: secret "other-secret": missing required key RESTIC_PASSWORD' });

    nextMinute();
    secrets.set('other-secret', { RESTIC_PASSWORD: SECRET_VALUE, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: `${SECRET_VALUE}-aws` });
    expect(await dispatch()).toMatchObject({ launched: 2, failed: 0 });
    expect(await status('beta')).toMatchObject({ running: { run: 'beta-20260101T020200' } });
    expect(runTaskCalls().filter((i) => specOf(i) === 'beta')).toHaveLength(1);
  });

  it('the same tick delivered twice, one after the other and at once: one task per slot', async () => {
    expect(await dispatch()).toMatchObject({ launched: 2 });
    // EventBridge delivers at least once: the same event again, in another container.
    expect(await dispatch()).toMatchObject({ launched: 0, failed: 0 });
    expect(tasks.size).toBe(2);

    nextMinute();
    const both = await Promise.all([dispatch(), dispatch()]);
    expect(both.every((r) => r.failed === 0)).toBe(true);
    // Whichever tick launched (or both, where the store did not refuse the second claim), ECS kept one task per slot.
    expect(tasks.size).toBe(4);
    expect(new Set(runTaskCalls().filter((i) => specOf(i) === 'alpha').map(runOf))).toEqual(new Set(['alpha-20260101T020000', 'alpha-20260101T020100']));
  });
});

