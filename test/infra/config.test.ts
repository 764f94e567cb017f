import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors';
import { parseStashSettings, readStashSettings, StashSettingsError } from '../../infra/config';

describe('parseStashSettings', () => {
  it('fills in every default', () => {
    expect(parseStashSettings({})).toEqual({
      secretPrefix: 'stash/',
      specPrefix: 'specs/',
      tickMinutes: 1,
      alarmEmail: undefined,
      logRetentionDays: 90,
      noncurrentVersionDays: 30,
      network: { kind: 'new', egress: 'endpoints', maxAzs: 1 },
      efsSources: [],
      efsRepositories: [],
      efsRestoreTargets: [],
      metricsNamespace: 'Stash',
      taskCpu: 1024,
      taskMemoryMiB: 2048,
      maxTaskCpu: 4096,
      maxTaskMemoryMiB: 16384,
      specWriters: [],
      s3RepositoryBuckets: [],
      efsFileSystemPolicies: false,
    });
  });

  it('reads strings as -c passes them: numbers, booleans and comma-separated lists', () => {
    const s = parseStashSettings({
      vpcId: 'vpc-0abc1234',
      subnetIds: ' subnet-0abc1234 , subnet-0def5678,',
      securityGroupIds: 'sg-0abc1234',
      assignPublicIp: 'true',
      tickMinutes: '5',
      logRetentionDays: '365',
      efsSources: 'fs-0123abcd,fs-0123abcd',
      efsRepositories: ['fs-0456abcd'],
      taskCpu: '2048',
      taskMemoryMiB: '8192',
      alarmEmail: 'ops@example.com',
    });
    expect(s.network).toEqual({
      kind: 'existing',
      vpcId: 'vpc-0abc1234',
      subnetIds: ['subnet-0abc1234', 'subnet-0def5678'],
      securityGroupIds: ['sg-0abc1234'],
      assignPublicIp: true,
    });
    expect(s).toMatchObject({
      tickMinutes: 5,
      logRetentionDays: 365,
      efsSources: ['fs-0123abcd'],
      efsRepositories: ['fs-0456abcd'],
      taskCpu: 2048,
      taskMemoryMiB: 8192,
      alarmEmail: 'ops@example.com',
    });
  });

  it('defaults the memory to the smallest Fargate accepts for the CPU', () => {
    expect(parseStashSettings({ taskCpu: 4096 }).taskMemoryMiB).toBe(8192);
  });

  // Every combination Fargate documents ("Task CPU and memory", Amazon ECS Developer Guide).
  it.each([
    ...[512, 1024, 2048].map((m) => [256, m]),
    ...steps(1024, 4096, 1024).map((m) => [512, m]),
    ...steps(2048, 8192, 1024).map((m) => [1024, m]),
    ...steps(4096, 16384, 1024).map((m) => [2048, m]),
    ...steps(8192, 30720, 1024).map((m) => [4096, m]),
    ...steps(16384, 61440, 4096).map((m) => [8192, m]),
    ...steps(32768, 122880, 8192).map((m) => [16384, m]),
  ])('accepts taskCpu %i with taskMemoryMiB %i', (taskCpu, taskMemoryMiB) => {
    expect(parseStashSettings({ taskCpu: String(taskCpu), taskMemoryMiB: String(taskMemoryMiB) })).toMatchObject({ taskCpu, taskMemoryMiB });
  });

  it('treats an empty value as not set', () => {
    expect(parseStashSettings({ secretPrefix: '', alarmEmail: ' ', egress: '' })).toMatchObject({
      secretPrefix: 'stash/',
      alarmEmail: undefined,
      network: { kind: 'new', egress: 'endpoints' },
    });
  });

  it.each([
    [{ secretPrefix: 'stash/*' }, 'secretPrefix: "stash/*" must be a non-empty Secrets Manager name prefix (letters, digits and /_+=.@-), such as "stash/"; an empty prefix would let tasks read every secret of the account'],
    [{ specPrefix: 'specs' }, 'specPrefix: "specs" must be a key prefix such as "specs/": folder names ending with "/"'],
    [{ specPrefix: 'status/specs/' }, 'specPrefix: "status/specs/" overlaps "status/", which the stack uses for its own objects'],
    [{ specPrefix: 'state/' }, 'specPrefix: "state/" overlaps "state/", which the stack uses for its own objects'],
    [{ tickMinutes: '0' }, 'tickMinutes: must be a whole number of minutes from 1 to 60'],
    [{ tickMinutes: '1.5' }, 'tickMinutes: must be a whole number of minutes from 1 to 60'],
    [{ alarmEmail: 'ops' }, 'alarmEmail: "ops" is not an e-mail address'],
    [{ logRetentionDays: '10' }, 'logRetentionDays: 10 is not a retention CloudWatch Logs accepts; use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653'],
    [{ noncurrentVersionDays: '0' }, 'noncurrentVersionDays: must be a whole number of days from 1 to 3650 (a queued task may still load the version it was started for)'],
    [{ vpcId: 'vpc-1' }, 'vpcId: "vpc-1" is not a VPC id (vpc-0123abcd...)'],
    [{ vpcId: 'vpc-0abc1234', subnetIds: 'subnet-0abc1234,subnet-x' }, 'subnetIds[1]: "subnet-x" is not a subnet id (subnet-0123abcd...)'],
    [{ vpcId: 'vpc-0abc1234', subnetIds: 'subnet-0abc1234', securityGroupIds: 'default' }, 'securityGroupIds[0]: "default" is not a security group id (sg-0123abcd...)'],
    [{ vpcId: 'vpc-0abc1234', subnetIds: 'subnet-0abc1234', assignPublicIp: 'maybe' }, 'assignPublicIp: "maybe" must be true or false'],
    [{ egress: 'vpn' }, 'egress: "vpn" must be one of endpoints, nat, public'],
    [{ maxAzs: '4' }, 'maxAzs: must be a whole number of availability zones from 1 to 3'],
    [{ efsSources: 'fs-xyz' }, 'efsSources[0]: "fs-xyz" is not an EFS file system id (fs-0123abcd...)'],
    [{ efsRestoreTargets: 'efs-0123abcd' }, 'efsRestoreTargets[0]: "efs-0123abcd" is not an EFS file system id (fs-0123abcd...)'],
    [{ metricsNamespace: 'AWS/Stash' }, 'metricsNamespace: "AWS/Stash" must be a CloudWatch namespace (letters, digits and ._/#:-), not starting with "AWS/"'],
    [{ taskCpu: '1000' }, 'taskCpu: 1000 is not a Fargate CPU size; use one of 256, 512, 1024, 2048, 4096, 8192, 16384'],
    [{ taskCpu: '256', taskMemoryMiB: '4096' }, 'taskMemoryMiB: 4096 does not fit taskCpu 256; Fargate accepts 512, 1024 or 2048'],
    [{ taskCpu: '256', taskMemoryMiB: '1536' }, 'taskMemoryMiB: 1536 does not fit taskCpu 256; Fargate accepts 512, 1024 or 2048'],
    [{ taskCpu: '512', taskMemoryMiB: '512' }, 'taskMemoryMiB: 512 does not fit taskCpu 512; Fargate accepts 1024 to 4096 in steps of 1024'],
    [{ taskCpu: '8192', taskMemoryMiB: '18432' }, 'taskMemoryMiB: 18432 does not fit taskCpu 8192; Fargate accepts 16384 to 61440 in steps of 4096'],
    [{ taskCpu: '16384', taskMemoryMiB: '131072' }, 'taskMemoryMiB: 131072 does not fit taskCpu 16384; Fargate accepts 32768 to 122880 in steps of 8192'],
    [{ vpcId: 'vpc-0abc1234' }, 'subnetIds: required with vpcId: the subnets of that VPC where tasks run'],
    [{ vpcId: 'vpc-0abc1234', subnetIds: 'subnet-0abc1234', egress: 'nat' }, 'egress: applies to a new VPC only; with vpcId the routes of your subnets decide'],
    [{ vpcId: 'vpc-0abc1234', subnetIds: 'subnet-0abc1234', maxAzs: 2 }, 'maxAzs: applies to a new VPC only; with vpcId, subnetIds decide'],
    [{ subnetIds: 'subnet-0abc1234' }, 'subnetIds: given without vpcId; give the VPC the subnets belong to'],
    [{ securityGroupIds: 'sg-0abc1234' }, 'securityGroupIds: given without vpcId; they apply to an existing VPC only'],
    [{ assignPublicIp: true }, 'assignPublicIp: applies to an existing VPC only; for a new VPC use egress=public'],
    [{ vpcId: 'vpc-0abc12345', subnetIds: 'subnet-0abc1234' }, 'vpcId: "vpc-0abc12345" is not a VPC id (vpc-0123abcd...)'],
    [{ taskCpu: '2048', maxTaskCpu: '1024' }, 'maxTaskCpu: 1024 is below taskCpu 2048, the size every run starts from'],
    [{ maxTaskCpu: '3000' }, 'maxTaskCpu: 3000 is not a Fargate CPU size; use one of 256, 512, 1024, 2048, 4096, 8192, 16384'],
    [{ taskMemoryMiB: '4096', maxTaskMemoryMiB: '3072' }, 'maxTaskMemoryMiB: 3072 is below taskMemoryMiB 4096, the size every run starts from'],
    [{ specWriters: 'deployer' }, 'specWriters[0]: "deployer" is not an IAM role or user ARN (arn:aws:iam::123456789012:role/name)'],
    [{ s3RepositoryBuckets: 'My_Bucket' }, 's3RepositoryBuckets[0]: "My_Bucket" is not an S3 bucket name'],
    [{ efsFileSystemPolicies: 'sometimes' }, 'efsFileSystemPolicies: "sometimes" must be true or false'],
    [
      { efsSources: 'fs-0123abcd', efsRestoreTargets: 'fs-0123abcd' },
      'efsRestoreTargets: fs-0123abcd is also in efsSources; a source is never mounted writable, so it cannot be a repository or a restore target (see docs/deploy.md, "Restoring into a source")',
    ],
  ])('refuses %j', (input, problem) => {
    let error: unknown;
    try {
      parseStashSettings(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StashSettingsError);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as StashSettingsError).problems).toEqual([problem]);
    expect((error as Error).message).toBe(`Invalid Stash settings:\n  ${problem}`);
  });

  it('names every wrong key at once', () => {
    expect(() => parseStashSettings({ tickMinutes: 'often', egress: 'vpn', efsSources: 'fs-1' })).toThrow(
      'Invalid Stash settings:\n' +
        '  tickMinutes: must be a whole number of minutes from 1 to 60\n' +
        '  egress: "vpn" must be one of endpoints, nat, public\n' +
        '  efsSources[0]: "fs-1" is not an EFS file system id (fs-0123abcd...)',
    );
  });
});

function steps(from: number, to: number, step: number): number[] {
  return Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
}

describe('the largest task size', () => {
  it.each([
    [{}, 4096, 16384],
    [{ taskCpu: '8192', taskMemoryMiB: '32768' }, 8192, 32768],
    [{ maxTaskCpu: '1024', maxTaskMemoryMiB: '4096' }, 1024, 4096],
  ])('for %j is %i CPU units and %i MiB', (input, cpu, memory) => {
    expect(parseStashSettings(input)).toMatchObject({ maxTaskCpu: cpu, maxTaskMemoryMiB: memory });
  });
});

describe('readStashSettings', () => {
  it('reads the settings from CDK context', () => {
    const app = new App({ context: { vpcId: 'vpc-0abc1234', subnetIds: 'subnet-0abc1234', tickMinutes: '2', unrelated: 'x' } });
    const input = readStashSettings(app);
    expect(input).toMatchObject({ vpcId: 'vpc-0abc1234', subnetIds: 'subnet-0abc1234', tickMinutes: '2' });
    expect(input).not.toHaveProperty('unrelated');
    expect(parseStashSettings(input).network).toMatchObject({ kind: 'existing', subnetIds: ['subnet-0abc1234'] });
  });
});
