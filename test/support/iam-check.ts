/**
 * Least privilege, from both sides: the AWS calls a test captured (`aws-calls.ts`) are turned
 * into the IAM requests AWS authorizes for them, and each is evaluated with
 * `@cloud-copilot/iam-simulate` against the policies the synthesized template gives the
 * component that made it (its role's policies, and the config bucket's policy for calls on
 * the bucket). Every request must be Allowed; the statements that allowed them are returned,
 * so a test can tell which statements no call used.
 *
 * iam-simulate is AGPL-3.0: only the tests load it (see test/unit/licenses.test.ts).
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { AwsCall, Component } from './aws-calls';
import { ACCOUNT, REGION, type PolicyDocument, type StackTemplate } from './stack-template';

/** One request IAM authorizes. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
}

/** Where the stack's roles are, and what a call's resources stand for. */
export interface IamCheckOptions {
  /** The role logical id of each component. */
  readonly roles: Readonly<Record<Component, string>>;
  /** Buckets the tests used as the stack's config bucket (one per test, say). */
  readonly configBuckets: (bucket: string) => boolean;
  /** The roles RunTask passes to the task (the task definition's task and execution roles). */
  readonly passedRoles: readonly string[];
}

const ecsArn = (resource: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:${resource}`;
const taskDefinitionArn = (td: string) => (td.startsWith('arn:') ? td : ecsArn(`task-definition/${td.includes(':') ? td : `${td}:1`}`));
const clusterName = (cluster: unknown) => String(cluster ?? 'default').split('/').pop();

/** The IAM requests one call is authorized as. */
export function iamRequests(call: AwsCall, options: IamCheckOptions, bucketName: string): IamRequest[] {
  const input = call.input as Record<string, never>;
  if (call.service === 's3') {
    const bucket = options.configBuckets(input.Bucket) ? bucketName : String(input.Bucket);
    const object = `arn:aws:s3:::${bucket}/${input.Key}`;
    const listBucket = { action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}` };
    switch (call.operation) {
      case 'GetObject':
      case 'HeadObject':
        // S3 answers 404 for a missing key only to a caller that may list the bucket.
        return [{ action: input.VersionId ? 's3:GetObjectVersion' : 's3:GetObject', resource: object }, ...(call.status === 404 ? [listBucket] : [])];
      case 'PutObject':
        return [{ action: 's3:PutObject', resource: object }];
      case 'DeleteObject':
        return [{ action: input.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: object }];
      case 'ListObjectsV2':
        return [{ ...listBucket, context: { 's3:prefix': String(input.Prefix ?? '') } }];
    }
  }
  if (call.service === 'secretsmanager' && call.operation === 'GetSecretValue') {
    const id = String(input.SecretId);
    return [{ action: 'secretsmanager:GetSecretValue', resource: call.arn ?? (id.startsWith('arn:') ? id : `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`) }];
  }
  if (call.service === 'ecs') {
    const cluster = { 'ecs:cluster': String(input.cluster) };
    const size = (cpu: unknown, memory: unknown) => ({ ...(cpu ? { 'ecs:task-cpu': String(cpu) } : {}), ...(memory ? { 'ecs:task-memory': String(memory) } : {}) });
    switch (call.operation) {
      case 'RunTask': {
        const overrides = (input.overrides ?? {}) as { cpu?: string; memory?: string };
        return [
          { action: 'ecs:RunTask', resource: taskDefinitionArn(input.taskDefinition), context: { ...cluster, ...size(overrides.cpu, overrides.memory) } },
          ...options.passedRoles.map((role) => ({ action: 'iam:PassRole', resource: role, context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } })),
        ];
      }
      case 'ListTasks':
        return [{ action: 'ecs:ListTasks', resource: ecsArn(`container-instance/${clusterName(input.cluster)}/any`), context: cluster }];
      case 'DescribeTasks':
        return (input.tasks as string[]).map((task) => ({ action: 'ecs:DescribeTasks', resource: task, context: cluster }));
      case 'RegisterTaskDefinition':
        return [{ action: 'ecs:RegisterTaskDefinition', resource: taskDefinitionArn(input.family), context: size(input.cpu, input.memory) }];
      case 'DescribeTaskDefinition':
      case 'ListTaskDefinitions':
      case 'DeregisterTaskDefinition':
        return [{ action: `ecs:${call.operation}`, resource: '*' }];
    }
  }
  throw new Error(`no IAM request known for ${call.service}:${call.operation}; add it to iam-check.ts`);
}

/** A statement of a component's identity policies: where it is and what it says. */
export interface GrantedStatement {
  readonly component: Component;
  /** `<policy logical id>#<index>`. */
  readonly id: string;
  readonly statement: Record<string, unknown>;
}

/** The statements of each component's identity policies, each with a unique Sid for tracking. */
export function componentStatements(stack: StackTemplate, options: IamCheckOptions): GrantedStatement[] {
  return (Object.entries(options.roles) as [Component, string][]).flatMap(([component, role]) =>
    stack.rolePolicies(role).flatMap(({ name, document }) => document.Statement.map((statement, i) => ({ component, id: `${name}#${i}`, statement }))),
  );
}

/** What the evaluation found. */
export interface IamCheck {
  /** Requests that were not Allowed, each with the call it came from. */
  readonly refused: string[];
  /** The ids ({@link GrantedStatement.id}) of the statements that allowed some request. */
  readonly used: Set<string>;
  /** How many requests were evaluated. */
  readonly evaluated: number;
}

const sid = (id: string) => id.replace(/[^A-Za-z0-9]/g, 'X');

/** Evaluates every call against the template's policies for its component. */
export async function checkCalls(stack: StackTemplate, calls: readonly AwsCall[], options: IamCheckOptions): Promise<IamCheck> {
  const statements = componentStatements(stack, options);
  const bySid = new Map(statements.map((s) => [sid(s.id), s.id]));
  const policies = new Map<Component, Simulation['identityPolicies']>();
  for (const component of Object.keys(options.roles) as Component[]) {
    const own = statements.filter((s) => s.component === component);
    const names = [...new Set(own.map((s) => s.id.split('#')[0]))];
    policies.set(
      component,
      names.map((name) => ({
        name,
        policy: { Version: '2012-10-17', Statement: own.filter((s) => s.id.startsWith(`${name}#`)).map((s) => ({ ...s.statement, Sid: sid(s.id) })) },
      })) as Simulation['identityPolicies'],
    );
  }
  const bucketPolicy = stack.resourcePolicy('AWS::S3::BucketPolicy', stack.logicalId('AWS::S3::Bucket', 'ConfigBucket'));
  const refused: string[] = [];
  const used = new Set<string>();
  let evaluated = 0;
  const seen = new Set<string>();
  for (const call of calls) {
    const principal = stack.roleArn(options.roles[call.component]);
    for (const request of iamRequests(call, options, stack.bucketName)) {
      const key = JSON.stringify([call.component, request]);
      if (seen.has(key)) continue;
      seen.add(key);
      evaluated++;
      const onBucket = request.resource.startsWith(`arn:aws:s3:::${stack.bucketName}`);
      const simulation: Simulation = {
        request: {
          principal,
          action: request.action,
          resource: { resource: request.resource, accountId: ACCOUNT },
          contextVariables: { 'aws:SecureTransport': 'true', 'aws:PrincipalArn': principal, 'aws:PrincipalAccount': ACCOUNT, ...request.context },
        },
        identityPolicies: policies.get(call.component)!,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: (onBucket ? bucketPolicy : undefined) as PolicyDocument as Simulation['resourcePolicy'],
      };
      const result = await runSimulation(simulation, {});
      const what = `${call.component}: ${request.action} on ${request.resource} (${call.service}:${call.operation})`;
      if (result.resultType === 'error') throw new Error(`${what}: ${JSON.stringify(result.errors)}`);
      if (result.overallResult !== 'Allowed') {
        refused.push(`${what}: ${result.overallResult}`);
        continue;
      }
      const results = result.resultType === 'single' ? [result.result] : result.results;
      for (const r of results) {
        for (const allow of r.analysis?.identityAnalysis?.allowStatements ?? []) {
          const id = bySid.get(String((allow as { explain?: { identifier?: string } }).explain?.identifier));
          if (!id) throw new Error(`${what}: allowed by a statement not of the template (${JSON.stringify(allow).slice(0, 200)})`);
          used.add(id);
        }
      }
    }
  }
  return { refused, used, evaluated };
}
