/**
 * What a tick does while nothing is due, as the cost estimate prices it (infra/cost.ts,
 * IDLE_TICK): the dispatcher composed as in its Lambda, on an empty config bucket in
 * moto_server, its S3 requests counted by a proxy in front of moto, its log lines and metrics
 * as Powertools writes them. ECS stands in through aws-sdk-client-mock (nothing runs).
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ECSClient, ListTaskDefinitionsCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IDLE_TICK } from '../../infra/cost';
import { composeDispatch } from '../../lambda/compose';
import { createDispatchHandler } from '../../lambda/dispatch';
import { DispatchEnvSchema, readEnv } from '../../lambda/env';
import { startMoto, type MotoServer } from '../servers/moto';
import { RecordingProxy } from '../support/aws-calls';

const BUCKET = 'stash-idle';
const scheduled = JSON.parse(readFileSync(join(__dirname, '../fixtures/events/scheduled-event.json'), 'utf8'));

let moto: MotoServer;
let proxy: RecordingProxy;
const ecs = mockClient(ECSClient);

beforeAll(async () => {
  moto = await startMoto();
  proxy = await RecordingProxy.start(moto.endpoint);
  await new S3Client({ ...moto.clientConfig, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
});

afterAll(async () => {
  vi.restoreAllMocks();
  ecs.restore();
  await proxy?.stop();
  await moto?.stop();
});

/** A request as the S3 price list counts it. */
function priced(request: string): 'list' | 'get' | 'put' | 'free' {
  const [method, url] = request.split(' ');
  if (method === 'GET' && /[?&]list-type=2/.test(url)) return 'list';
  if (method === 'GET' || method === 'HEAD') return 'get';
  if (method === 'PUT' || method === 'POST') return 'put';
  return 'free';
}

describe('an idle tick', () => {
  it('makes the S3 requests, log lines and metrics the cost estimate prices, tick after tick', async () => {
    let now = new Date('2026-01-01T02:00:30Z');
    const env = readEnv(DispatchEnvSchema, {
      CONFIG_BUCKET: BUCKET,
      CLUSTER_ARN: 'arn:aws:ecs:eu-west-1:111122223333:cluster/stash',
      TASK_DEFINITION_ARN: 'arn:aws:ecs:eu-west-1:111122223333:task-definition/stash-runner:1',
      TASK_FAMILY: 'stash-runner',
      TASK_ROLE_ARN: 'arn:aws:iam::111122223333:role/stash-task',
      EXECUTION_ROLE_ARN: 'arn:aws:iam::111122223333:role/stash-execution',
      RUNNER_LOG_GROUP: '/stash/runner',
      SUBNET_IDS: 'subnet-0a1b2c3d4e5f60718',
      SECURITY_GROUP_IDS: 'sg-0123456789abcdef0',
      ASSIGN_PUBLIC_IP: 'ENABLED',
    });
    const handler = createDispatchHandler(
      composeDispatch(env, { s3: new S3Client({ ...moto.clientConfig, endpoint: proxy.endpoint, forcePathStyle: true }), ecs: new ECSClient({ region: 'eu-west-1' }), secrets: new SecretsManagerClient(moto.clientConfig) }, { clock: { now: () => now } }),
    );
    let out: string[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out.push(String(chunk));
        return true;
      });
    }

    // The first tick of a container also writes state/launcher.json and reads the compiled specs.
    await handler(scheduled, { getRemainingTimeInMillis: () => 60_000 });
    const warm: { requests: Record<string, number>; lines: string[] }[] = [];
    for (let i = 1; i <= 3; i++) {
      now = new Date(now.getTime() + 60_000);
      proxy.requests.length = 0;
      out = [];
      expect(await handler(scheduled, { getRemainingTimeInMillis: () => 60_000 })).toMatchObject({ specs: 0, launched: 0, failed: 0 });
      const requests = { list: 0, get: 0, put: 0, free: 0 };
      for (const r of proxy.requests) requests[priced(r)]++;
      warm.push({ requests, lines: out.join('').split('\n').filter(Boolean) });
    }

    for (const tick of warm) {
      expect(tick.requests).toEqual({ ...IDLE_TICK.s3, free: 0 });
      // The handler's own lines: its metrics line alone; Lambda adds START, END and REPORT.
      expect(tick.lines).toHaveLength(IDLE_TICK.logLineBytes.length - 3);
      const emf = JSON.parse(tick.lines[0]) as { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } };
      expect(emf._aws.CloudWatchMetrics[0].Metrics.map((m) => m.Name)).toEqual(['Ticks']);
      expect(emf._aws.CloudWatchMetrics[0].Metrics).toHaveLength(IDLE_TICK.customMetrics);
      expect(Buffer.byteLength(tick.lines[0])).toBeLessThanOrEqual(IDLE_TICK.logLineBytes[3]);
    }
  });
});
