import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../core/errors';
import { DispatchEnvSchema, readEnv, RecordEnvSchema, ValidateEnvSchema } from '../../lambda/env';
import { parseSecretsUri, parseVolumeFlag, RemoteStash } from '../../cli/remote';

const DISPATCH = {
  CONFIG_BUCKET: 'stash-config',
  CLUSTER_ARN: 'arn:aws:ecs:eu-west-1:111122223333:cluster/stash',
  TASK_DEFINITION_ARN: 'arn:aws:ecs:eu-west-1:111122223333:task-definition/stash-runner:7',
  TASK_FAMILY: 'stash-runner',
  TASK_ROLE_ARN: 'arn:aws:iam::111122223333:role/stash-task',
  EXECUTION_ROLE_ARN: 'arn:aws:iam::111122223333:role/stash-execution',
  RUNNER_LOG_GROUP: '/stash/runner',
  SUBNET_IDS: 'subnet-a, subnet-b,',
  SECURITY_GROUP_IDS: 'sg-1',
};

describe('readEnv', () => {
  it('applies the defaults and splits the lists', () => {
    expect(readEnv(DispatchEnvSchema, DISPATCH)).toEqual({
      ...DISPATCH,
      SPEC_PREFIX: 'specs/',
      STATUS_PREFIX: 'status/',
      STATE_PREFIX: 'state/',
      RUNS_PREFIX: 'runs/',
      SECRET_PREFIX: 'stash/',
      POWERTOOLS_SERVICE_NAME: 'stash',
      POWERTOOLS_METRICS_NAMESPACE: 'Stash',
      CONTAINER_NAME: 'runner',
      SUBNET_IDS: ['subnet-a', 'subnet-b'],
      SECURITY_GROUP_IDS: ['sg-1'],
      ASSIGN_PUBLIC_IP: 'DISABLED',
      EFS_SOURCES: [],
      EFS_REPOSITORIES: [],
      EFS_RESTORE_TARGETS: [],
      MAX_TASK_CPU: 4096,
      MAX_TASK_MEMORY_MIB: 16384,
    });
    expect(readEnv(DispatchEnvSchema, { ...DISPATCH, EFS_SOURCES: 'fs-0123abcd', MAX_TASK_CPU: '1024' })).toMatchObject({ EFS_SOURCES: ['fs-0123abcd'], MAX_TASK_CPU: 1024 });
    expect(readEnv(ValidateEnvSchema, { CONFIG_BUCKET: 'b', SPEC_PREFIX: '/team/specs', STATUS_PREFIX: '' })).toMatchObject({ SPEC_PREFIX: 'team/specs/', STATUS_PREFIX: '' });
  });

  it('names every missing or malformed variable', () => {
    const { CLUSTER_ARN: _c, SUBNET_IDS: _s, ...rest } = DISPATCH;
    expect(() => readEnv(DispatchEnvSchema, { ...rest, TASK_ROLE_ARN: 'stash-task', ASSIGN_PUBLIC_IP: 'yes', MAX_TASK_CPU: 'lots' })).toThrow(
      new ConfigError(
        'invalid environment: CLUSTER_ARN is not set; TASK_ROLE_ARN must be an ARN (arn:aws:iam:...); SUBNET_IDS is not set (comma-separated subnet ids); ASSIGN_PUBLIC_IP must be ENABLED or DISABLED; MAX_TASK_CPU must be a whole number',
      ),
    );
    expect(() => readEnv(RecordEnvSchema, { CONFIG_BUCKET: ' ' })).toThrow('invalid environment: CONFIG_BUCKET is empty; CLUSTER_ARN is not set');
  });
});

describe('Lambda entry points', () => {
  afterEach(() => vi.unstubAllEnvs());

  it.each([
    ['dispatch', '../../lambda/dispatch', 'invalid environment: CONFIG_BUCKET is not set; CLUSTER_ARN is not set'],
    ['record', '../../lambda/record', 'invalid environment: CONFIG_BUCKET is not set; CLUSTER_ARN is not set'],
    ['validate', '../../lambda/validate', 'invalid environment: CONFIG_BUCKET is not set'],
  ])('%s fails fast, naming what is missing', async (_name, module, message) => {
    vi.stubEnv('CONFIG_BUCKET', undefined);
    vi.stubEnv('CLUSTER_ARN', undefined);
    const { handler } = (await import(module)) as { handler: (event: unknown) => Promise<unknown> };
    await expect(handler({})).rejects.toThrow(message);
  });
});

describe('cli/remote options', () => {
  it.each([
    ['/source/data=efs:fs-0123abcd', { mountPath: '/source/data', efs: { fileSystemId: 'fs-0123abcd' } }],
    ['/source/data=efs:fs-0123abcd:/restored/db', { mountPath: '/source/data', efs: { fileSystemId: 'fs-0123abcd', rootDirectory: '/restored/db' } }],
    ['/data=efs:fs-0123abcd@fsap-0123456789abcdef0', { mountPath: '/data', efs: { fileSystemId: 'fs-0123abcd', accessPointId: 'fsap-0123456789abcdef0' } }],
    ['/scratch=emptyDir', { mountPath: '/scratch', emptyDir: {} }],
  ])('parses --volume %s', (flag, volume) => expect(parseVolumeFlag(flag)).toEqual(volume));

  it.each(['data=efs:fs-0123abcd', '/data', '/data=nfs:server:/x'])('refuses --volume %s', (flag) => {
    expect(() => parseVolumeFlag(flag)).toThrow(ConfigError);
  });

  it('reads the store locations', () => {
    expect(parseSecretsUri('sm://stash/')).toBe('stash/');
    expect(() => parseSecretsUri('stash/')).toThrow('--secrets "stash/" must look like sm://prefix (the Secrets Manager name prefix, e.g. sm://stash/)');
    const remote = new RemoteStash({ specs: 's3://stash-config/specs', state: 's3://stash-config/team-a' });
    expect([remote.specsAt, remote.stateAt]).toEqual([
      { bucket: 'stash-config', prefix: 'specs/' },
      { bucket: 'stash-config', prefix: 'team-a/' },
    ]);
    expect(new RemoteStash({ specs: 's3://stash-config/specs/' }).stateAt).toEqual({ bucket: 'stash-config', prefix: '' });
    expect(() => new RemoteStash({ specs: 'specs/' })).toThrow('--specs "specs/" must look like s3://bucket/prefix');
  });
});
