/**
 * A synthesized Stash template read as a deployed stack would be: every `Ref`, `Fn::GetAtt`,
 * `Fn::Join` and `Fn::Sub` resolved to a concrete value in one test account and region, so
 * that its policies can be evaluated and its environments used as they are.
 *
 * Physical names are the logical ids (a role `FunctionsDispatchRoleEFCAB3B3` has the ARN
 * `arn:aws:iam::123456789012:role/FunctionsDispatchRoleEFCAB3B3`); the config bucket gets the
 * name the test gives it.
 */

/** moto's account and the region the tests use. */
export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
const PARTITION = 'aws';

/** A CloudFormation template, as `Template.toJSON()` gives it. */
export interface CfnTemplate {
  readonly Resources: Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Record<string, unknown>[];
}

/** A template with its names resolved. */
export class StackTemplate {
  constructor(
    readonly template: CfnTemplate,
    /** The config bucket's name in this test. */
    readonly bucketName: string,
  ) {}

  /** The logical id of the one resource of `type` whose id starts with `prefix`. */
  logicalId(type: string, prefix: string): string {
    const ids = Object.entries(this.template.Resources)
      .filter(([id, r]) => r.Type === type && id.startsWith(prefix))
      .map(([id]) => id);
    if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
    return ids[0];
  }

  /** The properties of a resource, resolved. */
  properties(logicalId: string): Record<string, unknown> {
    return this.resolve(this.template.Resources[logicalId].Properties ?? {}) as Record<string, unknown>;
  }

  /** The ARN of a role. */
  roleArn(logicalId: string): string {
    return this.getAtt(logicalId, 'Arn');
  }

  /** Every identity policy attached to a role (AWS::IAM::Policy and managed policies), resolved, by logical id. */
  rolePolicies(roleId: string): { name: string; document: PolicyDocument }[] {
    return Object.entries(this.template.Resources)
      .filter(([, r]) => (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && JSON.stringify(r.Properties?.Roles ?? []).includes(`"${roleId}"`))
      .map(([id]) => ({ name: id, document: this.properties(id).PolicyDocument as PolicyDocument }));
  }

  /** The resource policy of a bucket, topic, queue or key, resolved. */
  resourcePolicy(type: 'AWS::S3::BucketPolicy' | 'AWS::SNS::TopicPolicy', target: string): PolicyDocument | undefined {
    const key = type === 'AWS::S3::BucketPolicy' ? 'Bucket' : 'Topics';
    const found = Object.entries(this.template.Resources).filter(([, r]) => r.Type === type && JSON.stringify(r.Properties?.[key]).includes(`"${target}"`));
    if (found.length > 1) throw new Error(`more than one ${type} for ${target}`);
    return found.length ? (this.properties(found[0][0]).PolicyDocument as PolicyDocument) : undefined;
  }

  /** Resolves the intrinsic functions in `value`. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0];
      if (fn === 'Ref') return this.ref(arg as string);
      if (fn === 'Fn::GetAtt') {
        const [id, attribute] = arg as [string, string];
        return this.getAtt(id, attribute);
      }
      if (fn === 'Fn::Join') {
        const [separator, parts] = arg as [string, unknown[]];
        return (this.resolve(parts) as unknown[]).join(separator);
      }
      if (fn === 'Fn::Sub') {
        const text = typeof arg === 'string' ? arg : (arg as [string])[0];
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => (name.includes('.') ? this.getAtt(...(name.split('.') as [string, string])) : this.ref(name)));
      }
      if (fn === 'Fn::Select') {
        const [index, list] = arg as [number, unknown];
        return (this.resolve(list) as unknown[])[index];
      }
      if (fn === 'Fn::GetAZs') return [`${REGION}a`, `${REGION}b`, `${REGION}c`];
      if (fn.startsWith('Fn::')) throw new Error(`cannot resolve ${fn}`);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }

  private ref(name: string): string {
    switch (name) {
      case 'AWS::Partition':
        return PARTITION;
      case 'AWS::Region':
        return REGION;
      case 'AWS::AccountId':
        return ACCOUNT;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return 'Stash';
    }
    const resource = this.template.Resources[name];
    if (!resource) throw new Error(`Ref to ${name}, which is not in the template`);
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::S3::Bucket':
        return this.bucketName;
      case 'AWS::SNS::Topic':
        return `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${name}`;
      case 'AWS::ECS::TaskDefinition':
        return `arn:${PARTITION}:ecs:${REGION}:${ACCOUNT}:task-definition/${props.Family as string}:1`;
      case 'AWS::EC2::Subnet':
        return `subnet-${hex(name)}`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
      default:
        return name;
    }
  }

  private getAtt(id: string, attribute: string): string {
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`GetAtt of ${id}, which is not in the template`);
    const arns: Record<string, string> = {
      'AWS::IAM::Role': `arn:${PARTITION}:iam::${ACCOUNT}:role/${id}`,
      'AWS::ECS::Cluster': `arn:${PARTITION}:ecs:${REGION}:${ACCOUNT}:cluster/${id}`,
      'AWS::S3::Bucket': `arn:${PARTITION}:s3:::${this.bucketName}`,
      'AWS::KMS::Key': `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/${id}`,
      'AWS::CloudWatch::Alarm': `arn:${PARTITION}:cloudwatch:${REGION}:${ACCOUNT}:alarm:${id}`,
      'AWS::SQS::Queue': `arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:${id}`,
      'AWS::Lambda::Function': `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:${id}`,
      'AWS::Logs::LogGroup': `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${id}:*`,
      'AWS::SNS::Topic': `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${id}`,
      'AWS::Events::Rule': `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:rule/${id}`,
    };
    if (attribute === 'Arn' && arns[resource.Type]) return arns[resource.Type];
    if (attribute === 'GroupId') return `sg-${hex(id)}`;
    if (attribute === 'QueueName') return id;
    if (attribute === 'TopicName') return id;
    throw new Error(`cannot resolve GetAtt ${id}.${attribute} (${resource.Type})`);
  }
}

/** 17 hex characters derived from a name, for ids that must look like AWS's. */
function hex(name: string): string {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, '0').repeat(3).slice(0, 17);
}
