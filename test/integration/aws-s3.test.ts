/**
 * The S3 and Secrets Manager adapters and the three Lambda handlers against moto_server, which
 * answers S3's conditional writes (`If-Match`, `If-None-Match: *`) with 412 and Secrets
 * Manager's reads as AWS does; ECS through aws-sdk-client-mock (moto cannot run a Fargate
 * task), asserting the exact request. The clients go through a small recording proxy on
 * 127.0.0.1 that forwards every request to moto unchanged: it counts requests, and injects the
 * faults moto cannot be told to make (503 SlowDown, 500 InternalError) on chosen requests.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ECSServiceException,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type RunTaskCommandInput,
} from '@aws-sdk/client-ecs';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startS3, type S3Server } from '../servers/s3';
import { startMoto, type MotoServer } from '../servers/moto';
import { RecordingProxy } from '../support/aws-calls';
import { dispatchTick } from '../../core/dispatch';
import { MAX_DOCUMENT_BYTES, parseSpecDocument, SpecCache } from '../../core/spec';
import { S3SpecStore, SpecStoreError } from '../../aws/s3-spec-store';
import { S3RecoveryStatusStore, S3StatusStore } from '../../aws/s3-status-store';
import { S3Watermark } from '../../aws/s3-watermark';
import type { Timer } from '../../aws/pacing';
import { composeDispatch, composeRecord, composeValidate } from '../../lambda/compose';
import { createDispatchHandler } from '../../lambda/dispatch';
import { DispatchEnvSchema, readEnv, RecordEnvSchema, ValidateEnvSchema } from '../../lambda/env';
import { createRecordHandler } from '../../lambda/record';
import { createValidateHandler } from '../../lambda/validate';
import { parseVolumeFlag, RemoteStash } from '../../cli/remote';
import { runBackup, type RunLog } from '../../runner/run';
import { ResticSchema } from '../../schemas/restic';

const BUCKET = 'stash-config';
const SECRET_VALUE = 'correct-horse-battery-staple';
const CLUSTER_ARN = 'arn:aws:ecs:eu-west-1:111122223333:cluster/stash';
const TASK_DEFINITION_ARN = 'arn:aws:ecs:eu-west-1:111122223333:task-definition/stash-runner:7';

// ---- fixtures ------------------------------------------------------------------------------------

const specYaml = (name: string, schedule = '0 * * * *', extra = '') => `apiVersion: stash.appscode.com/v1alpha1
kind: Restic
metadata:
  name: ${name}
spec:
  fileGroups:
  - path: /source/data
  backend:
    s3:
      endpoint: s3.amazonaws.com
      bucket: stash-qa
      prefix: ${name}
    storageSecretName: s3-secret
  schedule: '${schedule}'
  check:
    paused: true
${extra}`;

const event = (name: string) => JSON.parse(readFileSync(join(__dirname, '../fixtures/events', name), 'utf8'));

/** Virtual time for the launcher's pacing and backoff: nothing here waits on the wall clock. */
const virtualTimer = (): Timer => {
  let t = 0;
  return { now: () => t, sleep: async (ms) => void (t += ms) };
};

let moto: MotoServer;
let proxy: RecordingProxy;
let client: S3Client;
let direct: S3Client;
/** The ARN moto gave `stash/s3-secret`. */
let SECRET_ARN: string;
const secretsClient = () => new SecretsManagerClient(moto.clientConfig);
let testNo = 0;
let prefix: string;

const put = (key: string, body: string) => direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const getText = async (key: string) => (await direct.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString();
const getJson = async (key: string) => JSON.parse(await getText(key));

/** Every object under the test's prefix, as text: for checking that no secret value was stored. */
async function everything(): Promise<string> {
  const listed = await direct.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  const texts = await Promise.all((listed.Contents ?? []).map((o) => getText(o.Key!)));
  return texts.join('\n');
}

beforeAll(async () => {
  moto = await startMoto();
  proxy = await RecordingProxy.start(moto.endpoint);
  const config: S3ClientConfig = { ...moto.clientConfig, endpoint: proxy.endpoint, forcePathStyle: true, maxAttempts: 3 };
  client = new S3Client(config);
  direct = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
  await direct.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
  const created = await secretsClient().send(
    new CreateSecretCommand({
      Name: 'stash/s3-secret',
      SecretString: JSON.stringify({ RESTIC_PASSWORD: SECRET_VALUE, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: `${SECRET_VALUE}-aws` }),
    }),
  );
  SECRET_ARN = created.ARN!;
});

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

beforeEach(() => {
  prefix = `t${++testNo}`;
  proxy.requests.length = 0;
  proxy.faults.length = 0;
});

// ---- adapters -------------------------------------------------------------------------------------

describe('moto_server', () => {
  it('refuses If-None-Match on an object that exists and If-Match on another ETag, as S3 does', async () => {
    const key = `${prefix}/x.json`;
    await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '1', IfNoneMatch: '*' }));
    await expect(direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '2', IfNoneMatch: '*' }))).rejects.toMatchObject({ name: 'PreconditionFailed' });
    await expect(direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '3', IfMatch: '"not-the-etag"' }))).rejects.toMatchObject({ name: 'PreconditionFailed' });
    expect(await getText(key)).toBe('1');
  });
});

describe('S3SpecStore', () => {
  it('lists a page per 1,000 keys and fetches only the objects whose ETag changed', async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `${prefix}/specs/s${String(i).padStart(2, '0')}.yaml`);
    await Promise.all(keys.map((k) => put(k, `# ${k}\n`)));
    await put(`${prefix}/specs/README.md`, 'not a spec');
    // Pages of 10 here to see the paging; the default asks S3 for its maximum, 1,000.
    expect(await new S3SpecStore({ client, bucket: BUCKET, prefix: `${prefix}/specs/` }).documents()).toHaveLength(25);
    expect(proxy.requests.filter((r) => r.includes('list-type=2')).every((r) => r.includes('max-keys=1000'))).toBe(true);
    const store = new S3SpecStore({ client, bucket: BUCKET, prefix: `${prefix}/specs/`, pageSize: 10 });

    proxy.requests.length = 0;
    const first = await store.documents();
    expect(first).toHaveLength(25);
    expect(first[0]).toMatchObject({ source: `s3://${BUCKET}/${keys[0]}`, key: keys[0], text: `# ${keys[0]}\n` });
    expect(first[0].version).toBe(first[0].etag); // an unversioned bucket: the ETag stands in
    expect(first[0].modifiedAt).toBeInstanceOf(Date);
    expect([proxy.count('GET', /list-type=2/), proxy.count('GET', /\.yaml/)]).toEqual([3, 25]);

    proxy.requests.length = 0;
    await store.documents();
    expect([proxy.count('GET', /list-type=2/), proxy.count('GET', /\.yaml/)]).toEqual([3, 0]);

    await put(keys[5], 'changed: true\n');
    await direct.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: keys[6] }));
    proxy.requests.length = 0;
    const third = await store.documents();
    expect([proxy.count('GET', /list-type=2/), proxy.count('GET', /\.yaml/)]).toEqual([3, 1]);
    expect(third).toHaveLength(24);
    expect(third.find((d) => d.key === keys[5])?.text).toBe('changed: true\n');
    expect(store.cached).toBe(24);
  });

  it('reads no more of an object than validation needs to refuse it', async () => {
    const key = `${prefix}/specs/huge.yaml`;
    await put(key, `# ${'x'.repeat(MAX_DOCUMENT_BYTES + 100)}\n`);
    const doc = await new S3SpecStore({ client, bucket: BUCKET, prefix: `${prefix}/specs/` }).read(key);
    expect(doc?.text).toHaveLength(MAX_DOCUMENT_BYTES + 1);
    expect(parseSpecDocument(doc!).problems).toEqual([{ source: `s3://${BUCKET}/${key}`, path: '', message: `file is larger than ${MAX_DOCUMENT_BYTES} bytes; a spec is a few hundred` }]);
  });

  it('rides out a SlowDown during listing', async () => {
    await put(`${prefix}/specs/a.yaml`, specYaml('a'));
    proxy.fail('GET', /list-type=2/, 503, 'SlowDown', 1);
    const docs = await new S3SpecStore({ client, bucket: BUCKET, prefix: `${prefix}/specs/` }).documents();
    expect(docs.map((d) => d.key)).toEqual([`${prefix}/specs/a.yaml`]);
    expect(proxy.count('GET', /list-type=2/)).toBe(2);
  });

  it('fails with the location when listing keeps failing, and the tick leaves the watermark alone', async () => {
    await put(`${prefix}/specs/a.yaml`, specYaml('a'));
    proxy.fail('GET', /list-type=2/, 500, 'InternalError', 100);
    const specs = new S3SpecStore({ client, bucket: BUCKET, prefix: `${prefix}/specs/` });
    const err = await specs.documents().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecStoreError);
    expect((err as Error).message).toBe(`failed to list s3://${BUCKET}/${prefix}/specs/: injected InternalError`);
    expect(proxy.count('GET', /list-type=2/)).toBe(3);

    const watermark = new S3Watermark({ client, bucket: BUCKET, prefix: `${prefix}/state/` });
    const never = () => Promise.reject(new Error('not reached'));
    const deps = {
      specs,
      cache: new SpecCache(),
      watermark,
      launcher: { running: never, launch: never, stop: never },
      secrets: { get: never },
      statuses: new S3StatusStore({ client, bucket: BUCKET, prefix: `${prefix}/status/` }),
      clock: { now: () => new Date() },
    };
    await expect(dispatchTick(deps, new Date('2026-01-01T02:00:30Z'))).rejects.toThrow(`failed to list the specs: failed to list s3://${BUCKET}/${prefix}/specs/: injected InternalError`);
    expect(await watermark.read()).toEqual({});
  });
});

describe('S3StatusStore', () => {
  it('reads, updates and lists statuses, fetching only those that changed', async () => {
    const store = new S3StatusStore({ client, bucket: BUCKET, prefix: `${prefix}/status` });
    expect(await store.get('a')).toBeUndefined();
    expect(await store.update('a', (s) => ({ ...s, lastError: 'boom' }))).toEqual({ name: 'a', backupCount: 0, lastError: 'boom' });
    await store.update('b', (s) => s);
    expect(await getJson(`${prefix}/status/a.json`)).toEqual({ name: 'a', backupCount: 0, lastError: 'boom' });
    await put(`${prefix}/status/recoveries/r.json`, '{}'); // a sub-folder is not a spec status
    expect((await store.list()).map((s) => s.name)).toEqual(['a', 'b']);
    proxy.requests.length = 0;
    await store.update('b', (s) => ({ ...s, backupCount: 3 }));
    proxy.requests.length = 0;
    expect((await store.list()).map((s) => [s.name, s.backupCount])).toEqual([['a', 0], ['b', 3]]);
    expect(proxy.count('GET', /\/status\/[ab]\.json/)).toBe(1);
  });

  it('keeps every one of concurrent updates (If-Match retries)', async () => {
    const store = new S3StatusStore({ client, bucket: BUCKET, prefix: `${prefix}/status/` });
    await Promise.all(Array.from({ length: 6 }, () => store.update('c', (s) => ({ ...s, backupCount: s.backupCount + 1 }))));
    expect((await store.get('c'))?.backupCount).toBe(6);
    expect(proxy.count('PUT', /c\.json/)).toBeGreaterThan(6); // some writes lost the race and were retried
  });

  it('skips a corrupt status in a listing and says which', async () => {
    const store = new S3StatusStore({ client, bucket: BUCKET, prefix: `${prefix}/status/` });
    await store.update('good', (s) => s);
    await put(`${prefix}/status/bad.json`, '{"name": 5}');
    expect((await store.list()).map((s) => s.name)).toEqual(['good']);
    expect(store.objects.unreadable).toEqual([`s3://${BUCKET}/${prefix}/status/bad.json: name: Invalid input: expected string, received number`]);
  });
});

describe('S3Watermark', () => {
  it('is created once and then only replaced by who read the current version', async () => {
    const a = new S3Watermark({ client, bucket: BUCKET, prefix: `${prefix}/state/` });
    expect(await a.read()).toEqual({});
    const t1 = await a.write({ tick: '2026-01-01T02:00:00.000Z', pending: [] }, undefined);
    expect(t1).toMatch(/^"[0-9a-f]{32}"$/);
    expect(await a.write({ tick: '2026-01-01T02:00:01.000Z', pending: [] }, undefined)).toBeUndefined();
    const t2 = await a.write({ tick: '2026-01-01T02:01:00.000Z', pending: [] }, t1);
    expect(t2).toBeDefined();
    expect(await a.write({ tick: '2026-01-01T02:01:02.000Z', pending: [] }, t1)).toBeUndefined();
    expect(await a.read()).toEqual({ state: { tick: '2026-01-01T02:01:00.000Z', pending: [] }, token: t2 });
    expect(a.key).toBe(`${prefix}/state/watermark.json`);
  });
});

// ---- handlers ------------------------------------------------------------------------------------

describe('handlers', () => {
  const ecs = mockClient(ECSClient);
  let out: string[];
  let now: Date;
  const clock = { now: () => now };

  const common = () => ({ CONFIG_BUCKET: BUCKET, SPEC_PREFIX: `${prefix}/specs/`, STATUS_PREFIX: `${prefix}/status/`, STATE_PREFIX: `${prefix}/state/` });
  const dispatchRuntime = (release?: string) =>
    composeDispatch(
      readEnv(DispatchEnvSchema, {
        ...common(),
        CLUSTER_ARN,
        TASK_DEFINITION_ARN,
        TASK_FAMILY: 'stash-runner',
        TASK_ROLE_ARN: 'arn:aws:iam::111122223333:role/stash-task',
        EXECUTION_ROLE_ARN: 'arn:aws:iam::111122223333:role/stash-execution',
        RUNNER_LOG_GROUP: '/stash/runner',
        SUBNET_IDS: 'subnet-0a1b2c3d4e5f60718, subnet-0b1c2d3e4f5a60719',
        SECURITY_GROUP_IDS: 'sg-0123456789abcdef0',
        EFS_RESTORE_TARGETS: 'fs-0123abcd',
      }),
      { s3: client, ecs: new ECSClient({ region: 'eu-west-1' }), secrets: secretsClient() },
      { clock, launcher: { timer: virtualTimer(), random: () => 0.5 }, ...(release ? { release } : {}) },
    );
  const recordHandler = () => createRecordHandler(composeRecord(readEnv(RecordEnvSchema, { ...common(), CLUSTER_ARN }), { s3: client }, { clock }));
  const validateHandler = () => createValidateHandler(composeValidate(readEnv(ValidateEnvSchema, common()), { s3: client }, { clock }));
  const runTasks = (): RunTaskCommandInput[] => ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input);
  const envOf = (input: RunTaskCommandInput) => Object.fromEntries((input.overrides?.containerOverrides?.[0].environment ?? []).map((e) => [e.name, e.value]));
  const lines = () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const emf = () => lines().filter((l) => l._aws);
  const taskFor = (input: RunTaskCommandInput) => `arn:aws:ecs:eu-west-1:111122223333:task/stash/${envOf(input).STASH_RUN_ID}`;

  beforeEach(() => {
    ecs.reset();
    out = [];
    now = new Date('2026-01-01T02:00:30Z');
    // Powertools writes INFO and EMF to stdout, WARN and ERROR to stderr: keep both, in order.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out.push(String(chunk));
        return true;
      });
    }
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
    ecs.on(RunTaskCommand).callsFake((input: RunTaskCommandInput) => ({ tasks: [{ taskArn: taskFor(input) }], failures: [] }));
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('dispatch: launches what fell due from the saved scheduled event, with references only', async () => {
    await put(`${prefix}/specs/hourly.yaml`, specYaml('hourly'));
    await put(`${prefix}/specs/broken.yaml`, specYaml('broken').replace('bucket: stash-qa', 'bucket: Stash_QA'));
    const handler = createDispatchHandler(dispatchRuntime());
    const result = await handler(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 });
    expect(result).toEqual({ lostRace: false, specs: 1, invalid: 1, launched: 1, skipped: 0, missed: 0, failed: 0, deferred: 0, overdue: [] });

    expect(runTasks()).toHaveLength(1);
    expect(runTasks()[0]).toMatchObject({ cluster: CLUSTER_ARN, taskDefinition: TASK_DEFINITION_ARN, launchType: 'FARGATE', startedBy: 'stash', group: 'stash:hourly' });
    expect(envOf(runTasks()[0])).toEqual({
      STASH_SPEC_NAME: 'hourly',
      STASH_SPEC_KEY: `${prefix}/specs/hourly.yaml`,
      STASH_SECRET_ID: SECRET_ARN,
      STASH_RUN_ID: 'hourly-20260101T020000',
      STASH_SLOT: '2026-01-01T02:00:00.000Z',
      STASH_RUN_KIND: 'backup',
      // Nothing has backed up to hourly's repository yet: its first backup may create it.
      STASH_MAY_INITIALISE: 'true',
    });
    expect(await getJson(`${prefix}/status/hourly.json`)).toMatchObject({
      running: { run: 'hourly-20260101T020000', slot: '2026-01-01T02:00:00.000Z', taskArn: 'arn:aws:ecs:eu-west-1:111122223333:task/stash/hourly-20260101T020000' },
    });
    expect(await getJson(`${prefix}/state/watermark.json`)).toEqual({ tick: '2026-01-01T02:00:30.000Z', pending: [] });
    expect(await getJson(`${prefix}/state/launcher.json`)).toMatchObject({ clusterArn: CLUSTER_ARN, subnets: ['subnet-0a1b2c3d4e5f60718', 'subnet-0b1c2d3e4f5a60719'], specPrefix: `${prefix}/specs/` });

    const launched = lines().find((l) => l.message === 'backup launched');
    expect(launched).toMatchObject({ level: 'INFO', service: 'stash', spec: 'hourly', run: 'hourly-20260101T020000', slot: '2026-01-01T02:00:00.000Z' });
    expect(lines().find((l) => l.message === 'invalid spec skipped')?.problem).toMatch(new RegExp(`^s3://${BUCKET}/${prefix}/specs/broken.yaml: spec.backend.s3.bucket: `));
    const metrics = emf()[0];
    expect(metrics).toMatchObject({ service: 'stash', Ticks: 1, LaunchesFailed: 0, SpecsInvalid: 1, LaunchesThrottled: 0, OverdueSpecs: 0 });
    expect((metrics._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] }).CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Stash', Dimensions: [['service']] });

    const everywhere = [out.join(''), JSON.stringify(runTasks()), await everything()].join('\n');
    expect(everywhere).toContain(SECRET_ARN);
    expect(everywhere).not.toContain(SECRET_VALUE);
  });

  it('dispatch: a tick retried after a partial launch starts no second task', async () => {
    await put(`${prefix}/specs/a.yaml`, specYaml('a'));
    await put(`${prefix}/specs/b.yaml`, specYaml('b'));
    const started = new Map<string, string>(); // clientToken -> task: what ECS's idempotency keeps
    let cutOff = false;
    ecs.on(RunTaskCommand).callsFake((input: RunTaskCommandInput) => {
      if (envOf(input).STASH_SPEC_NAME === 'b' && !cutOff) {
        cutOff = true;
        return new Promise(() => undefined); // the Lambda is cut off while this call is in flight
      }
      const task = started.get(input.clientToken!) ?? taskFor(input);
      started.set(input.clientToken!, task);
      return { tasks: [{ taskArn: task }] };
    });
    void createDispatchHandler(dispatchRuntime())(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 });
    await expect.poll(() => runTasks().length).toBe(2);
    expect(started.size).toBe(1);

    // EventBridge retries (or the next tick comes) after the dead tick's lease: a fresh container.
    ecs.on(ListTasksCommand).resolves({ taskArns: [...started.values()] });
    ecs.on(DescribeTasksCommand).callsFake(() => ({
      tasks: [...started.values()].map((taskArn) => ({
        taskArn,
        group: 'stash:a',
        lastStatus: 'RUNNING',
        overrides: { containerOverrides: [{ name: 'runner', environment: [{ name: 'STASH_SPEC_NAME', value: 'a' }, { name: 'STASH_RUN_ID', value: 'a-20260101T020000' }] }] },
      })),
    }));
    now = new Date('2026-01-01T02:06:30Z');
    const retried = await createDispatchHandler(dispatchRuntime())(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 });
    expect(retried).toMatchObject({ launched: 1, failed: 0 });
    const calls = runTasks().map((i) => `${envOf(i).STASH_RUN_ID}:${i.clientToken}`);
    expect(calls.filter((c) => c.startsWith('a-'))).toHaveLength(1);
    expect(new Set(calls.filter((c) => c.startsWith('b-20260101T020000'))).size).toBe(1); // the retry reused b's clientToken
    expect(started.size).toBe(2);
    expect((await getJson(`${prefix}/state/watermark.json`)).pending).toEqual([]);
  });

  it('dispatch: of two overlapping ticks, one launches', async () => {
    await put(`${prefix}/specs/a.yaml`, specYaml('a'));
    // Both ticks read the watermark before either writes it: the overlap, made certain.
    let arrived = 0;
    let release!: () => void;
    const bothRead = new Promise<void>((resolve) => (release = resolve));
    const overlapping = () => {
      const rt = dispatchRuntime();
      const { watermark } = rt.deps;
      const gated = {
        read: async () => {
          const read = await watermark.read();
          if (++arrived === 2) release();
          await bothRead;
          return read;
        },
        write: watermark.write.bind(watermark),
      };
      return createDispatchHandler({ ...rt, deps: { ...rt.deps, watermark: gated } });
    };
    const [x, y] = await Promise.all([overlapping()(event('scheduled-event.json')), overlapping()(event('scheduled-event.json'))]);
    expect([x.lostRace, y.lostRace].sort()).toEqual([false, true]);
    expect(runTasks()).toHaveLength(1);
  });

  it('dispatch: records a missing secret and throttling, and keeps going', async () => {
    await put(`${prefix}/specs/a.yaml`, specYaml('a'));
    await put(`${prefix}/specs/lost.yaml`, specYaml('lost').replace('storageSecretName: s3-secret', 'storageSecretName: gone'));
    const throttle = new ECSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });
    ecs.on(RunTaskCommand).rejectsOnce(throttle).callsFake((input: RunTaskCommandInput) => ({ tasks: [{ taskArn: taskFor(input) }] }));
    const result = await createDispatchHandler(dispatchRuntime())(event('scheduled-event.json'));
    expect(result).toMatchObject({ launched: 1, failed: 1 });
    expect(emf()[0]).toMatchObject({ Ticks: 1, LaunchesThrottled: 1, LaunchesFailed: 1 });
    expect(await getJson(`${prefix}/status/lost.json`)).toMatchObject({ lastError: '2026-01-01T02:00:00.000Z: launch failed: secret "gone" does not exist' });
    // The alarm says a launch failed; the log line says which spec and why.
    expect(lines().find((l) => l.level === 'ERROR')).toMatchObject({
      message: 'lost: backup launch failed: secret "gone" does not exist',
      spec: 'lost',
      run: 'lost-20260101T020000',
      slot: '2026-01-01T02:00:00.000Z',
      reason: 'launch failed: secret "gone" does not exist',
    });
  });

  describe('compiled specs (state/compiled-specs.json)', () => {
    const specGets = () => proxy.requests.filter((r) => r.startsWith('GET ') && r.includes(`/${prefix}/specs/`) && !r.includes('list-type'));
    const compiledPuts = () => proxy.requests.filter((r) => r.startsWith('PUT ') && r.includes('compiled-specs.json'));
    const compiledKey = () => `${prefix}/state/compiled-specs.json`;

    it('dispatch: a cold container reads them instead of every spec document, and reads and parses only what changed', async () => {
      for (const name of ['a', 'b', 'c']) await put(`${prefix}/specs/${name}.yaml`, specYaml(name));
      await put(`${prefix}/specs/not-yaml.yaml`, 'spec: [unclosed');
      const first = createDispatchHandler(dispatchRuntime());
      expect(await first(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 })).toMatchObject({ specs: 3, invalid: 1, launched: 3 });

      const compiled = await getJson(compiledKey());
      expect(compiled).toMatchObject({ format: 2, release: expect.stringMatching(/^[0-9a-f]{32}$/) });
      // The YAML's values under each key and ETag, with the verdict; the document the parser refused is not there.
      expect(compiled.documents.map((d: { key: string }) => d.key)).toEqual(['a', 'b', 'c'].map((n) => `${prefix}/specs/${n}.yaml`));
      expect(compiled.documents[0]).toMatchObject({
        etag: expect.stringMatching(/^"[0-9a-f]{32}"$/),
        values: [{ source: `s3://${BUCKET}/${prefix}/specs/a.yaml`, value: { kind: 'Restic', metadata: { name: 'a' } } }],
        verdict: { specs: [{ index: 0, warnings: [] }], problems: [], warnings: [] },
      });

      await put(`${prefix}/specs/b.yaml`, specYaml('b', '0 */2 * * *'));
      now = new Date('2026-01-01T04:00:30Z');
      proxy.requests.length = 0;
      const cold = createDispatchHandler(dispatchRuntime());
      expect(await cold(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 })).toMatchObject({ specs: 3, invalid: 1, launched: 3 });
      // Only the changed document and the one that was never compiled are read.
      expect(specGets().map((r) => r.split('?')[0])).toEqual(expect.arrayContaining([`GET /${BUCKET}/${prefix}/specs/b.yaml`, `GET /${BUCKET}/${prefix}/specs/not-yaml.yaml`]));
      expect(specGets()).toHaveLength(2);
      expect(lines().find((l) => l.message === 'invalid spec skipped')?.problem).toMatch(/not-yaml\.yaml: not YAML: /);
      const rewritten = await getJson(compiledKey());
      expect(rewritten.documents[1].values[0].value.spec.schedule).toBe('0 */2 * * *');
      expect(compiledPuts()).toHaveLength(1);

      // Nothing changed: nothing is read and nothing written.
      now = new Date('2026-01-01T05:00:30Z');
      proxy.requests.length = 0;
      await cold(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 });
      expect(specGets()).toEqual([]);
      expect(compiledPuts()).toEqual([]);
    });

    it('dispatch: the same release uses their verdicts; another validates every value again; an unreadable object only costs a full read', async () => {
      await put(`${prefix}/specs/a.yaml`, specYaml('a'));
      await put(`${prefix}/specs/b.yaml`, specYaml('b'));
      await createDispatchHandler(dispatchRuntime())(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 });

      now = new Date('2026-01-01T03:00:30Z');
      const validations = vi.spyOn(ResticSchema, 'safeParse');
      expect(await createDispatchHandler(dispatchRuntime())(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 })).toMatchObject({ specs: 2, launched: 2 });
      expect(validations).not.toHaveBeenCalled();

      const compiled = await getJson(compiledKey());
      compiled.documents[0].values[0].value.spec.backend.s3.bucket = 'Not_A_Bucket';
      await put(compiledKey(), JSON.stringify(compiled));
      now = new Date('2026-01-01T04:00:30Z');
      ecs.resetHistory();
      proxy.requests.length = 0;
      const result = await createDispatchHandler(dispatchRuntime('a-later-release'))(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 });
      expect(validations).toHaveBeenCalledTimes(2);
      expect(specGets()).toEqual([]);
      expect(result).toMatchObject({ specs: 1, invalid: 1, launched: 1 });
      expect(runTasks().map((t) => envOf(t).STASH_SPEC_NAME)).toEqual(['b']);
      expect(lines().find((l) => l.message === 'invalid spec skipped')?.problem).toMatch(new RegExp(`a\\.yaml: spec\\.backend\\.s3\\.bucket: `));
      // The later release writes its own verdicts.
      expect((await getJson(compiledKey())).release).toBe('a-later-release');

      for (const body of ['{"format": 2, "release": "x", "documents": [{"key": 7}]}', 'not json']) {
        await put(compiledKey(), body);
        now = new Date(now.getTime() + 3_600_000);
        ecs.resetHistory();
        out.length = 0;
        proxy.requests.length = 0;
        expect(await createDispatchHandler(dispatchRuntime())(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 })).toMatchObject({ specs: 2, invalid: 0, launched: 2 });
        // Both read again: the tampered one too, since only a document's own ETag decides.
        expect(specGets()).toHaveLength(2);
        expect(lines().find((l) => String(l.message).startsWith('could not read the compiled specs'))).toMatchObject({ level: 'WARN', error: expect.stringContaining(`s3://${BUCKET}/${compiledKey()} is not compiled specs: `) });
        // Replaced by a good one at the end of the tick.
        expect((await getJson(compiledKey())).documents).toHaveLength(2);
      }

      // Another release's layout is ignored without a warning, and replaced.
      await put(compiledKey(), JSON.stringify({ format: 1, documents: 'of an older layout' }));
      now = new Date(now.getTime() + 3_600_000);
      out.length = 0;
      proxy.requests.length = 0;
      await createDispatchHandler(dispatchRuntime())(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 });
      expect(specGets()).toHaveLength(2);
      expect(lines().filter((l) => l.level === 'WARN')).toEqual([]);
      expect((await getJson(compiledKey())).format).toBe(2);
    });

    it('record: a cold container checks overdue specs from them without reading a spec document', async () => {
      await put(`${prefix}/specs/s3-restic.yaml`, specYaml('s3-restic'));
      await createDispatchHandler(dispatchRuntime())(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 });
      now = new Date('2026-01-01T02:04:00Z');
      proxy.requests.length = 0;
      expect(await recordHandler()(event('ecs-task-stopped-succeeded.json'))).toEqual({ recorded: true, spec: 's3-restic', run: 's3-restic-20260101T020000', outcome: 'succeeded', overdue: [] });
      expect(specGets()).toEqual([]);
      expect(compiledPuts()).toEqual([]);
    });
  });

  it('record: maps saved STOPPED events to outcomes and metrics', async () => {
    await put(`${prefix}/specs/s3-restic.yaml`, specYaml('s3-restic'));
    await put(`${prefix}/status/s3-restic.json`, JSON.stringify({ name: 's3-restic', backupCount: 0, running: { run: 's3-restic-20260101T020000', startedAt: '2026-01-01T02:00:30.000Z' } }));
    now = new Date('2026-01-01T02:04:00Z');
    const handler = recordHandler();
    expect(await handler(event('ecs-task-stopped-succeeded.json'))).toEqual({ recorded: true, spec: 's3-restic', run: 's3-restic-20260101T020000', outcome: 'succeeded', overdue: [] });
    const status = await getJson(`${prefix}/status/s3-restic.json`);
    expect(status).toMatchObject({ lastOutcome: 'succeeded', backupCount: 1, lastSuccessfulBackupTime: '2026-01-01T02:00:22.005Z', lastBackupDuration: '3m19.196s' });
    expect(status.running).toBeUndefined();
    expect(emf()[0]).toMatchObject({ service: 'stash', BackupSucceeded: 1, BackupDuration: 199.196, OverdueSpecs: 0 });

    for (const [file, outcome] of [
      ['ecs-task-stopped-oom.json', 'failed'],
      ['ecs-task-stopped-image-pull.json', 'failed'],
      ['ecs-task-stopped-spot.json', 'interrupted'],
    ]) {
      out.length = 0;
      const e = event(file);
      e.detail.overrides.containerOverrides[0].environment.find((v: { name: string }) => v.name === 'STASH_RUN_ID').value = `run-${file}`;
      expect(await handler(e)).toMatchObject({ recorded: true, outcome });
      expect(emf()[0]).toMatchObject({ BackupFailed: 1 });
    }
    expect(await getJson(`${prefix}/status/s3-restic.json`)).toMatchObject({ lastOutcome: 'interrupted', backupCount: 1, lastSuccessfulBackupTime: '2026-01-01T02:00:22.005Z' });

    // A check that finds the repository damaged: ChecksFailed, and the log line says which spec and why.
    out.length = 0;
    const check = event('ecs-task-stopped-succeeded.json');
    const env = check.detail.overrides.containerOverrides[0].environment as { name: string; value: string }[];
    env.find((v) => v.name === 'STASH_RUN_ID')!.value = 's3-restic-check-1';
    env.find((v) => v.name === 'STASH_RUN_KIND')!.value = 'check';
    check.detail.containers[0].exitCode = 1;
    expect(await handler(check)).toMatchObject({ recorded: true, outcome: 'failed' });
    expect(emf()[0]).toMatchObject({ ChecksFailed: 1 });
    expect(emf()[0].BackupFailed).toBeUndefined();
    expect(lines().find((l) => l.level === 'ERROR')).toMatchObject({
      message: 'check failed for s3-restic: the runner reported a failed run (see its log)',
      spec: 's3-restic',
      run: 's3-restic-check-1',
      reason: 'the runner reported a failed run (see its log)',
    });

    const elsewhere = event('ecs-task-stopped-succeeded.json');
    elsewhere.detail.clusterArn = 'arn:aws:ecs:eu-west-1:111122223333:cluster/other';
    expect(await handler(elsewhere)).toEqual({ recorded: false, ignored: 'task of another cluster (arn:aws:ecs:eu-west-1:111122223333:cluster/other)' });
    await expect(handler(event('s3-object-created.json'))).rejects.toThrow(/^not an ECS Task State Change event: detail-type: /);
  });

  it('validate: a broken upload says why at once; a fix and a deletion follow', async () => {
    const key = `${prefix}/specs/s3-restic.yaml`;
    const created = event('s3-object-created.json');
    created.detail.bucket.name = BUCKET;
    created.detail.object.key = key;
    const handler = validateHandler();

    await put(key, specYaml('s3-restic').replace("schedule: '0 * * * *'", "schedule: '@every 30s'").replace('fileGroups:', 'filegroups:'));
    const broken = await handler(created);
    expect(broken.specs).toEqual([
      {
        name: 's3-restic',
        valid: false,
        errors: [`s3://${BUCKET}/${key}: spec.fileGroups: Required`, `s3://${BUCKET}/${key}: spec.filegroups: unknown field`],
      },
    ]);
    expect((await getJson(`${prefix}/status/s3-restic.json`)).validation).toMatchObject({ valid: false, source: `s3://${BUCKET}/${key}`, errors: broken.specs![0].errors });
    expect(emf()[0]).toMatchObject({ SpecsInvalid: 1 });

    await put(key, specYaml('s3-restic'));
    expect((await handler(created)).specs).toEqual([{ name: 's3-restic', valid: true, errors: [] }]);

    await direct.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    const deleted = event('s3-object-deleted.json');
    deleted.detail.bucket.name = BUCKET;
    deleted.detail.object.key = key;
    expect(await handler(deleted)).toMatchObject({ deleted: true, specs: [{ name: 's3-restic', valid: false, errors: [`s3://${BUCKET}/${key}: deleted; the spec no longer runs`] }] });
    expect(await handler({ ...created, detail: { ...created.detail, object: { key: `${prefix}/other/x.yaml` } } })).toEqual({ ignored: `${prefix}/other/x.yaml is not under ${prefix}/specs/` });
  });

  it('restore: an uploaded Recovery is validated, launched by the tick and recorded', async () => {
    await put(`${prefix}/specs/db.yaml`, specYaml('db'));
    const recoveryKey = `${prefix}/specs/db-recovery.yaml`;
    await put(
      recoveryKey,
      `apiVersion: stash.appscode.com/v1alpha1
kind: Recovery
metadata:
  name: db-recovery
spec:
  restic: db
  paths: [/source/data]
  recoveredVolumes:
  - mountPath: /source/data
    efs:
      fileSystemId: fs-0123abcd
      rootDirectory: /restored
`,
    );
    const created = event('s3-object-created.json');
    created.detail.bucket.name = BUCKET;
    created.detail.object.key = recoveryKey;
    expect(await validateHandler()(created)).toMatchObject({ recoveries: [{ name: 'db-recovery', valid: true, errors: [] }] });
    const recoveries = new S3RecoveryStatusStore({ client, bucket: BUCKET, prefix: `${prefix}/status/` });
    expect(await recoveries.get('db-recovery')).toMatchObject({ phase: 'Pending', spec: 'db' });

    now = new Date('2026-01-01T02:10:30Z');
    ecs.on(RunTaskCommand).callsFake((input: RunTaskCommandInput) => ({ tasks: [{ taskArn: taskFor(input) }] }));
    const runtime = dispatchRuntime();
    const registered: string[] = [];
    vi.spyOn(runtime.launcher.taskDefinitions, 'ensure').mockImplementation(async (set) => {
      registered.push(JSON.stringify(set));
      return 'arn:aws:ecs:eu-west-1:111122223333:task-definition/stash-runner-restore:1';
    });
    await createDispatchHandler(runtime)(event('scheduled-event.json'));
    const restore = runTasks().find((i) => envOf(i).STASH_RUN_KIND === 'restore')!;
    expect(envOf(restore)).toMatchObject({ STASH_SPEC_NAME: 'db', STASH_RECOVERY_KEY: recoveryKey, STASH_RECOVERY_NAME: 'db-recovery', STASH_SECRET_ID: SECRET_ARN });
    expect(JSON.parse(registered[0]).mountPoints).toEqual([{ sourceVolume: 'recovered-0', containerPath: '/source/data', readOnly: false }]);
    expect(await recoveries.get('db-recovery')).toMatchObject({ phase: 'Running', stats: [{ path: '/source/data', phase: 'Running' }] });

    // The next tick does not launch it again.
    now = new Date('2026-01-01T02:11:30Z');
    await createDispatchHandler(runtime)(event('scheduled-event.json'));
    expect(runTasks().filter((i) => envOf(i).STASH_RUN_KIND === 'restore')).toHaveLength(1);

    const stopped = event('ecs-task-stopped-succeeded.json');
    stopped.detail.group = 'stash:db';
    stopped.detail.overrides.containerOverrides[0].environment = restore.overrides!.containerOverrides![0].environment;
    expect(await recordHandler()(stopped)).toMatchObject({ recorded: true, outcome: 'succeeded' });
    expect(await recoveries.get('db-recovery')).toMatchObject({ phase: 'Succeeded', stats: [{ path: '/source/data', phase: 'Succeeded', duration: '3m19.196s' }], errors: [] });
  });

  describe('the CLI against the stack (cli/remote.ts)', () => {
    const remote = () =>
      new RemoteStash({
        specs: `s3://${BUCKET}/${prefix}/specs`,
        secrets: 'sm://stash/',
        state: `s3://${BUCKET}/${prefix}`,
        clients: { s3: client, ecs: new ECSClient({ region: 'eu-west-1' }), secrets: secretsClient() },
        clock,
      });

    it('reads specs and statuses from S3 and launches a backup now through the launch path', async () => {
      await put(`${prefix}/specs/db.yaml`, specYaml('db'));
      await put(`${prefix}/specs/broken.yaml`, 'kind: Restic\n');
      await remote().statusStore.update('db', (st) => ({ ...st, backupCount: 4 }));
      expect((await remote().load()).specs.map((sp) => sp.spec.metadata.name)).toEqual(['db']);
      expect(await remote().status()).toEqual([{ name: 'db', status: { name: 'db', backupCount: 4 }, nextRun: '2026-01-01T03:00:00.000Z', paused: undefined }]);

      await expect(remote().backupNow('db')).rejects.toThrow(`s3://${BUCKET}/${prefix}/state/launcher.json does not exist: the stack's dispatcher writes it on its first tick`);
      const runtime = dispatchRuntime();
      await runtime.launcherConfig.ensure(runtime.launcherSettings);

      now = new Date('2026-01-01T12:00:00Z');
      const { run, taskArn } = await remote().backupNow('db');
      expect(run).toMatch(/^db-20260101T120000-[0-9a-f]{6}$/);
      expect(runTasks()).toHaveLength(1);
      expect(runTasks()[0]).toMatchObject({ cluster: CLUSTER_ARN, taskDefinition: TASK_DEFINITION_ARN, launchType: 'FARGATE', group: 'stash:db', startedBy: 'stash' });
      expect(envOf(runTasks()[0])).toMatchObject({ STASH_SPEC_NAME: 'db', STASH_RUN_ID: run, STASH_RUN_KIND: 'backup', STASH_SECRET_ID: SECRET_ARN });
      expect(envOf(runTasks()[0]).STASH_SLOT).toBeUndefined();
      expect((await remote().statusStore.get('db'))?.running).toEqual({ run, startedAt: '2026-01-01T12:00:00.000Z', taskArn });
      expect(JSON.stringify(runTasks())).not.toContain(SECRET_VALUE);
    });

    it('restores into an EFS volume now, and the tick leaves the running restore alone', async () => {
      await put(`${prefix}/specs/db.yaml`, specYaml('db'));
      const runtime = dispatchRuntime();
      await runtime.launcherConfig.ensure(runtime.launcherSettings);
      ecs.on(DescribeTaskDefinitionCommand).rejects(new ECSServiceException({ name: 'ClientException', $fault: 'client', $metadata: {}, message: 'Unable to describe task definition.' }));
      ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: TASK_DEFINITION_ARN }).resolves({
        taskDefinition: { taskDefinitionArn: TASK_DEFINITION_ARN, status: 'ACTIVE', networkMode: 'awsvpc', cpu: '256', memory: '512', containerDefinitions: [{ name: 'runner', image: 'stash-runner' }] },
      });
      ecs.on(RegisterTaskDefinitionCommand).callsFake((input) => ({ taskDefinition: { taskDefinitionArn: `arn:aws:ecs:eu-west-1:111122223333:task-definition/${input.family}:1` } }));
      now = new Date('2026-01-01T12:00:00Z');
      const started = await remote().restoreNow('db', { volumes: [parseVolumeFlag('/source/data=efs:fs-0123abcd:/restored')], name: 'db-back' });
      expect(started).toEqual({
        recovery: 'db-back',
        source: `s3://${BUCKET}/${prefix}/specs/recoveries/db-back.yaml`,
        run: expect.stringMatching(/^db-restore-[0-9a-f]{8}$/),
        taskArn: expect.any(String),
        phase: 'Running',
      });
      expect(ecs.commandCalls(RegisterTaskDefinitionCommand)[0].args[0].input.containerDefinitions?.[0].mountPoints).toEqual([
        { sourceVolume: 'recovered-0', containerPath: '/source/data', readOnly: false },
      ]);
      const restore = runTasks()[0];
      expect(envOf(restore)).toMatchObject({ STASH_RUN_KIND: 'restore', STASH_RECOVERY_KEY: `${prefix}/specs/recoveries/db-back.yaml`, STASH_RECOVERY_NAME: 'db-back', STASH_RUN_ID: started.run });
      expect(restore.taskDefinition).toMatch(/^arn:aws:ecs:eu-west-1:111122223333:task-definition\/stash-runner-[0-9a-f]{16}:1$/);
      expect(await getText(`${prefix}/specs/recoveries/db-back.yaml`)).toContain('restic: db');

      now = new Date('2026-01-01T12:01:00Z');
      await createDispatchHandler(runtime)(event('scheduled-event.json'));
      expect(runTasks().filter((i) => envOf(i).STASH_RUN_KIND === 'restore')).toHaveLength(1);
      await expect(remote().restoreNow('db', { volumes: [parseVolumeFlag('/source/data=emptyDir')], name: 'db-back' })).rejects.toThrow(
        `s3://${BUCKET}/${prefix}/specs/recoveries/db-back.yaml already exists: give the restore another --name`,
      );

      const refused = await remote().restoreNow('db', { volumes: [parseVolumeFlag('/source/data=efs:fs-0badbadbad')], name: 'db-elsewhere' });
      expect(refused).toMatchObject({
        phase: 'Failed',
        reason: "launch failed: spec.recoveredVolumes[0]: EFS file system fs-0badbadbad is not one of the stack's restore targets (efsRestoreTargets: fs-0123abcd); add it to efsRestoreTargets",
      });
    });

    it('lists snapshots and restores on this machine with the secret from Secrets Manager', async () => {
      const work = await mkdtemp(join(tmpdir(), 'stash-remote-'));
      // restic's repository is on s3rver over TLS (restic needs a CA there, which the secret carries).
      const s3: S3Server = await startS3({ buckets: ['restic'] });
      try {
        const data = join(work, 'data');
        await mkdir(data);
        await writeFile(join(data, 'hello.txt'), 'hello from the stack\n');
        const yaml = specYaml('laptop')
          .replace('/source/data', data)
          .replace('endpoint: s3.amazonaws.com', `endpoint: ${s3.endpoint}`)
          .replace('bucket: stash-qa', 'bucket: restic')
          .replace('prefix: laptop', `prefix: ${prefix}`)
          .replace('storageSecretName: s3-secret', 'storageSecretName: laptop-secret');
        await put(`${prefix}/specs/laptop.yaml`, yaml);
        const secret = { RESTIC_PASSWORD: SECRET_VALUE, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, CA_CERT_DATA: s3.caCertPem };
        await secretsClient().send(new CreateSecretCommand({ Name: 'stash/laptop-secret', SecretString: JSON.stringify(secret) }));
        const quiet: RunLog = { info: () => undefined, warn: () => undefined, error: () => undefined };
        const backup = await runBackup({ spec: ResticSchema.parse((await import('yaml')).parse(yaml)), secret, mode: { kind: 'aws' }, run: 'laptop-1', log: quiet, mayInitialise: true });
        expect(backup.outcome).toBe('succeeded');

        const snapshots = await remote().snapshots('laptop');
        expect(snapshots.map((sn) => sn.paths)).toEqual([[data]]);
        const restored = await remote().restore('laptop', { targetDir: join(work, 'restored'), snapshot: 'latest' }, { log: quiet });
        expect(restored.map((r) => r.restoredTo)).toEqual([join(work, 'restored', data)]);
        expect(await readFile(join(work, 'restored', data, 'hello.txt'), 'utf8')).toBe('hello from the stack\n');
        expect(out.join('')).not.toContain(SECRET_VALUE);
      } finally {
        await s3.stop();
        await rm(work, { recursive: true, force: true });
      }
    });
  });
});
