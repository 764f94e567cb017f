/**
 * The operator's commands against a deployed stack: `stash logs` from CloudWatch Logs (moto,
 * and the exact requests through aws-sdk-client-mock: moto ignores filter patterns), `stash
 * history` from `runs/`, `stash backup --remote --wait` following a task (ECS through
 * aws-sdk-client-mock, as moto cannot run Fargate tasks) to the result it wrote, and the
 * built command without an AWS region or credentials.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, DescribeLogGroupsCommand, FilterLogEventsCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTasksCommand, ECSClient, ListTasksCommand, RunTaskCommand, type RunTaskCommandInput } from '@aws-sdk/client-ecs';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RunStore } from '../../aws/s3-run-store';
import { RemoteStash } from '../../cli/remote';
import type { LogRecord } from '../../cli/stash';
import type { RunResult } from '../../schemas/status';
import { startMoto, type MotoServer } from '../servers';

const BUCKET = 'stash-config';
const RUNNER_GROUP = 'StashStack-RunnerLogGroupA1B2C3D4-AbCdEf';
const DISPATCH_GROUP = 'StashStack-FunctionsDispatchLogGroupE5F6A7B8-GhIjKl';
const CLUSTER = 'arn:aws:ecs:eu-west-1:111122223333:cluster/stash';
const TASK = 'arn:aws:ecs:eu-west-1:111122223333:task/stash/0123456789abcdef';
const NOW = Date.parse('2026-01-01T02:30:00Z');
/** CloudWatch takes events of the last 14 days only: the log events are an hour ago, at T(offset). */
const BASE = Math.floor(Date.now() / 60_000) * 60_000 - 3600_000;
const T = (offsetMs: number) => new Date(BASE + offsetMs).toISOString();

const launcher = {
  clusterArn: CLUSTER,
  taskDefinitionArn: 'arn:aws:ecs:eu-west-1:111122223333:task-definition/stash-runner:7',
  taskFamily: 'stash-runner',
  containerName: 'runner',
  taskRoleArn: 'arn:aws:iam::111122223333:role/stash-task',
  executionRoleArn: 'arn:aws:iam::111122223333:role/stash-execution',
  logGroup: RUNNER_GROUP,
  subnets: ['subnet-0a1b2c3d4e5f60718'],
  securityGroups: ['sg-0123456789abcdef0'],
  assignPublicIp: 'DISABLED',
  allowedEfsIds: [],
  specPrefix: 'specs/',
  statusPrefix: 'status/',
  secretPrefix: 'stash/',
};

const spec = (name: string) => `apiVersion: stash.appscode.com/v1alpha1
kind: Restic
metadata: {name: ${name}}
spec:
  fileGroups: [{path: /source/data}]
  backend: {storageSecretName: s3-secret, s3: {endpoint: s3.amazonaws.com, bucket: stash-qa, prefix: ${name}}}
  schedule: '@hourly'
`;

const result = (run: string, startedAt: string, outcome: RunResult['outcome'] = 'succeeded'): RunResult => ({
  spec: 'db',
  run,
  kind: 'backup',
  outcome,
  startedAt,
  finishedAt: new Date(Date.parse(startedAt) + 3000).toISOString(),
  durationMs: 3000,
  fileGroups: [{ path: '/source/data', outcome, snapshotId: 'ab'.repeat(32), dataAdded: 1024 }],
});

describe('the operator commands on a deployed stack', () => {
  let moto: MotoServer;
  let s3: S3Client;
  let logs: CloudWatchLogsClient;
  let secrets: SecretsManagerClient;
  const remote = (clients: { logs?: CloudWatchLogsClient; ecs?: ECSClient } = {}) =>
    new RemoteStash({ specs: `s3://${BUCKET}/specs`, clients: { s3, secrets, logs: clients.logs ?? logs, ecs: clients.ecs ?? new ECSClient({ region: 'eu-west-1' }) }, clock: { now: () => new Date(NOW) } });

  beforeAll(async () => {
    moto = await startMoto();
    s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
    logs = new CloudWatchLogsClient(moto.clientConfig);
    secrets = new SecretsManagerClient(moto.clientConfig);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    for (const name of ['db', 'web']) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `specs/${name}.yaml`, Body: spec(name) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'state/launcher.json', Body: JSON.stringify(launcher) }));
    await secrets.send(new CreateSecretCommand({ Name: 'stash/s3-secret', SecretString: JSON.stringify({ RESTIC_PASSWORD: 'p', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' }) }));
    const event = (at: string, value: Record<string, unknown>) => ({ timestamp: Date.parse(at), message: JSON.stringify({ timestamp: at, ...value }) });
    for (const [group, stream, events] of [
      [
        RUNNER_GROUP,
        'runner/runner/0123456789abcdef',
        [
          event(T(5000), { level: 'INFO', message: 'backup started', spec: 'db', run: 'db-20260101T020000' }),
          event(T(6000), { level: 'INFO', message: 'backup started', spec: 'web', run: 'web-20260101T020000' }),
          event(T(180_000), { level: 'INFO', message: 'run finished', spec: 'db', run: 'db-20260101T020000', outcome: 'succeeded' }),
          event(T(240_000), { level: 'ERROR', message: 'run finished', spec: 'db', run: 'db-20260101T020000-check', outcome: 'failed' }),
        ],
      ],
      [
        DISPATCH_GROUP,
        '2026/01/01/[$LATEST]abc',
        [
          { timestamp: BASE + 500, message: 'START RequestId: 1 Version: $LATEST' },
          event(T(1000), { level: 'INFO', message: 'launched', service: 'dispatch', spec: 'db', run: 'db-20260101T020000' }),
          event(T(1500), { level: 'INFO', message: 'launched', service: 'dispatch', spec: 'web', run: 'web-20260101T020000' }),
        ],
      ],
      ['OtherStack-FunctionsDispatchLogGroup-x', 's', [event(T(2000), { level: 'INFO', message: 'not ours', spec: 'db' })]],
    ] as const) {
      await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
      await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
      await logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: stream, logEvents: [...events] }));
    }
  });
  afterAll(() => moto?.stop());

  const collect = async (stash: RemoteStash, name: string, run?: string) => {
    const records: LogRecord[] = [];
    await stash.logs(name, { run, since: new Date(BASE - 60_000) }, (r) => records.push(r));
    return records;
  };

  it("prints the runner's and the dispatch function's records of a spec, merged by time", async () => {
    const records = await collect(remote(), 'db');
    expect(records.map((r) => [r.timestamp, r.message, r.run, r.source])).toEqual([
      [T(1000), 'launched', 'db-20260101T020000', DISPATCH_GROUP],
      [T(5000), 'backup started', 'db-20260101T020000', undefined],
      [T(180_000), 'run finished', 'db-20260101T020000', undefined],
      [T(240_000), 'run finished', 'db-20260101T020000-check', undefined],
    ]);
    expect((await collect(remote(), 'db', 'db-20260101T020000-check')).map((r) => r.message)).toEqual(['run finished']);
  });

  it('asks CloudWatch for exactly the spec (and run) with a filter on the JSON keys', async () => {
    const client = new CloudWatchLogsClient({ region: 'eu-west-1' });
    const mock = mockClient(client);
    mock.on(DescribeLogGroupsCommand).resolves({ logGroups: [{ logGroupName: DISPATCH_GROUP }] });
    mock.on(FilterLogEventsCommand).resolves({ events: [] });
    await collect(remote({ logs: client }), 'db', 'db-20260101T020000');
    expect(mock.commandCalls(DescribeLogGroupsCommand).map((c) => c.args[0].input)).toEqual([{ logGroupNamePrefix: 'StashStack-Functions', nextToken: undefined }]);
    const filter = '{ ($.spec = "db") && (($.run = "db-20260101T020000") || ($.run = "db-20260101T020000-check")) }';
    expect(mock.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input)).toEqual([
      { logGroupName: RUNNER_GROUP, filterPattern: filter, startTime: BASE - 60_000, nextToken: undefined },
      { logGroupName: DISPATCH_GROUP, filterPattern: filter, startTime: BASE - 60_000, nextToken: undefined },
    ]);
  });

  it('lists the runs in runs/, newest first, at most the limit', async () => {
    const runs = new S3RunStore({ client: s3, bucket: BUCKET, prefix: 'runs/' });
    await runs.put(result('db-20260101T010000', '2026-01-01T01:00:00.000Z'));
    await runs.put(result('db-20260101T020000', '2026-01-01T02:00:00.000Z', 'failed'));
    await runs.put(result('db-check-20260101T000000', '2026-01-01T00:00:00.000Z'));
    expect((await remote().history('db')).map((r) => r.run)).toEqual(['db-20260101T020000', 'db-20260101T010000', 'db-check-20260101T000000']);
    expect(await remote().history('db', 1)).toHaveLength(1);
    await expect(remote().history('bd')).rejects.toThrow(`s3://${BUCKET}/specs/: no valid spec named "bd"; did you mean "db"?`);
  });

  it('follows a launched task until it stops and returns the result it wrote (backup --remote --wait)', async () => {
    const ecs = new ECSClient({ region: 'eu-west-1' });
    const mock = mockClient(ecs);
    let launched: RunTaskCommandInput | undefined;
    const runOf = () => launched!.overrides!.containerOverrides![0].environment!.find((e) => e.name === 'STASH_RUN_ID')!.value!;
    mock.on(ListTasksCommand).resolves({ taskArns: [] });
    mock.on(RunTaskCommand).callsFake((input: RunTaskCommandInput) => {
      launched = input;
      return { tasks: [{ taskArn: TASK, lastStatus: 'PROVISIONING' }], failures: [] };
    });
    const stopped = () => ({
      taskArn: TASK,
      lastStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      startedAt: new Date('2026-01-01T02:30:10Z'),
      stoppedAt: new Date('2026-01-01T02:31:00Z'),
      containers: [{ name: 'runner', exitCode: 0, lastStatus: 'STOPPED' }],
      overrides: launched!.overrides,
    });
    mock
      .on(DescribeTasksCommand)
      .resolvesOnce({ tasks: [{ taskArn: TASK, lastStatus: 'PENDING' }] })
      .resolvesOnce({ tasks: [{ taskArn: TASK, lastStatus: 'RUNNING' }] })
      .callsFake(async () => {
        // The task writes its result before it exits.
        await new S3RunStore({ client: s3, bucket: BUCKET, prefix: 'runs/' }).put(result(runOf(), '2026-01-01T02:30:10.000Z'));
        return { tasks: [stopped()] };
      });

    const stash = remote({ ecs });
    const started = await stash.backupNow('db');
    expect(started).toEqual({ run: runOf(), taskArn: TASK });
    const seen: string[] = [];
    const followed = await stash.follow('db', started, { pollMs: 1, onStatus: (s) => seen.push(s) });
    expect(seen).toEqual(['PENDING', 'RUNNING', 'STOPPED']);
    expect(followed.result).toEqual(result(started.run, '2026-01-01T02:30:10.000Z'));
    expect(mock.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input)).toEqual(Array(3).fill({ cluster: CLUSTER, tasks: [TASK] }));
  });

  it('tells the outcome from the stopped task when it wrote no result (it ran out of memory)', async () => {
    const ecs = new ECSClient({ region: 'eu-west-1' });
    const mock = mockClient(ecs);
    mock.on(ListTasksCommand).resolves({ taskArns: [] });
    mock.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK }], failures: [] });
    mock.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: TASK,
          lastStatus: 'STOPPED',
          stopCode: 'EssentialContainerExited',
          startedAt: new Date('2026-01-01T02:30:10Z'),
          stoppedAt: new Date('2026-01-01T02:30:40Z'),
          containers: [{ name: 'runner', exitCode: 137, reason: 'OutOfMemoryError: Container killed due to memory usage' }],
        },
      ],
    });
    const stash = remote({ ecs });
    const started = await stash.backupNow('web');
    const followed = await stash.follow('web', started, { pollMs: 1, recordWaitMs: 0 });
    expect(followed.result).toMatchObject({
      spec: 'web',
      run: started.run,
      outcome: 'failed',
      startedAt: '2026-01-01T02:30:10.000Z',
      durationMs: 30_000,
      error: 'out of memory: raise spec.resources.limits.memory: OutOfMemoryError: Container killed due to memory usage',
    });
  });
});

describe('the built command without AWS configuration', () => {
  const BIN = join(__dirname, '../../bin/stash.mjs');
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [BIN, 'status', '--specs', 's3://stash-config/specs'], {
      encoding: 'utf8',
      // No profile files, no instance metadata: nothing to find credentials or a region in.
      env: { PATH: process.env.PATH, HOME: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/nonexistent/config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', ...env },
    });

  it('says how to set a region', () => {
    const r = run({});
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'stash: no AWS region is set: the commands that reach a deployed stack need the region it was deployed to.\nSet it with `export AWS_REGION=eu-west-1` (or AWS_DEFAULT_REGION), or for your profile with `aws configure set region eu-west-1`.\n',
    );
  });

  it('says how to give credentials', () => {
    const r = run({ AWS_REGION: 'eu-west-1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^stash: no AWS credentials were found for the commands that reach a deployed stack\.\nUse a profile \(`export AWS_PROFILE=NAME`/);
  });
});
