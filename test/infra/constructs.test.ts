/**
 * The stack's pieces on their own: what each grant method gives and nothing more, and what
 * each construct refuses before it builds anything.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigBucket } from '../../infra/config-bucket';
import { EfsFileSystemPolicies, efsFileSystemPolicy } from '../../infra/efs-file-system-policies';
import { Functions } from '../../infra/functions';
import { StashMetrics } from '../../infra/metrics';
import { Network } from '../../infra/network';
import { Rules } from '../../infra/rules';
import { Runner, type RunnerProps } from '../../infra/runner';
import { RunnerTaskDefinition } from '../../infra/runner-task-definition';
import { RunnerTaskRole } from '../../infra/runner-task-role';
import { StashAlarm } from '../../infra/stash-alarm';
import { PROJECT_ROOT } from '../../infra/stash-stack';
import { CDK_JSON_CONTEXT, logicalId } from './synth';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** A stack with the config bucket, a new VPC and the runner: what the functions are built on. */
function base(runner: Partial<RunnerProps> = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'stash-constructs-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, [BUNDLING_STACKS]: [] } });
  const stack = new Stack(app, 'Test');
  const configBucket = new ConfigBucket(stack, 'Config');
  const network = new Network(stack, 'Network');
  const built = new Runner(stack, 'Runner', { vpc: network.vpc, configBucket, imageDirectory: join(PROJECT_ROOT, 'container'), ...runner });
  return { stack, configBucket, network, runner: built };
}

const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const accountArn = (service: string, resource: unknown[]) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ...resource]],
});

describe('Runner grants', () => {
  type Grant = 'grantRunTask' | 'grantDescribeTasks' | 'grantListTasks' | 'grantRegisterRevisions' | 'grantPassRoles';

  /** The statements a fresh role holds after one grant, with the cluster's and roles' logical ids. */
  function grantedBy(grant: Grant) {
    const { stack, runner } = base();
    const role = new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    runner[grant](role);
    const template = Template.fromStack(stack);
    const grantee = logicalId(template, 'AWS::IAM::Role', 'Grantee');
    const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: grantee }] } }));
    expect(policies).toHaveLength(1);
    return {
      statements: policies[0].Properties.PolicyDocument.Statement as unknown[],
      cluster: logicalId(template, 'AWS::ECS::Cluster', 'RunnerCluster'),
      taskRole: logicalId(template, 'AWS::IAM::Role', 'RunnerTaskRole'),
      executionRole: logicalId(template, 'AWS::IAM::Role', 'RunnerExecutionRole'),
    };
  }

  type Ids = ReturnType<typeof grantedBy>;
  it.each<[Grant, string, (ids: Ids) => unknown]>([
    [
      'grantRunTask',
      'RunTask of our two family patterns, on our cluster only',
      ({ cluster }) => ({
        Sid: 'RunOurFamilyOnOurCluster',
        Effect: 'Allow',
        Action: 'ecs:RunTask',
        Resource: [accountArn('ecs', [':task-definition/Test-runner-*']), accountArn('ecs', [':task-definition/Test-runner:*'])],
        Condition: { ArnEquals: { 'ecs:cluster': arn(cluster) }, NumericLessThanEqualsIfExists: { 'ecs:task-cpu': '4096', 'ecs:task-memory': '16384' } },
      }),
    ],
    [
      'grantDescribeTasks',
      "DescribeTasks of our cluster's tasks only",
      ({ cluster }) => ({
        Sid: 'DescribeOurTasks',
        Effect: 'Allow',
        Action: 'ecs:DescribeTasks',
        Resource: accountArn('ecs', [':task/', { Ref: cluster }, '/*']),
        Condition: { ArnEquals: { 'ecs:cluster': arn(cluster) } },
      }),
    ],
    [
      'grantListTasks',
      'ListTasks under the cluster condition',
      ({ cluster }) => ({ Sid: 'ListTasksOfOurCluster', Effect: 'Allow', Action: 'ecs:ListTasks', Resource: '*', Condition: { ArnEquals: { 'ecs:cluster': arn(cluster) } } }),
    ],
    [
      'grantRegisterRevisions',
      'registering our volume-set families up to the largest size, and reading, listing and retiring task definitions, which take no resource',
      () => [
        {
          Sid: 'RegisterOurVolumeSetFamilies',
          Effect: 'Allow',
          Action: 'ecs:RegisterTaskDefinition',
          Resource: accountArn('ecs', [':task-definition/Test-runner-*']),
          Condition: { NumericLessThanEqualsIfExists: { 'ecs:task-cpu': '4096', 'ecs:task-memory': '16384' } },
        },
        {
          Sid: 'ReadAndRetireTaskDefinitions',
          Effect: 'Allow',
          Action: ['ecs:DeregisterTaskDefinition', 'ecs:DescribeTaskDefinition', 'ecs:ListTaskDefinitions'],
          Resource: '*',
        },
      ],
    ],
    [
      'grantPassRoles',
      'our task and execution roles, to ECS tasks only',
      ({ taskRole, executionRole }) => ({
        Sid: 'PassOnlyOurRolesToEcsTasks',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: [arn(executionRole), arn(taskRole)],
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    ],
  ])('%s gives %s, and nothing else', (grant, _what, expected) => {
    const ids = grantedBy(grant);
    expect(ids.statements).toEqual([expected(ids)].flat());
  });
});

describe('RunnerTaskDefinition', () => {
  it('takes its size from the props', () => {
    const { stack } = base({ cpu: 256, memoryLimitMiB: 2048 });
    Template.fromStack(stack).hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '256', Memory: '2048' });
  });

  it.each([
    [256, 1536, 'RunnerTaskDefinition: 256 CPU units with 1536 MiB is not a Fargate size; with 256 CPU units Fargate accepts 512, 1024 or 2048'],
    [1024, 1024, 'RunnerTaskDefinition: 1024 CPU units with 1024 MiB is not a Fargate size; with 1024 CPU units Fargate accepts 2048 to 8192 in steps of 1024'],
    [1000, 2048, 'RunnerTaskDefinition: 1000 CPU units with 2048 MiB is not a Fargate size; with 1000 CPU units Fargate accepts nothing'],
  ])('refuses %i CPU units with %i MiB', (cpu, memoryLimitMiB, message) => {
    const stack = new Stack();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    expect(
      () =>
        new RunnerTaskDefinition(stack, 'TaskDefinition', {
          family: 'f',
          taskRole: role,
          executionRole: role,
          logGroup: new logs.LogGroup(stack, 'Logs'),
          configBucketName: 'b',
          cpu,
          memoryLimitMiB,
        }),
    ).toThrow(message);
    expect(stack.node.tryFindChild('TaskDefinition')).toBeUndefined();
  });
});

describe('RunnerTaskRole', () => {
  it.each([
    [{ efsSources: ['fs-nope'] }, 'RunnerTaskRole: "fs-nope" is not an EFS file system id (fs-0123abcd...)'],
    [{ efsRestoreTargets: ['efs-0123abcd'] }, 'RunnerTaskRole: "efs-0123abcd" is not an EFS file system id (fs-0123abcd...)'],
    [{ secretPrefix: '' }, 'secretPrefix "" must be a non-empty Secrets Manager name prefix'],
    [{ secretPrefix: 'stash/*' }, 'secretPrefix "stash/*" must be a non-empty Secrets Manager name prefix'],
  ])('refuses %j', (props, message) => {
    const stack = new Stack();
    const configBucket = new ConfigBucket(stack, 'Config');
    expect(() => new RunnerTaskRole(stack, 'TaskRole', { configBucket, ...props })).toThrow(message);
    expect(stack.node.tryFindChild('TaskRole')).toBeUndefined();
  });

  it('keeps each role of EFS file system once', () => {
    const stack = new Stack();
    const role = new RunnerTaskRole(stack, 'TaskRole', {
      configBucket: new ConfigBucket(stack, 'Config'),
      efsSources: ['fs-0123abcd', 'fs-0123abcd'],
      efsRepositories: ['fs-0456abcd'],
      efsRestoreTargets: ['fs-0456abcd', 'fs-0789abcd'],
    });
    expect([role.efsSources, role.efsRepositories, role.efsRestoreTargets]).toEqual([['fs-0123abcd'], ['fs-0456abcd'], ['fs-0456abcd', 'fs-0789abcd']]);
  });

  it('refuses a source that is also a repository or a restore target', () => {
    const stack = new Stack();
    expect(
      () => new RunnerTaskRole(stack, 'TaskRole', { configBucket: new ConfigBucket(stack, 'Config'), efsSources: ['fs-0123abcd'], efsRestoreTargets: ['fs-0123abcd'] }),
    ).toThrow('RunnerTaskRole: fs-0123abcd cannot be both a source and a repository or restore target: a source is never mounted writable');
  });
});

describe('the tick length', () => {
  it.each([0, 61, 1.5])('is refused by the functions at %s minutes', (tickMinutes) => {
    const { stack, configBucket, network, runner } = base();
    expect(() => new Functions(stack, 'Functions', { projectRoot: PROJECT_ROOT, configBucket, runner, network, tickMinutes })).toThrow(
      `tickMinutes ${tickMinutes} must be a whole number of minutes from 1 to 60`,
    );
  });

  it.each([0, 61, 1.5])('is refused by the rules at %s minutes', (tickMinutes) => {
    const { stack, configBucket, network, runner } = base();
    const functions = new Functions(stack, 'Functions', { projectRoot: PROJECT_ROOT, configBucket, runner, network });
    expect(() => new Rules(stack, 'Rules', { functions, configBucket, cluster: runner.cluster, tickMinutes })).toThrow(
      `tickMinutes ${tickMinutes} must be a whole number of minutes from 1 to 60`,
    );
  });

  it('sets the dispatch timeout and the tick rate', () => {
    const { stack, configBucket, network, runner } = base();
    const functions = new Functions(stack, 'Functions', { projectRoot: PROJECT_ROOT, configBucket, runner, network, tickMinutes: 5 });
    new Rules(stack, 'Rules', { functions, configBucket, cluster: runner.cluster, tickMinutes: 5 });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', ReservedConcurrentExecutions: 1, Timeout: 298 });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
  });
});

describe('StashAlarm', () => {
  it('fires at 1 in one period, ignores missing data, and notifies the topic on alarm and on OK', () => {
    const stack = new Stack();
    const topic = new sns.Topic(stack, 'Topic');
    new StashAlarm(stack, 'Alarm', { topic, metric: new StashMetrics('Backups').metric('BackupFailed', 'Sum'), description: 'A backup run failed.' });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Backups',
      MetricName: 'BackupFailed',
      Dimensions: [{ Name: 'service', Value: 'stash' }],
      Statistic: 'Sum',
      Period: 300,
      AlarmDescription: 'A backup run failed.',
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
    });
  });
});

describe('the EFS file-system policy', () => {
  it('is the one docs/deploy.md tells users to apply', () => {
    const guide = readFileSync(join(PROJECT_ROOT, 'docs/deploy.md'), 'utf8');
    const block = /Replace the account id[\s\S]*?```json\n([\s\S]*?)```/.exec(guide)?.[1];
    expect(JSON.parse(block!)).toEqual(efsFileSystemPolicy('arn:aws:iam::111122223333:root', '<RunnerTaskRoleArn>', true));
  });

  it('is applied by the stack to each named file system when asked, denying the runner writes on sources only', () => {
    const { stack, runner } = base({ efsSources: ['fs-0123abcd'], efsRepositories: ['fs-0456abcd'] });
    new EfsFileSystemPolicies(stack, 'Policies', { sources: runner.efsSources, writable: runner.efsRepositories, taskRole: runner.taskRole });
    const template = Template.fromStack(stack);
    const calls = Object.values(template.findResources('Custom::AWS')).map((r) => JSON.stringify(r.Properties.Create));
    expect(calls).toHaveLength(2);
    expect(calls[0]).toContain('putFileSystemPolicy');
    expect(calls[0]).toContain('fs-0123abcd');
    expect(calls[0]).toContain('StashNeverWritesThisSource');
    expect(calls[1]).toContain('fs-0456abcd');
    expect(calls[1]).not.toContain('StashNeverWritesThisSource');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'elasticfilesystem:PutFileSystemPolicy' })] },
    });
  });
});

describe('StashMetrics', () => {
  it.each(['AWS/Lambda', '', 'with space'])('refuses the namespace %j', (namespace) => {
    expect(() => new StashMetrics(namespace)).toThrow(
      `StashMetrics: namespace ${JSON.stringify(namespace)} must be a CloudWatch namespace (letters, digits and ._/#:-), not starting with "AWS/"`,
    );
  });
});
