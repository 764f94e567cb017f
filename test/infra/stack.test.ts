import { Match, type Template } from 'aws-cdk-lib/assertions';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/stash-stack';
import { actionsOf, CDK_JSON_CONTEXT, logicalId, policyStatements, removeOutputs, resourcesOf, type Statement, synthStash, type Synthesized } from './synth';

afterAll(removeOutputs);

// One synthesis for the whole file, with real esbuild bundling of the three handlers.
let synth: Synthesized;
let template: Template;
let ids: {
  bucket: string;
  cluster: string;
  taskRole: string;
  executionRole: string;
  dispatch: string;
  record: string;
  validate: string;
  dispatchRole: string;
  recordRole: string;
  validateRole: string;
  queue: string;
  taskSecurityGroup: string;
  operatorRole: string;
};

const CONTEXT = {
  efsSources: 'fs-0123abcd',
  efsRepositories: 'fs-0456abcd',
  efsRestoreTargets: 'fs-0789abcd',
  alarmEmail: 'ops@example.com',
};

beforeAll(() => {
  synth = synthStash({ bundle: true, context: CONTEXT });
  template = synth.template();
  ids = {
    bucket: logicalId(template, 'AWS::S3::Bucket', 'ConfigBucket'),
    cluster: logicalId(template, 'AWS::ECS::Cluster', 'RunnerCluster'),
    taskRole: logicalId(template, 'AWS::IAM::Role', 'RunnerTaskRole'),
    executionRole: logicalId(template, 'AWS::IAM::Role', 'RunnerExecutionRole'),
    dispatch: logicalId(template, 'AWS::Lambda::Function', 'FunctionsDispatch'),
    record: logicalId(template, 'AWS::Lambda::Function', 'FunctionsRecord'),
    validate: logicalId(template, 'AWS::Lambda::Function', 'FunctionsValidate'),
    dispatchRole: logicalId(template, 'AWS::IAM::Role', 'FunctionsDispatchRole'),
    recordRole: logicalId(template, 'AWS::IAM::Role', 'FunctionsRecordRole'),
    validateRole: logicalId(template, 'AWS::IAM::Role', 'FunctionsValidateRole'),
    queue: logicalId(template, 'AWS::SQS::Queue', 'RulesDeadLetterQueue'),
    taskSecurityGroup: logicalId(template, 'AWS::EC2::SecurityGroup', 'NetworkTaskSecurityGroup'),
    operatorRole: logicalId(template, 'AWS::IAM::Role', 'OperatorRole'),
  };
});

const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const objects = (bucket: string, prefix: string) => ({ 'Fn::Join': ['', [arn(bucket), `/${prefix}*`]] });
const object = (bucket: string, key: string) => ({ 'Fn::Join': ['', [arn(bucket), `/${key}`]] });
const secretsUnder = (prefix: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:secret:${prefix}*`]],
});

/** The statements attached to one role. */
const statementsOf = (role: string): Statement[] => policyStatements(template).filter((p) => p.roles.includes(role)).map((p) => p.statement);

describe('synthesis', () => {
  it('bundles the three handlers with the local esbuild, as ES modules', () => {
    const assets = readdirSync(synth.outdir).filter((d) => d.startsWith('asset.'));
    const bundles = assets.filter((d) => existsSync(join(synth.outdir, d, 'index.mjs')));
    expect(bundles).toHaveLength(3);
    for (const b of bundles) {
      const code = readFileSync(join(synth.outdir, b, 'index.mjs'), 'utf8');
      expect(code).toMatch(/export\s*\{[^}]*handler/);
      expect(code).not.toContain('cloud-copilot'); // the AGPL simulator is for tests only
      expect(existsSync(join(synth.outdir, b, 'index.mjs.map'))).toBe(true);
    }
  });

  it('gives the same template when synthesized again (a cdk diff of unchanged code shows nothing)', () => {
    const again = synthStash({ bundle: true, context: CONTEXT });
    expect(again.template().toJSON()).toEqual(template.toJSON());
  });

  it('sets every feature flag a new cdk init app sets', async () => {
    const recommended = JSON.parse(readFileSync(join(PROJECT_ROOT, 'node_modules/aws-cdk-lib/recommended-feature-flags.json'), 'utf8'));
    expect(Object.keys(recommended).length).toBeGreaterThan(50);
    expect(CDK_JSON_CONTEXT).toMatchObject(recommended);
  });

  it('stages the runner image from the container directory, for linux/arm64', () => {
    const manifest = JSON.parse(readFileSync(join(synth.outdir, 'Stash.assets.json'), 'utf8')) as {
      dockerImages: Record<string, { source: { directory: string; platform?: string } }>;
    };
    const images = Object.values(manifest.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0].source.platform).toBe('linux/arm64');
    expect(existsSync(join(synth.outdir, images[0].source.directory, 'Dockerfile'))).toBe(true);
  });
});

describe('config bucket', () => {
  it('is versioned, encrypted, private, sends events to EventBridge and expires old versions', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' })]) },
    });
  });

  it('refuses requests without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('needs no custom resource for its notifications', () => {
    template.resourceCountIs('Custom::S3BucketNotifications', 0);
  });
});

describe('rules', () => {
  const target = (fn: string) =>
    Match.objectLike({
      Arn: arn(fn),
      RetryPolicy: { MaximumRetryAttempts: Match.anyValue(), MaximumEventAgeInSeconds: Match.anyValue() },
      DeadLetterConfig: { Arn: arn(ids.queue) },
    });

  it('ticks the dispatcher every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [target(ids.dispatch)],
    });
  });

  it("records STOPPED tasks of our cluster only", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: { clusterArn: [arn(ids.cluster)], lastStatus: ['STOPPED'] },
      },
      Targets: [target(ids.record)],
    });
  });

  it('validates objects created or deleted under specs/ of the config bucket', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created', 'Object Deleted'],
        detail: { bucket: { name: [{ Ref: ids.bucket }] }, object: { key: [{ prefix: 'specs/' }] } },
      },
      Targets: [target(ids.validate)],
    });
  });

  it('has exactly three rules, every target with retries and the dead-letter queue', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    expect(rules).toHaveLength(3);
    for (const rule of rules) {
      for (const t of rule.Properties.Targets as { DeadLetterConfig?: unknown; RetryPolicy?: unknown }[]) {
        expect(t.DeadLetterConfig).toEqual({ Arn: arn(ids.queue) });
        expect(t.RetryPolicy).toBeDefined();
      }
    }
  });

  it('lets EventBridge put failed deliveries in the queue, only from our rules', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ids.queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { ArnEquals: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('sends record and validate failures to the queue after Lambda retries; drops stale ticks', () => {
    for (const fn of [ids.record, ids.validate]) {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fn },
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: arn(ids.queue) } },
      });
    }
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: ids.dispatch },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });

  it('encrypts the queue and refuses it without TLS', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });
});

describe('functions', () => {
  const common = {
    CONFIG_BUCKET: { Ref: '' },
    SPEC_PREFIX: 'specs/',
    STATUS_PREFIX: 'status/',
    STATE_PREFIX: 'state/',
    RUNS_PREFIX: 'runs/',
    SECRET_PREFIX: 'stash/',
    POWERTOOLS_SERVICE_NAME: 'stash',
    POWERTOOLS_METRICS_NAMESPACE: 'Stash',
  };
  const env = (id: string) => template.findResources('AWS::Lambda::Function')[id].Properties.Environment.Variables as Record<string, unknown>;

  it('run on the latest Node.js runtime, on ARM64, each with its own log group', () => {
    expect(Runtime.NODEJS_LATEST.name).toBe('nodejs24.x');
    const functions = template.findResources('AWS::Lambda::Function');
    for (const [fn, name] of [[ids.dispatch, 'Dispatch'], [ids.record, 'Record'], [ids.validate, 'Validate']]) {
      expect(functions[fn].Properties).toMatchObject({
        Runtime: Runtime.NODEJS_LATEST.name,
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogGroup: { Ref: logicalId(template, 'AWS::Logs::LogGroup', `Functions${name}LogGroup`) } },
      });
    }
    expect(Object.keys(functions)).toHaveLength(3);
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(4);
    for (const g of groups) expect(g.Properties.RetentionInDays).toBe(90);
  });

  it('reserves a concurrency of 1 for dispatch only', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('plan'), ReservedConcurrentExecutions: 1 });
    for (const fn of [ids.record, ids.validate]) {
      expect(template.findResources('AWS::Lambda::Function')[fn].Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('give dispatch its environment', () => {
    const taskDefinition = logicalId(template, 'AWS::ECS::TaskDefinition', 'RunnerTaskDefinition');
    const runnerLogGroup = logicalId(template, 'AWS::Logs::LogGroup', 'RunnerLogGroup');
    const subnet = logicalId(template, 'AWS::EC2::Subnet', 'NetworkVpcPrivateSubnet1');
    expect(env(ids.dispatch)).toEqual({
      ...common,
      CONFIG_BUCKET: { Ref: ids.bucket },
      CLUSTER_ARN: arn(ids.cluster),
      TASK_DEFINITION_ARN: { Ref: taskDefinition },
      TASK_FAMILY: 'Stash-runner',
      CONTAINER_NAME: 'runner',
      TASK_ROLE_ARN: arn(ids.taskRole),
      EXECUTION_ROLE_ARN: arn(ids.executionRole),
      RUNNER_LOG_GROUP: { Ref: runnerLogGroup },
      SUBNET_IDS: { Ref: subnet },
      SECURITY_GROUP_IDS: { 'Fn::GetAtt': [ids.taskSecurityGroup, 'GroupId'] },
      ASSIGN_PUBLIC_IP: 'DISABLED',
      EFS_SOURCES: 'fs-0123abcd',
      EFS_REPOSITORIES: 'fs-0456abcd',
      EFS_RESTORE_TARGETS: 'fs-0789abcd',
      MAX_TASK_CPU: '4096',
      MAX_TASK_MEMORY_MIB: '16384',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('give record and validate theirs', () => {
    expect(env(ids.record)).toEqual({
      ...common,
      CONFIG_BUCKET: { Ref: ids.bucket },
      CLUSTER_ARN: arn(ids.cluster),
      CONTAINER_NAME: 'runner',
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(env(ids.validate)).toEqual({ ...common, CONFIG_BUCKET: { Ref: ids.bucket }, NODE_OPTIONS: '--enable-source-maps' });
  });
});

describe('cluster and task definition', () => {
  it('turns Container Insights on', () => {
    template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
  });

  it('defines the Fargate runner on ARM64 with its log group and the environment its entry point reads', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'Stash-runner',
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      Cpu: '1024',
      Memory: '2048',
      TaskRoleArn: arn(ids.taskRole),
      ExecutionRoleArn: arn(ids.executionRole),
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'runner',
          Essential: true,
          LogConfiguration: {
            LogDriver: 'awslogs',
            Options: Match.objectLike({ 'awslogs-group': { Ref: Match.stringLikeRegexp('^RunnerLogGroup') }, 'awslogs-stream-prefix': 'runner' }),
          },
          // Exactly what container/main.ts reads (the image names where Node and restic keep temporary files); the rest comes as RunTask overrides.
          Environment: [
            { Name: 'CONFIG_BUCKET', Value: { Ref: ids.bucket } },
            { Name: 'POWERTOOLS_SERVICE_NAME', Value: 'stash' },
            { Name: 'POWERTOOLS_METRICS_NAMESPACE', Value: 'Stash' },
          ],
        }),
      ],
    });
  });

  it("runs as the image's user on a read-only root file system, writing only to a task-local /tmp", () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Volumes: [{ Name: 'scratch' }],
      ContainerDefinitions: [
        Match.objectLike({
          User: '10001:10001',
          ReadonlyRootFilesystem: true,
          MountPoints: [{ SourceVolume: 'scratch', ContainerPath: '/tmp', ReadOnly: false }],
        }),
      ],
    });
  });
});

describe('IAM', () => {
  it('attaches no managed policy to any role', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('grants GetSecretValue (and nothing else on secrets) only under the prefix, to the task, dispatch and the operator', () => {
    const grants = policyStatements(template).filter((p) => actionsOf(p.statement).some((a) => a.startsWith('secretsmanager:')));
    expect(grants.map((g) => g.roles).flat().sort()).toEqual([ids.dispatchRole, ids.operatorRole, ids.taskRole].sort());
    for (const { statement } of grants) {
      expect(statement).toEqual({ Sid: 'ReadSecretsUnderPrefix', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretsUnder('stash/') });
    }
  });

  it('never grants the whole config bucket: every object grant is under specs/, status/, state/ or runs/', () => {
    const allowed = [
      objects(ids.bucket, 'specs/'),
      objects(ids.bucket, 'status/'),
      objects(ids.bucket, 'state/'),
      objects(ids.bucket, 'runs/'),
      object(ids.bucket, 'state/compiled-specs.json'),
      object(ids.bucket, 'state/launcher.json'),
    ];
    const onBucket = policyStatements(template).filter(({ statement }) => JSON.stringify(statement.Resource).includes(ids.bucket));
    expect(onBucket.length).toBeGreaterThan(0);
    for (const { statement } of onBucket) {
      for (const action of actionsOf(statement)) expect(action).not.toContain('*');
      for (const resource of resourcesOf(statement)) {
        if (JSON.stringify(resource) === JSON.stringify(arn(ids.bucket))) {
          expect(actionsOf(statement)).toEqual(['s3:ListBucket']);
        } else {
          expect(allowed).toContainEqual(resource);
        }
      }
    }
  });

  /** `action key-pattern` for every S3 object grant of a role, whatever statements CDK merged them into. */
  const s3Grants = (role: string) =>
    statementsOf(ids[role as keyof typeof ids])
      .flatMap((s) => resourcesOf(s).flatMap((r) => actionsOf(s).map((a) => ({ a, r: JSON.stringify(r) }))))
      .filter(({ a, r }) => a.startsWith('s3:') && r.includes('/'))
      .map(({ a, r }) => `${a} ${r.match(/\/([\w./*-]+)"\]\]\}$/)![1]}`)
      .sort();

  it.each([
    ['taskRole', ['s3:GetObject specs/*', 's3:GetObjectVersion specs/*', 's3:PutObject runs/*']],
    ['dispatchRole', ['s3:DeleteObject state/*', 's3:DeleteObject status/*', 's3:GetObject specs/*', 's3:GetObject state/*', 's3:GetObject status/*', 's3:GetObjectVersion specs/*', 's3:PutObject state/*', 's3:PutObject status/*']],
    [
      'recordRole',
      ['s3:DeleteObject status/*', 's3:GetObject runs/*', 's3:GetObject specs/*', 's3:GetObject state/compiled-specs.json', 's3:GetObject status/*', 's3:GetObjectVersion specs/*', 's3:PutObject runs/*', 's3:PutObject status/*'],
    ],
    ['validateRole', ['s3:DeleteObject status/*', 's3:GetObject specs/*', 's3:GetObject status/*', 's3:GetObjectVersion specs/*', 's3:PutObject status/*']],
    [
      'operatorRole',
      ['s3:DeleteObject specs/*', 's3:DeleteObject status/*', 's3:GetObject specs/*', 's3:GetObject state/launcher.json', 's3:GetObject status/*', 's3:GetObjectVersion specs/*', 's3:PutObject specs/*', 's3:PutObject status/*'],
    ],
  ])('gives the %s exactly its prefixes', (role, expected) => {
    expect(s3Grants(role)).toEqual([...expected].sort());
  });

  it('lets dispatch and the operator pass only our two roles, only to ECS tasks', () => {
    const passRole = policyStatements(template).filter((p) => actionsOf(p.statement).includes('iam:PassRole'));
    expect(passRole.map((p) => p.roles).flat().sort()).toEqual([ids.dispatchRole, ids.operatorRole].sort());
    for (const { statement } of passRole) {
      expect(statement).toEqual({
        Sid: 'PassOnlyOurRolesToEcsTasks',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: [arn(ids.executionRole), arn(ids.taskRole)],
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      });
    }
  });

  const taskDefinitions = (name: string) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:task-definition/${name}`]],
  });
  const withinMaxSize = { NumericLessThanEqualsIfExists: { 'ecs:task-cpu': '4096', 'ecs:task-memory': '16384' } };

  it('lets dispatch and the operator run only our families, on our cluster, no larger than the stack allows', () => {
    const runTask = policyStatements(template).filter((p) => actionsOf(p.statement).includes('ecs:RunTask'));
    expect(runTask.map((p) => p.roles).flat().sort()).toEqual([ids.dispatchRole, ids.operatorRole].sort());
    for (const { statement } of runTask) {
      expect(statement).toEqual({
        Sid: 'RunOurFamilyOnOurCluster',
        Effect: 'Allow',
        Action: 'ecs:RunTask',
        Resource: [taskDefinitions('Stash-runner-*'), taskDefinitions('Stash-runner:*')],
        Condition: { ArnEquals: { 'ecs:cluster': arn(ids.cluster) }, ...withinMaxSize },
      });
    }
  });

  it('lets them register only our volume-set families, no larger than the stack allows', () => {
    const register = policyStatements(template).filter((p) => actionsOf(p.statement).includes('ecs:RegisterTaskDefinition'));
    expect(register.map((p) => p.roles).flat().sort()).toEqual([ids.dispatchRole, ids.operatorRole].sort());
    for (const { statement } of register) {
      expect(statement).toEqual({
        Sid: 'RegisterOurVolumeSetFamilies',
        Effect: 'Allow',
        Action: 'ecs:RegisterTaskDefinition',
        Resource: taskDefinitions('Stash-runner-*'),
        Condition: withinMaxSize,
      });
    }
  });

  it('uses Resource "*" only for actions that have no resource-level permissions, or under a cluster condition', () => {
    const star = policyStatements(template).filter(({ statement }) => resourcesOf(statement).includes('*'));
    const actions = [...new Set(star.flatMap(({ statement }) => actionsOf(statement)))].sort();
    expect(actions).toEqual(['ecr:GetAuthorizationToken', 'ecs:DeregisterTaskDefinition', 'ecs:DescribeTaskDefinition', 'ecs:ListTaskDefinitions', 'ecs:ListTasks']);
    for (const listTasks of star.filter(({ statement }) => actionsOf(statement).includes('ecs:ListTasks'))) {
      expect(listTasks.statement.Condition).toEqual({ ArnEquals: { 'ecs:cluster': arn(ids.cluster) } });
    }
    const unconditioned = ['ecs:RunTask', 'ecs:RegisterTaskDefinition', 'secretsmanager:GetSecretValue', 'elasticfilesystem:ClientWrite'];
    for (const { statement } of star) expect(actionsOf(statement).filter((a) => unconditioned.includes(a))).toEqual([]);
  });

  it('lets the task mount sources without write, repositories and restore targets with it', () => {
    const efs = (fs: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':elasticfilesystem:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:file-system/${fs}`]],
    });
    const viaMountTarget = { Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' } };
    const statements = statementsOf(ids.taskRole).filter((s) => actionsOf(s).some((a) => a.startsWith('elasticfilesystem:')));
    expect(statements).toEqual([
      {
        Sid: 'MountEfsSources',
        Effect: 'Allow',
        Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientRootAccess'],
        Resource: efs('fs-0123abcd'),
        Condition: viaMountTarget,
      },
      {
        Sid: 'MountEfsRepositoriesAndRestoreTargets',
        Effect: 'Allow',
        Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientRootAccess', 'elasticfilesystem:ClientWrite'],
        Resource: [efs('fs-0456abcd'), efs('fs-0789abcd')],
        Condition: viaMountTarget,
      },
    ]);
  });

  it('lets the execution role pull the image and write the runner log group, nothing else', () => {
    const actions = statementsOf(ids.executionRole).flatMap(actionsOf).sort();
    expect(actions).toEqual([
      'ecr:BatchCheckLayerAvailability',
      'ecr:BatchGetImage',
      'ecr:GetAuthorizationToken',
      'ecr:GetDownloadUrlForLayer',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
  });

  it('gives record nothing on ECS or secrets: the stopped task comes in the event', () => {
    const actions = statementsOf(ids.recordRole).flatMap(actionsOf);
    expect(actions.filter((a) => a.startsWith('ecs:') || a.startsWith('secretsmanager:'))).toEqual([]);
  });

  it('lets anyone of the account assume the operator role whom their own IAM policies allow', () => {
    expect(template.findResources('AWS::IAM::Role')[ids.operatorRole].Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
      },
    ]);
  });
});

describe('the config bucket boundary', () => {
  const denyWritesUnless = (prefix: string, writers: unknown[]) =>
    Match.objectLike({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: ['s3:DeleteObject*', 's3:PutObject*'],
      Resource: objects(ids.bucket, prefix),
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': writers } },
    });

  it.each([
    ['specs/', () => [arn(ids.operatorRole)]],
    ['status/', () => [arn(ids.dispatchRole), arn(ids.recordRole), arn(ids.validateRole), arn(ids.operatorRole)]],
    ['state/', () => [arn(ids.dispatchRole)]],
    ['runs/', () => [arn(ids.taskRole), arn(ids.recordRole)]],
  ])('lets only its writers write or delete under %s', (prefix, writers) => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids.bucket },
      PolicyDocument: { Statement: Match.arrayWith([denyWritesUnless(prefix, writers())]) },
    });
  });
}); 

describe('network (default: new VPC, no NAT gateway)', () => {
  it('uses private isolated subnets with the endpoints the tasks need', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.objectLike({}) });
    const interfaces = Object.values(template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } }));
    const services = interfaces.map((e) => JSON.stringify(e.Properties.ServiceName).match(/\.(ecr\.api|ecr\.dkr|logs|secretsmanager)"/)?.[1]);
    expect(services.sort()).toEqual(['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager']);
  });

  it('opens the endpoints to the task security group only, and nothing to the tasks', () => {
    const endpointGroup = logicalId(template, 'AWS::EC2::SecurityGroup', 'NetworkEndpointSecurityGroup');
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [endpointGroup, 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [ids.taskSecurityGroup, 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
    });
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
    const taskGroup = template.findResources('AWS::EC2::SecurityGroup')[ids.taskSecurityGroup];
    expect(taskGroup.Properties.SecurityGroupIngress).toBeUndefined();
  });

  it('logs rejected traffic', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT', LogDestinationType: 'cloud-watch-logs' });
  });
});

describe('observability', () => {
  const metricAlarm = (metricName: string, statistic: string) => ({
    Namespace: 'Stash',
    MetricName: metricName,
    Dimensions: [{ Name: 'service', Value: 'stash' }],
    Statistic: statistic,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    AlarmActions: [{ Ref: Match.stringLikeRegexp('^ObservabilityAlarmTopic') }],
  });

  it('alarms on failed runs, overdue specs, dispatch errors, dead letters, failed launches and checks, and a tick that stopped', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 7);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { ...metricAlarm('LaunchesFailed', 'Sum'), Period: 60, EvaluationPeriods: 1 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { ...metricAlarm('ChecksFailed', 'Sum'), Period: 60, EvaluationPeriods: 1 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...metricAlarm('Ticks', 'Sum'),
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      Period: 60,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', metricAlarm('BackupFailed', 'Sum'));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', metricAlarm('OverdueSpecs', 'Maximum'));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: ids.dispatch } }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^ObservabilityAlarmTopic') }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.queue, 'QueueName'] } }],
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^ObservabilityAlarmTopic') }],
    });
  });

  it('encrypts the topic with a rotated key CloudWatch may use, and subscribes the e-mail', () => {
    const key = logicalId(template, 'AWS::KMS::Key', 'ObservabilityTopicKey');
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arn(key) });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('has a dashboard with runs by outcome, duration, bytes added, overdue specs and launches throttled', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0].Properties.DashboardBody);
    for (const title of ['Runs by outcome', 'Run duration (ms)', 'Bytes added', 'Overdue specs', 'Launches throttled']) {
      expect(body).toContain(title);
    }
    for (const metric of ['BackupSucceeded', 'BackupFailed', 'BackupDuration', 'BytesAdded', 'OverdueSpecs', 'LaunchesThrottled']) {
      expect(body).toContain(`\\"Stash\\",\\"${metric}\\",\\"service\\",\\"stash\\"`);
    }
  });

  it('saves the three Logs Insights queries over the runner log group', () => {
    const runnerLogGroup = { Ref: logicalId(template, 'AWS::Logs::LogGroup', 'RunnerLogGroup') };
    template.resourceCountIs('AWS::Logs::QueryDefinition', 3);
    template.hasResourceProperties('AWS::Logs::QueryDefinition', {
      Name: 'Stash/failed runs, last 24 h',
      LogGroupNames: [runnerLogGroup],
      QueryString: Match.stringLikeRegexp('filter ispresent\\(outcome\\) and outcome != "succeeded"'),
    });
    template.hasResourceProperties('AWS::Logs::QueryDefinition', {
      Name: "Stash/one spec's runs",
      LogGroupNames: Match.arrayWith([runnerLogGroup]),
      QueryString: Match.stringLikeRegexp('filter spec = '),
    });
    template.hasResourceProperties('AWS::Logs::QueryDefinition', {
      Name: 'Stash/bytes added by spec',
      LogGroupNames: [runnerLogGroup],
      QueryString: Match.stringLikeRegexp('stats sum\\(dataAdded\\) as bytesAdded.* by spec'),
    });
  });
});

describe('template', () => {
  it('holds no secret value: no Secrets Manager secret, no password or key in any environment', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/RESTIC_PASSWORD|AWS_SECRET_ACCESS_KEY|AZURE_ACCOUNT_KEY|B2_ACCOUNT_KEY|GOOGLE_SERVICE_ACCOUNT_JSON_KEY/);
  });
});
