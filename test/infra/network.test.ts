import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { StashSettingsError } from '../../infra/config';
import { logicalId, removeOutputs, synthStash } from './synth';

afterAll(removeOutputs);

const dispatchEnv = (synth: ReturnType<typeof synthStash>) => {
  const template = synth.template();
  const id = logicalId(template, 'AWS::Lambda::Function', 'FunctionsDispatch');
  return template.findResources('AWS::Lambda::Function')[id].Properties.Environment.Variables as Record<string, unknown>;
};

describe('an existing VPC (-c vpcId=... -c subnetIds=...)', () => {
  const synth = synthStash({
    context: {
      vpcId: 'vpc-0abc1234',
      subnetIds: 'subnet-0abc1234,subnet-0def5678',
      securityGroupIds: 'sg-0abc1234',
      assignPublicIp: 'true',
    },
  });

  it('creates no VPC, endpoint or NAT gateway', () => {
    const template = synth.template();
    for (const type of ['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::VPCEndpoint', 'AWS::EC2::NatGateway', 'AWS::EC2::FlowLog']) {
      template.resourceCountIs(type, 0);
    }
  });

  it('puts the task security group in that VPC', () => {
    synth.template().hasResourceProperties('AWS::EC2::SecurityGroup', {
      VpcId: 'vpc-0abc1234',
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: '-1' }],
    });
  });

  it('tells the dispatcher the subnets, both security groups and the public IP choice', () => {
    const env = dispatchEnv(synth);
    const taskGroup = logicalId(synth.template(), 'AWS::EC2::SecurityGroup', 'NetworkTaskSecurityGroup');
    expect(env.SUBNET_IDS).toBe('subnet-0abc1234,subnet-0def5678');
    expect(env.SECURITY_GROUP_IDS).toEqual({ 'Fn::Join': [',', [{ 'Fn::GetAtt': [taskGroup, 'GroupId'] }, 'sg-0abc1234']] });
    expect(env.ASSIGN_PUBLIC_IP).toBe('ENABLED');
    expect([env.EFS_SOURCES, env.EFS_REPOSITORIES, env.EFS_RESTORE_TARGETS]).toEqual(['', '', '']);
  });
});

describe('a new VPC with -c egress=nat', () => {
  const synth = synthStash({ context: { egress: 'nat', maxAzs: '2' } });

  it('has one NAT gateway, private subnets with egress, and only the free S3 endpoint', () => {
    const template = synth.template();
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
    const env = dispatchEnv(synth);
    expect(env.ASSIGN_PUBLIC_IP).toBe('DISABLED');
    const private1 = logicalId(template, 'AWS::EC2::Subnet', 'NetworkVpcPrivateSubnet1');
    const private2 = logicalId(template, 'AWS::EC2::Subnet', 'NetworkVpcPrivateSubnet2');
    expect(env.SUBNET_IDS).toEqual({ 'Fn::Join': [',', [{ Ref: private1 }, { Ref: private2 }]] });
  });
});

describe('a new VPC with -c egress=public', () => {
  const synth = synthStash({ context: { egress: 'public' } });

  it('has public subnets, no NAT gateway, and gives tasks a public IP', () => {
    const template = synth.template();
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    const env = dispatchEnv(synth);
    expect(env.ASSIGN_PUBLIC_IP).toBe('ENABLED');
    expect(env.SUBNET_IDS).toEqual({ Ref: logicalId(template, 'AWS::EC2::Subnet', 'NetworkVpcPublicSubnet1') });
  });
});

describe('other settings reach the template', () => {
  const synth = synthStash({
    context: {
      secretPrefix: 'backup/',
      specPrefix: 'config/specs/',
      tickMinutes: '5',
      logRetentionDays: '30',
      noncurrentVersionDays: '7',
      metricsNamespace: 'Backups',
      taskCpu: '512',
      taskMemoryMiB: '2048',
    },
  });

  it('scopes secrets to the prefix and watches the spec prefix', () => {
    const template = synth.template();
    const text = JSON.stringify(template.toJSON());
    expect(text).toContain(':secret:backup/*');
    expect(text).not.toContain(':secret:stash/');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ detail: Match.objectLike({ object: { key: [{ prefix: 'config/specs/' }] } }) }),
    });
    expect(dispatchEnv(synth)).toMatchObject({ SECRET_PREFIX: 'backup/', SPEC_PREFIX: 'config/specs/', POWERTOOLS_METRICS_NAMESPACE: 'Backups' });
  });

  it('ticks every 5 minutes and lets a dispatch run almost that long', () => {
    const template = synth.template();
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1, Timeout: 298 });
  });

  it('applies retention, version expiry, namespace and task size', () => {
    const template = synth.template();
    for (const g of Object.values(template.findResources('AWS::Logs::LogGroup'))) expect(g.Properties.RetentionInDays).toBe(30);
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 7 } }), { Id: 'expire-run-history', Prefix: 'runs/', ExpirationInDays: 30, Status: 'Enabled' }],
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'Backups', MetricName: 'BackupFailed' });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '512', Memory: '2048' });
  });

  it('has no e-mail subscription unless asked', () => {
    synth.template().resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('a wrong setting', () => {
  it('fails synthesis naming the key and the reason', () => {
    expect(() => synthStash({ context: { vpcId: 'vpc-0abc1234', subnetIds: 'subnet-1' } })).toThrow(
      new StashSettingsError(['subnetIds[0]: "subnet-1" is not a subnet id (subnet-0123abcd...)']),
    );
  });
});
