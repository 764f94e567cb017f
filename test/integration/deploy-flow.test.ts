/**
 * One flow, end to end, on real parts: the stack as synthesized (its functions' environments,
 * its task definition, its policies), moto_server for S3 and Secrets Manager, the AWS CLI, the
 * real restic, the built runner bundle and the built `stash` command as processes. ECS alone
 * is stood in by aws-sdk-client-mock (moto cannot run a Fargate task), and the flow plays its
 * part: the RunTask request the dispatcher made is run as a process with exactly that
 * request's environment, and the "Task State Change" event is built from it and the exit code.
 *
 * ```
 * aws s3 cp spec ──▶ validate ──▶ tick ──▶ RunTask ──▶ node runner.mjs ──▶ exit code ──▶ record ──▶ stash status
 * ```
 *
 * Then a restore (a Recovery uploaded the same way) and a run that fails (launched by the
 * operator, as `stash backup --remote` does). Every AWS call of the flow, from every
 * component, is evaluated against the template's policies: each must be allowed, and every
 * statement must be used by some call or carry a reason.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type RunTaskCommandInput,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { App } from 'aws-cdk-lib';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { Template } from 'aws-cdk-lib/assertions';
import { StashStack, PROJECT_ROOT } from '../../infra/stash-stack';
import { composeDispatch, composeRecord, composeValidate } from '../../lambda/compose';
import { createDispatchHandler } from '../../lambda/dispatch';
import { DispatchEnvSchema, readEnv, RecordEnvSchema, ValidateEnvSchema } from '../../lambda/env';
import { createRecordHandler } from '../../lambda/record';
import { createValidateHandler } from '../../lambda/validate';
import { RemoteStash } from '../../cli/remote';
import { startMoto, type MotoServer } from '../servers/moto';
import { CallRecorder, RecordingProxy, type Component } from '../support/aws-calls';
import { checkCalls, componentStatements, type IamCheckOptions } from '../support/iam-check';
import { ACCOUNT, REGION, StackTemplate } from '../support/stack-template';

const BUCKET = 'stash-config';
const PASSWORD = 'e2e-restic-password-7f3a';
const RUNNER = join(PROJECT_ROOT, 'container/dist/runner.mjs');
const STASH = join(PROJECT_ROOT, 'bin/stash.mjs');
const EVENTS = join(PROJECT_ROOT, 'test/fixtures/events');
const event = (name: string) => JSON.parse(readFileSync(join(EVENTS, name), 'utf8'));

/** The file systems the stack is deployed with: the flow's repository and restore target are "EFS" mounted at folders here. */
const SETTINGS = { efsSources: 'fs-0123abcd', efsRepositories: 'fs-0456abcd', efsRestoreTargets: 'fs-0789abcd' };

/**
 * Statements no call of the flow uses, and why each is still needed. The test fails when one
 * of these is used after all (the reason is stale) or another statement is used by nothing.
 */
const UNUSED_BY_CODE: Record<string, string> = {
  'dispatch logs:CreateLogStream,logs:PutLogEvents': 'Lambda writes the function log stream with the function role; the code never calls CloudWatch Logs.',
  'record logs:CreateLogStream,logs:PutLogEvents': 'Lambda writes the function log stream with the function role.',
  'validate logs:CreateLogStream,logs:PutLogEvents': 'Lambda writes the function log stream with the function role.',
  'record sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage': 'Lambda sends an event that failed after its retries to the dead-letter queue with the function role.',
  'validate sqs:GetQueueAttributes,sqs:GetQueueUrl,sqs:SendMessage': 'Lambda sends an event that failed after its retries to the dead-letter queue with the function role.',
  'runner elasticfilesystem:ClientMount,elasticfilesystem:ClientRootAccess': 'ECS mounts the EFS sources with the task role before the runner starts.',
  'runner elasticfilesystem:ClientMount,elasticfilesystem:ClientRootAccess,elasticfilesystem:ClientWrite': 'ECS mounts the repositories and restore targets with the task role.',
  'runner s3:ListBucket': 'Lets S3 answer 404, not 403, when the spec version a task was launched for has expired, so the error says so.',
  'cli ecs:RegisterTaskDefinition': 'stash restore --remote into a volume set no run used before registers its task definition.',
  'dispatch ecs:StopTask': 'The dispatcher stops a task that outlived its spec.timeout (a hung restic, test/unit/dispatch.test.ts); no run of the flow hangs.',
};

let moto: MotoServer;
let work: string;
let stack: StackTemplate;
let options: IamCheckOptions;
const recorder = new CallRecorder();
const proxies: Partial<Record<Component, RecordingProxy>> = {};
const ecs = mockClient(ECSClient);
let now = new Date('2026-01-01T02:00:30Z');
const clock = { now: () => now };

/** A process with the AWS CLI's or the SDK's view of moto: through the component's recording proxy. */
function awsEnv(component: Component): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ENDPOINT_URL: proxies[component]!.endpoint,
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    NODE_NO_WARNINGS: '1',
  };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** The AWS CLI as the operator (through the CLI's proxy), or as the account's admin (straight to moto). */
const aws = (args: string[], as: 'operator' | 'admin' = 'operator') =>
  run('aws', ['--endpoint-url', as === 'operator' ? proxies.cli!.endpoint : moto.endpoint, ...args], awsEnv('cli'));

/** The environment a function gets from the template, its names resolved. */
function functionEnv(prefix: string): Record<string, string> {
  return (stack.properties(stack.logicalId('AWS::Lambda::Function', prefix)).Environment as { Variables: Record<string, string> }).Variables;
}

/** The base task definition as ECS describes it: the template's, keys as the SDK has them. */
function baseTaskDefinition(): Record<string, unknown> {
  const camel = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(camel) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [/^[A-Z]/.test(k) ? k[0].toLowerCase() + k.slice(1) : k, camel(x)])) : v;
  const props = stack.properties(stack.logicalId('AWS::ECS::TaskDefinition', 'RunnerTaskDefinition'));
  const arn = stack.resolve({ Ref: stack.logicalId('AWS::ECS::TaskDefinition', 'RunnerTaskDefinition') }) as string;
  return { ...(camel(props) as Record<string, unknown>), taskDefinitionArn: arn, status: 'ACTIVE' };
}

/** What the task's container gets: the task definition's environment, then the RunTask overrides. */
function taskEnv(input: RunTaskCommandInput): Record<string, string> {
  const container = (baseTaskDefinition().containerDefinitions as { environment: { name: string; value: string }[] }[])[0];
  const fromDefinition = Object.fromEntries(container.environment.map((e) => [e.name, e.value]));
  const overrides = Object.fromEntries((input.overrides?.containerOverrides?.[0].environment ?? []).map((e) => [e.name!, e.value!]));
  // The container's /tmp is a task-local volume; here that is the test's own folder.
  return { ...fromDefinition, TMPDIR: join(work, 'tmp'), RESTIC_CACHE_DIR: join(work, 'tmp/restic-cache'), ...overrides };
}

const taskArnOf = (input: RunTaskCommandInput) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${stack.logicalId('AWS::ECS::Cluster', 'RunnerCluster')}/${String(input.clientToken).slice(0, 32)}`;

/** Runs a RunTask request as the task would: the built runner, with exactly its environment. */
async function runTask(input: RunTaskCommandInput): Promise<number> {
  const result = await run(process.execPath, [RUNNER], { ...awsEnv('runner'), ...taskEnv(input) });
  lastTaskOutput = `${result.out}${result.err}`;
  return result.code;
}
let lastTaskOutput = '';

/** The "ECS Task State Change" event ECS sends when that task stops with `exitCode`. */
function stoppedEvent(input: RunTaskCommandInput, exitCode: number | null, extra: Record<string, unknown> = {}): unknown {
  const e = event('ecs-task-stopped-succeeded.json');
  const taskArn = taskArnOf(input);
  e.detail = {
    ...e.detail,
    clusterArn: input.cluster,
    taskArn,
    group: input.group,
    startedBy: input.startedBy,
    taskDefinitionArn: input.taskDefinition,
    overrides: input.overrides,
    createdAt: now.toISOString(),
    startedAt: now.toISOString(),
    stoppedAt: new Date(now.getTime() + 60_000).toISOString(),
    containers: [{ ...e.detail.containers[0], taskArn, exitCode }],
    ...extra,
  };
  return e;
}

const s3Event = (key: string) => {
  const e = event('s3-object-created.json');
  e.detail.bucket.name = BUCKET;
  e.detail.object.key = key;
  return e;
};

const handlers = () => ({
  dispatch: createDispatchHandler(
    composeDispatch(
      readEnv(DispatchEnvSchema, functionEnv('FunctionsDispatch')),
      { s3: recorder.s3('dispatch', { ...moto.clientConfig, forcePathStyle: true }), ecs: recorder.ecs('dispatch'), secrets: recorder.secrets('dispatch', moto.clientConfig) },
      { clock },
    ),
  ),
  record: createRecordHandler(composeRecord(readEnv(RecordEnvSchema, functionEnv('FunctionsRecord')), { s3: recorder.s3('record', { ...moto.clientConfig, forcePathStyle: true }) }, { clock })),
  validate: createValidateHandler(composeValidate(readEnv(ValidateEnvSchema, functionEnv('FunctionsValidate')), { s3: recorder.s3('validate', { ...moto.clientConfig, forcePathStyle: true }) }, { clock })),
});

const stashStatus = async () => {
  const r = await run(process.execPath, [STASH, 'status', '--specs', `s3://${BUCKET}/specs`, '--json'], awsEnv('cli'));
  expect(r.err).toBe('');
  return (JSON.parse(r.out) as Record<string, unknown>[]).find((s) => s.name === 'e2e')!;
};

const runTasks = () => ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input);

let data: string;
let repository: string;
let fns: ReturnType<typeof handlers>;

beforeAll(async () => {
  if (!existsSync(RUNNER) || !existsSync(join(PROJECT_ROOT, 'dist/cli.mjs'))) throw new Error('run `npm run build` first: the flow runs container/dist/runner.mjs and bin/stash.mjs');
  const app = new App({ context: { ...JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context, ...SETTINGS, [BUNDLING_STACKS]: [] } });
  stack = new StackTemplate(Template.fromStack(new StashStack(app, 'Stash', { settings: SETTINGS })).toJSON() as never, BUCKET);
  options = {
    roles: {
      dispatch: stack.logicalId('AWS::IAM::Role', 'FunctionsDispatchRole'),
      record: stack.logicalId('AWS::IAM::Role', 'FunctionsRecordRole'),
      validate: stack.logicalId('AWS::IAM::Role', 'FunctionsValidateRole'),
      runner: stack.logicalId('AWS::IAM::Role', 'RunnerTaskRole'),
      cli: stack.logicalId('AWS::IAM::Role', 'OperatorRole'),
    },
    configBuckets: (bucket) => bucket === BUCKET,
    passedRoles: [stack.roleArn(stack.logicalId('AWS::IAM::Role', 'RunnerTaskRole')), stack.roleArn(stack.logicalId('AWS::IAM::Role', 'RunnerExecutionRole'))],
  };

  moto = await startMoto();
  for (const component of ['runner', 'cli'] as const) proxies[component] = await RecordingProxy.start(moto.endpoint, { component, recorder });
  work = await mkdtemp(join(tmpdir(), 'stash-flow-'));
  data = join(work, 'data');
  repository = join(work, 'repository');
  await mkdir(join(data, 'docs'), { recursive: true });
  await mkdir(repository);
  await mkdir(join(work, 'tmp'));
  await writeFile(join(data, 'docs/hello.txt'), 'hello from the flow\n');
  await writeFile(join(data, 'notes.md'), '# notes\n');

  // The account's admin makes the bucket (as the stack would) and the secret.
  for (const args of [
    ['s3api', 'create-bucket', '--bucket', BUCKET, '--create-bucket-configuration', `LocationConstraint=${REGION}`],
    ['s3api', 'put-bucket-versioning', '--bucket', BUCKET, '--versioning-configuration', 'Status=Enabled'],
    ['secretsmanager', 'create-secret', '--name', 'stash/e2e-secret', '--secret-string', JSON.stringify({ RESTIC_PASSWORD: PASSWORD })],
  ]) {
    const r = await aws(args, 'admin');
    expect(r.err, args.join(' ')).toBe('');
  }

  const otherTask = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${stack.logicalId('AWS::ECS::Cluster', 'RunnerCluster')}/0123456789abcdef0123456789abcdef`;
  ecs.on(ListTasksCommand).resolves({ taskArns: [otherTask] });
  ecs.on(DescribeTasksCommand).resolves({
    tasks: [
      {
        taskArn: otherTask,
        lastStatus: 'RUNNING',
        group: 'stash:other',
        overrides: { containerOverrides: [{ name: 'runner', environment: [{ name: 'STASH_SPEC_NAME', value: 'other' }, { name: 'STASH_RUN_ID', value: 'other-1' }] }] },
      },
    ],
  });
  const superseded = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/Stash-runner-00000000aaaaaaaa:1`;
  ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [superseded] });
  ecs.on(DeregisterTaskDefinitionCommand).resolves({});
  const registered = new Map<string, Record<string, unknown>>();
  ecs.on(DescribeTaskDefinitionCommand).callsFake(async (input: { taskDefinition: string }) => {
    if (input.taskDefinition === superseded) return { taskDefinition: { taskDefinitionArn: superseded, containerDefinitions: [{ name: 'runner' }] } };
    if (input.taskDefinition === baseTaskDefinition().taskDefinitionArn) return { taskDefinition: baseTaskDefinition() };
    const found = registered.get(input.taskDefinition);
    if (found) return { taskDefinition: found };
    throw Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException', $metadata: {} });
  });
  ecs.on(RegisterTaskDefinitionCommand).callsFake(async (input: Record<string, unknown>) => {
    const taskDefinition = { ...input, taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${input.family as string}:1`, status: 'ACTIVE' };
    registered.set(input.family as string, taskDefinition);
    return { taskDefinition };
  });
  ecs.on(RunTaskCommand).callsFake(async (input: RunTaskCommandInput) => ({ tasks: [{ taskArn: taskArnOf(input) }], failures: [] }));
  // Powertools writes to stdout and stderr; keep the test output readable.
  for (const stream of [process.stdout, process.stderr]) vi.spyOn(stream, 'write').mockImplementation(() => true);
  fns = handlers();
});

afterAll(async () => {
  vi.restoreAllMocks();
  for (const proxy of Object.values(proxies)) await proxy?.stop();
  await moto?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const spec = () => `apiVersion: stash.appscode.com/v1alpha1
kind: Restic
metadata:
  name: e2e
spec:
  fileGroups:
  - path: ${data}
    retentionPolicy: {keepLast: 3, prune: false}
  backend:
    local:
      mountPath: ${repository}
      efs: {fileSystemId: fs-0456abcd}
    storageSecretName: e2e-secret
  schedule: '0 * * * *'
  check:
    paused: true
`;

describe('a spec, from upload to status, on the stack as synthesized', () => {
  it('backs up: uploaded with the AWS CLI, validated, launched by the tick, run by the runner, recorded, shown by stash status', async () => {
    await writeFile(join(work, 'e2e.yaml'), spec());
    expect((await aws(['s3', 'cp', join(work, 'e2e.yaml'), `s3://${BUCKET}/specs/e2e.yaml`])).code).toBe(0);
    expect(await fns.validate(s3Event('specs/e2e.yaml'))).toMatchObject({ specs: [{ name: 'e2e', valid: true, errors: [] }] });

    const tick = await fns.dispatch(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 });
    (await import('node:fs')).writeFileSync('/tmp/deploy-debug.json', JSON.stringify({ tick, status: (await aws(['s3', 'cp', `s3://${BUCKET}/status/e2e.json`, '-'])).out }, null, 1));
    expect(tick).toMatchObject({ launched: 1, failed: 0 });
    const [request] = runTasks();
    expect(request.taskDefinition).toMatch(/:task-definition\/Stash-runner-[0-9a-f]{16}:1$/); // the repository's volume set
    expect(ecs.commandCalls(DeregisterTaskDefinitionCommand).map((c) => c.args[0].input.taskDefinition)).toEqual([expect.stringContaining('Stash-runner-00000000aaaaaaaa')]);

    const exitCode = await runTask(request);
    expect(exitCode, lastTaskOutput).toBe(0);
    expect(await fns.record(stoppedEvent(request, exitCode))).toMatchObject({ recorded: true, spec: 'e2e', outcome: 'succeeded' });

    const status = await stashStatus();
    expect(status).toMatchObject({ name: 'e2e', backupCount: 1, lastOutcome: 'succeeded', lastRun: { kind: 'backup', outcome: 'succeeded', fileGroups: [expect.objectContaining({ path: data })] } });
    expect(status.running).toBeUndefined();
    expect(JSON.stringify(runTasks())).not.toContain(PASSWORD);
  });

  it('restores: a Recovery uploaded the same way is launched by the next tick into its restore target', async () => {
    await rm(data, { recursive: true });
    await writeFile(
      join(work, 'e2e-recovery.yaml'),
      `apiVersion: stash.appscode.com/v1alpha1
kind: Recovery
metadata:
  name: e2e-recovery
spec:
  restic: e2e
  recoveredVolumes:
  - mountPath: ${data}
    efs: {fileSystemId: fs-0789abcd}
`,
    );
    expect((await aws(['s3', 'cp', join(work, 'e2e-recovery.yaml'), `s3://${BUCKET}/specs/e2e-recovery.yaml`])).code).toBe(0);
    expect(await fns.validate(s3Event('specs/e2e-recovery.yaml'))).toMatchObject({ recoveries: [{ name: 'e2e-recovery', valid: true, errors: [] }] });

    now = new Date('2026-01-01T02:10:30Z');
    recorder.takeEcsCalls(ecs as never);
    await fns.dispatch(event('scheduled-event.json'), { getRemainingTimeInMillis: () => 60_000 });
    const request = runTasks().find((r) => r.overrides?.containerOverrides?.[0].environment?.some((e) => e.value === 'restore'))!;
    expect(request).toBeDefined();
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand).at(-1)?.args[0].input.containerDefinitions?.[0].mountPoints).toEqual([
      { sourceVolume: 'scratch', containerPath: '/tmp', readOnly: false },
      { sourceVolume: 'recovered-0', containerPath: data, readOnly: false },
      { sourceVolume: 'stash-repository', containerPath: repository, readOnly: false },
    ]);

    const exitCode = await runTask(request);
    expect(exitCode, lastTaskOutput).toBe(0);
    expect(await readFile(join(data, 'docs/hello.txt'), 'utf8')).toBe('hello from the flow\n');
    expect(await fns.record(stoppedEvent(request, exitCode))).toMatchObject({ recorded: true, spec: 'e2e', outcome: 'succeeded' });
    const recovery = JSON.parse((await aws(['s3', 'cp', `s3://${BUCKET}/status/recoveries/e2e-recovery.json`, '-'])).out);
    expect(recovery).toMatchObject({ phase: 'Succeeded' });
    expect(await stashStatus()).toMatchObject({ backupCount: 1, lastOutcome: 'succeeded' });
    expect((await aws(['s3', 'rm', `s3://${BUCKET}/specs/e2e-recovery.yaml`])).code).toBe(0);
  });

  it('fails: a run the operator launches with a wrong password is recorded as a configuration error naming the secret, and shown so', async () => {
    const admin = await aws(['secretsmanager', 'put-secret-value', '--secret-id', 'stash/e2e-secret', '--secret-string', JSON.stringify({ RESTIC_PASSWORD: 'not-the-password' })], 'admin');
    expect(admin.err).toBe('');
    now = new Date('2026-01-01T02:20:00Z');
    recorder.takeEcsCalls(ecs as never);
    const remote = new RemoteStash({
      specs: `s3://${BUCKET}/specs`,
      clients: { s3: recorder.s3('cli', { ...moto.clientConfig, forcePathStyle: true }), ecs: recorder.ecs('cli'), secrets: recorder.secrets('cli', moto.clientConfig) },
      clock,
    });
    const { run: runId } = await remote.backupNow('e2e');
    const [request] = runTasks();
    const exitCode = await runTask(request);
    expect(exitCode).toBe(2);
    expect(await fns.record(stoppedEvent(request, exitCode))).toMatchObject({ recorded: true, run: runId, outcome: 'config-error' });
    const status = await stashStatus();
    expect(status).toMatchObject({ backupCount: 1, lastOutcome: 'config-error', lastError: expect.stringMatching(/the RESTIC_PASSWORD in secret "e2e-secret" does not open the repository/) });
  });

  it('records a task that died before the runner could report, from its stop reason alone', async () => {
    const [request] = runTasks();
    const died = stoppedEvent({ ...request, clientToken: 'f'.repeat(64), overrides: { containerOverrides: [{ name: 'runner', environment: [...request.overrides!.containerOverrides![0].environment!.filter((e) => e.name !== 'STASH_RUN_ID'), { name: 'STASH_RUN_ID', value: 'e2e-died' }] }] } }, null, {
      stopCode: 'TaskFailedToStart',
      stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)',
    });
    expect(await fns.record(died)).toMatchObject({ recorded: true, run: 'e2e-died', outcome: 'failed' });
  });
});

describe('least privilege, from both sides', () => {
  it('allows every AWS call of the flow, and uses every statement or says why not', async () => {
    recorder.takeEcsCalls(ecs as never);
    const components = new Set(recorder.calls.map((c) => c.component));
    expect([...components].sort()).toEqual(['cli', 'dispatch', 'record', 'runner', 'validate']);
    const check = await checkCalls(stack, recorder.calls, options);
    expect(check.refused).toEqual([]);
    expect(check.evaluated).toBeGreaterThan(40);

    const label = (s: { component: string; statement: Record<string, unknown> }) => {
      const actions = [s.statement.Action].flat().map(String).sort();
      return `${s.component} ${actions.join(',')}`;
    };
    const statements = componentStatements(stack, options);
    const unused = statements.filter((s) => !check.used.has(s.id)).map(label).sort();
    expect(unused).toEqual(Object.keys(UNUSED_BY_CODE).sort());
  });
});
