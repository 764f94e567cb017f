import { createHash } from 'node:crypto';
import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ECSServiceException,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launchRun } from '../../core/launch';
import { type LaunchRequest } from '../../core/ports';
import type { LoadedSpec, StatusStore } from '../../core/ports';
import { clientToken, EcsLauncher, type EcsLauncherConfig } from '../../aws/ecs-launcher';
import { RatePacer, type Timer } from '../../aws/pacing';
import { SecretsManagerSecretStore } from '../../aws/secrets-manager';
import { ResticSchema, type ResticSpec } from '../../schemas/restic';
import type { SpecStatus } from '../../schemas/status';

const CONFIG: EcsLauncherConfig = {
  clusterArn: 'arn:aws:ecs:eu-west-1:111122223333:cluster/stash',
  taskDefinitionArn: 'arn:aws:ecs:eu-west-1:111122223333:task-definition/stash-runner:7',
  taskFamily: 'stash-runner',
  containerName: 'runner',
  taskRoleArn: 'arn:aws:iam::111122223333:role/stash-task',
  executionRoleArn: 'arn:aws:iam::111122223333:role/stash-execution',
  logGroup: '/stash/runner',
  subnets: ['subnet-0a1b2c3d4e5f60718', 'subnet-0b1c2d3e4f5a60719'],
  securityGroups: ['sg-0123456789abcdef0'],
  assignPublicIp: 'DISABLED',
  efs: { sources: ['fs-0123abcd'], repositories: ['fs-0456abcd'], restoreTargets: ['fs-0789abcd'] },
  maxTaskSize: { cpu: 4096, memoryMiB: 16384 },
};

const SECRET_VALUE = 'correct-horse-battery-staple';

const loaded = (over: Partial<ResticSpec> = {}, name = 'db'): LoadedSpec => ({
  source: `s3://stash-config/specs/${name}.yaml`,
  version: '3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
  warnings: [],
  spec: ResticSchema.parse({
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Restic',
    metadata: { name },
    spec: {
      fileGroups: [{ path: '/source/data' }],
      backend: { s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-qa', prefix: name }, storageSecretName: 's3-secret' },
      schedule: '@every 1h',
      ...over,
    },
  }),
});

const request = (spec: LoadedSpec, over: Partial<LaunchRequest> = {}): LaunchRequest => ({
  spec,
  run: 'db-20260101T020000',
  kind: 'backup',
  slot: new Date('2026-01-01T02:00:00Z'),
  secretRef: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/s3-secret-AbCdEf',
  ...over,
});

const awsError = (name: string, message: string, fault: 'client' | 'server' = 'client') =>
  new ECSServiceException({ name, $fault: fault, $metadata: { httpStatusCode: fault === 'server' ? 500 : 400 }, message });

/** Virtual time: sleeping advances the clock at once. */
const virtualTimer = () => {
  const timer = {
    t: Date.parse('2026-01-01T02:00:30Z'),
    sleeps: [] as number[],
    now: () => timer.t,
    sleep: async (ms: number) => {
      timer.sleeps.push(ms);
      timer.t += ms;
    },
  };
  return timer satisfies Timer;
};

const TASK_ARN = 'arn:aws:ecs:eu-west-1:111122223333:task/stash/0c7e2a3b9f6d4b1e8a5c2d7f9e0b1a23';

describe('EcsLauncher', () => {
  const ecs = mockClient(ECSClient);
  let timer: ReturnType<typeof virtualTimer>;
  let launcher: EcsLauncher;

  beforeEach(() => {
    ecs.reset();
    timer = virtualTimer();
    launcher = new EcsLauncher(new ECSClient({ region: 'eu-west-1' }), CONFIG, { timer, random: () => 0.5 });
  });

  it('sends RunTask on Fargate with references only and a clientToken from the run id', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }], failures: [] });
    const result = await launcher.launch(request(loaded()));
    expect(result).toEqual({ launched: true, taskArn: TASK_ARN, throttled: 0 });
    expect(ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input)).toEqual([
      {
        cluster: CONFIG.clusterArn,
        taskDefinition: CONFIG.taskDefinitionArn,
        launchType: 'FARGATE',
        count: 1,
        clientToken: createHash('sha256').update('db-20260101T020000').digest('hex'),
        startedBy: 'stash',
        group: 'stash:db',
        networkConfiguration: {
          awsvpcConfiguration: { subnets: ['subnet-0a1b2c3d4e5f60718', 'subnet-0b1c2d3e4f5a60719'], securityGroups: ['sg-0123456789abcdef0'], assignPublicIp: 'DISABLED' },
        },
        overrides: {
          containerOverrides: [
            {
              name: 'runner',
              environment: [
                { name: 'STASH_SPEC_NAME', value: 'db' },
                { name: 'STASH_SPEC_KEY', value: 'specs/db.yaml' },
                { name: 'STASH_SPEC_VERSION', value: '3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' },
                { name: 'STASH_SECRET_ID', value: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/s3-secret-AbCdEf' },
                { name: 'STASH_RUN_ID', value: 'db-20260101T020000' },
                { name: 'STASH_SLOT', value: '2026-01-01T02:00:00.000Z' },
                { name: 'STASH_RUN_KIND', value: 'backup' },
              ],
            },
          ],
        },
      },
    ]);
    expect(clientToken('db-20260101T020000')).toHaveLength(64);
  });

  it('never puts the secret in RunTask: the launch path reads it only to check its keys', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand, { SecretId: 'stash/s3-secret' }).resolves({
      ARN: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/s3-secret-AbCdEf',
      Name: 'stash/s3-secret',
      SecretString: JSON.stringify({ RESTIC_PASSWORD: SECRET_VALUE, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: `${SECRET_VALUE}-aws` }),
    });
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }] });
    const written: SpecStatus[] = [];
    const statuses: StatusStore = {
      get: async () => undefined,
      list: async () => [],
      update: async (name, change) => {
        const s = change({ name, backupCount: 0 });
        written.push(s);
        return s;
      },
    };
    const secrets = new SecretsManagerSecretStore(new SecretsManagerClient({ region: 'eu-west-1' }), 'stash/');
    const outcome = await launchRun({ launcher, secrets, statuses }, loaded(), { run: 'db-20260101T020000', kind: 'backup' }, new Date('2026-01-01T02:00:30Z'));
    expect(outcome.launched).toBe(true);
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: 'stash/s3-secret' }]);
    const sent = JSON.stringify(ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input));
    expect(sent).toContain('arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/s3-secret-AbCdEf');
    expect(sent).not.toContain(SECRET_VALUE);
    expect(JSON.stringify(written)).not.toContain(SECRET_VALUE);
    sm.restore();
  });

  it('sizes the task from spec.resources', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }] });
    await launcher.launch(request(loaded({ resources: { requests: { cpu: '500m', memory: '3Gi' }, limits: { 'ephemeral-storage': '50Gi' } } })));
    const { overrides } = ecs.commandCalls(RunTaskCommand)[0].args[0].input;
    expect(overrides).toMatchObject({ cpu: '512', memory: '3072', ephemeralStorage: { sizeInGiB: 50 } });
  });

  it('registers one task definition per volume set, named by its hash, keeping the base user, read-only root and scratch volume, and finds it again after a cold start', async () => {
    const spec = loaded({
      volumes: [{ name: 'data', efs: { fileSystemId: 'fs-0123abcd', rootDirectory: '/exports/db' } }],
      volumeMounts: [{ name: 'data', mountPath: '/source/data' }],
    });
    // The generic answer first: aws-sdk-client-mock lets a later .on() without input override a specific one.
    ecs.on(DescribeTaskDefinitionCommand).rejects(awsError('ClientException', 'Unable to describe task definition.'));
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: CONFIG.taskDefinitionArn }).resolves({
      taskDefinition: {
        taskDefinitionArn: CONFIG.taskDefinitionArn,
        family: 'stash-runner',
        status: 'ACTIVE',
        networkMode: 'awsvpc',
        cpu: '256',
        memory: '512',
        runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
        containerDefinitions: [
          {
            name: 'runner',
            image: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/stash-runner:latest',
            essential: true,
            user: '10001:10001',
            readonlyRootFilesystem: true,
            environment: [{ name: 'CONFIG_BUCKET', value: 'stash-config' }],
            mountPoints: [{ sourceVolume: 'scratch', containerPath: '/tmp', readOnly: false }],
            logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': 'old', 'awslogs-region': 'eu-west-1', 'awslogs-stream-prefix': 'runner' } },
          },
        ],
        volumes: [{ name: 'scratch', host: {} }],
      },
    });
    ecs.on(RegisterTaskDefinitionCommand).callsFake((input) => ({ taskDefinition: { taskDefinitionArn: `arn:aws:ecs:eu-west-1:111122223333:task-definition/${input.family}:1` } }));
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }] });

    await launcher.launch(request(spec));
    await launcher.launch(request(spec, { run: 'db-20260101T030000' }));
    const registrations = ecs.commandCalls(RegisterTaskDefinitionCommand).map((c) => c.args[0].input);
    expect(registrations).toHaveLength(1);
    const family = registrations[0].family!;
    expect(family).toMatch(/^stash-runner-[0-9a-f]{16}$/);
    expect(registrations[0]).toEqual({
      family,
      taskRoleArn: CONFIG.taskRoleArn,
      executionRoleArn: CONFIG.executionRoleArn,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
      containerDefinitions: [
        {
          name: 'runner',
          image: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/stash-runner:latest',
          essential: true,
          user: '10001:10001',
          readonlyRootFilesystem: true,
          environment: [{ name: 'CONFIG_BUCKET', value: 'stash-config' }],
          mountPoints: [
            { sourceVolume: 'scratch', containerPath: '/tmp', readOnly: false },
            { sourceVolume: 'data', containerPath: '/source/data', readOnly: true },
          ],
          logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/stash/runner', 'awslogs-region': 'eu-west-1', 'awslogs-stream-prefix': 'runner' } },
          dockerLabels: { 'stash.base-task-definition': CONFIG.taskDefinitionArn },
        },
      ],
      volumes: [
        { name: 'scratch', host: {} },
        {
          name: 'data',
          efsVolumeConfiguration: { fileSystemId: 'fs-0123abcd', rootDirectory: '/exports/db', transitEncryption: 'ENABLED', authorizationConfig: { iam: 'ENABLED' } },
        },
      ],
    });
    const runs = ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input.taskDefinition);
    expect(runs).toEqual([`arn:aws:ecs:eu-west-1:111122223333:task-definition/${family}:1`, `arn:aws:ecs:eu-west-1:111122223333:task-definition/${family}:1`]);

    // A cold start: the family is found, not registered again.
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: family }).resolves({
      taskDefinition: { taskDefinitionArn: `arn:aws:ecs:eu-west-1:111122223333:task-definition/${family}:1`, status: 'ACTIVE' },
    });
    const cold = new EcsLauncher(new ECSClient({ region: 'eu-west-1' }), CONFIG, { timer });
    await cold.launch(request(spec));
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(1);
    expect(ecs.commandCalls(RunTaskCommand).at(-1)?.args[0].input.taskDefinition).toBe(`arn:aws:ecs:eu-west-1:111122223333:task-definition/${family}:1`);
  });

  it('deregisters the copies of an earlier base revision, and only those', async () => {
    const arnOf = (family: string) => `arn:aws:ecs:eu-west-1:111122223333:task-definition/${family}:1`;
    const copies = { current: 'stash-runner-0123456789abcdef', earlier: 'stash-runner-fedcba9876543210', unlabelled: 'stash-runner-00000000aaaaaaaa' };
    ecs.on(ListTaskDefinitionsCommand).resolvesOnce({ taskDefinitionArns: [arnOf(copies.current), arnOf('stash-runner-other-runner')], nextToken: 'page-2' }).resolves({
      taskDefinitionArns: [arnOf(copies.earlier), arnOf(copies.unlabelled)],
    });
    const labelled = (base?: string) => ({
      taskDefinition: { containerDefinitions: [{ name: 'runner', ...(base ? { dockerLabels: { 'stash.base-task-definition': base } } : {}) }] },
    });
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: arnOf(copies.current) }).resolves(labelled(CONFIG.taskDefinitionArn));
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: arnOf(copies.earlier) }).resolves(labelled('arn:aws:ecs:eu-west-1:111122223333:task-definition/stash-runner:6'));
    ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: arnOf(copies.unlabelled) }).resolves(labelled());
    ecs.on(DeregisterTaskDefinitionCommand).resolves({});

    expect(await launcher.taskDefinitions.deregisterSuperseded()).toEqual([arnOf(copies.earlier), arnOf(copies.unlabelled)]);
    expect(ecs.commandCalls(ListTaskDefinitionsCommand).map((c) => c.args[0].input)).toEqual([
      { familyPrefix: 'stash-runner-', status: 'ACTIVE', nextToken: undefined },
      { familyPrefix: 'stash-runner-', status: 'ACTIVE', nextToken: 'page-2' },
    ]);
    // Another stack's family that only starts like ours is never touched.
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand).map((c) => c.args[0].input.taskDefinition)).not.toContain(arnOf('stash-runner-other-runner'));
    expect(ecs.commandCalls(DeregisterTaskDefinitionCommand).map((c) => c.args[0].input)).toEqual([
      { taskDefinition: arnOf(copies.earlier) },
      { taskDefinition: arnOf(copies.unlabelled) },
    ]);
  });

  it('backs off on ThrottlingException and retries with the same clientToken', async () => {
    ecs
      .on(RunTaskCommand)
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded'))
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded'))
      .resolves({ tasks: [{ taskArn: TASK_ARN }] });
    const result = await launcher.launch(request(loaded()));
    expect(result).toEqual({ launched: true, taskArn: TASK_ARN, throttled: 2 });
    expect(timer.sleeps).toEqual([150, 300]);
    expect(new Set(ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input.clientToken)).size).toBe(1);
  });

  it('retries a capacity failure and reports it with its reason when it persists', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [{ arn: CONFIG.clusterArn, reason: 'Capacity is unavailable at this time. Please try again later or in a different availability zone' }] });
    const result = await launcher.launch(request(loaded()));
    expect(result).toEqual({
      launched: false,
      reason: 'Capacity is unavailable at this time. Please try again later or in a different availability zone',
      retryable: true,
      throttled: 0,
    });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(6);
  });

  it('stops retrying before the deadline', async () => {
    ecs.on(RunTaskCommand).rejects(awsError('ServerException', 'Service unavailable', 'server'));
    const result = await launcher.launch(request(loaded(), { deadline: new Date(timer.t + 400) }));
    expect(result).toMatchObject({ launched: false, retryable: true, reason: 'ServerException: Service unavailable' });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(2);
  });

  it('does not retry what cannot succeed', async () => {
    ecs.on(RunTaskCommand).rejects(awsError('InvalidParameterException', 'No Fargate configuration exists for given values: 256 CPU, 8192 memory.'));
    expect(await launcher.launch(request(loaded()))).toEqual({
      launched: false,
      reason: 'InvalidParameterException: No Fargate configuration exists for given values: 256 CPU, 8192 memory.',
      retryable: false,
      throttled: 0,
    });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(1);
  });

  it.each([
    [{ volumes: [{ name: 'data', hostPath: { path: '/srv' } }], volumeMounts: [{ name: 'data', mountPath: '/source/data' }] }, 'spec.volumeMounts[0]: hostPath volumes can only be used in local mode; use efs on AWS'],
    [
      { volumes: [{ name: 'data', efs: { fileSystemId: 'fs-0badbadbad' } }], volumeMounts: [{ name: 'data', mountPath: '/source/data' }] },
      "spec.volumeMounts[0]: EFS file system fs-0badbadbad is not one of the stack's file systems (efsSources: fs-0123abcd); add it to efsSources",
    ],
    [{ volumeMounts: [{ name: 'data', mountPath: '/source/data' }] }, 'spec.volumeMounts[0].name: volume "data" is not defined in spec.volumes (add it with efs for AWS)'],
    [{ resources: { limits: { cpu: '32' } } }, 'spec.resources: 32 vCPU and 0 GiB exceed the largest Fargate task (16 vCPU, 120 GiB)'],
    [{ resources: { limits: { cpu: '8', memory: '16Gi' } } }, 'spec.resources: a task of 8192 CPU units and 16384 MiB is larger than the stack allows (maxTaskCpu 4096, maxTaskMemoryMiB 16384)'],
    [{ resources: { limits: { cpu: '2', memory: '20Gi' } } }, 'spec.resources: a task of 4096 CPU units and 20480 MiB is larger than the stack allows (maxTaskCpu 4096, maxTaskMemoryMiB 16384)'],
  ] as [Partial<ResticSpec>, string][])('refuses a spec that cannot run on Fargate: %j', async (over, reason) => {
    expect(await launcher.launch(request(loaded(over)))).toEqual({ launched: false, reason, retryable: false, throttled: 0 });
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
  });

  it('keeps to 20 RunTask calls in any second', async () => {
    const pacer = new RatePacer(20, 1000, timer);
    const paced = new EcsLauncher(new ECSClient({ region: 'eu-west-1' }), CONFIG, { timer, pacer });
    const at: number[] = [];
    ecs.on(RunTaskCommand).callsFake(() => {
      at.push(timer.now());
      return { tasks: [{ taskArn: TASK_ARN }] };
    });
    await Promise.all(Array.from({ length: 45 }, (_, i) => paced.launch(request(loaded({}, `spec-${i}`), { run: `spec-${i}-20260101T020000` }))));
    expect(at).toHaveLength(45);
    for (const t of at) expect(at.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(20);
    expect(at.at(-1)! - at[0]).toBe(2000);
  });

  it('lists running tasks by startedBy and reads their spec and run from the overrides', async () => {
    ecs.on(ListTasksCommand).resolvesOnce({ taskArns: ['arn:t1'], nextToken: 'page-2' }).resolvesOnce({ taskArns: ['arn:t2'] });
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: 'arn:t1',
          group: 'stash:db',
          lastStatus: 'RUNNING',
          createdAt: new Date('2026-01-01T02:00:02Z'),
          overrides: { containerOverrides: [{ name: 'runner', environment: [{ name: 'STASH_SPEC_NAME', value: 'db' }, { name: 'STASH_RUN_ID', value: 'db-20260101T020000' }] }] },
        },
        { taskArn: 'arn:t2', group: 'stash:web', lastStatus: 'PROVISIONING' },
      ],
    });
    expect(await launcher.running()).toEqual([
      { spec: 'db', run: 'db-20260101T020000', kind: 'backup', taskArn: 'arn:t1', startedAt: '2026-01-01T02:00:02.000Z' },
      { spec: 'web', run: 'web-task-arn:t2', kind: 'backup', taskArn: 'arn:t2', startedAt: undefined },
    ]);
    expect(ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: CONFIG.clusterArn, startedBy: 'stash', desiredStatus: 'RUNNING', maxResults: 100, nextToken: undefined },
      { cluster: CONFIG.clusterArn, startedBy: 'stash', desiredStatus: 'RUNNING', maxResults: 100, nextToken: 'page-2' },
    ]);
    expect(ecs.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input)).toEqual([{ cluster: CONFIG.clusterArn, tasks: ['arn:t1', 'arn:t2'] }]);
  });

  afterEach(() => ecs.reset());
});
