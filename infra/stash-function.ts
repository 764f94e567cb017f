import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SECRET_PREFIX } from '../schemas/secret';
import type { ConfigBucket } from './config-bucket';
import { acknowledgeLogGroup, guardFinding } from './nag';

/** What every Stash function is built from: where its code is, the config bucket, and the names it reads. */
export interface StashFunctionCommonProps {
  /** Directory holding `package-lock.json`; esbuild runs there. */
  readonly projectRoot: string;
  /**
   * Directory of the handler entry files `dispatch.ts`, `record.ts` and `validate.ts`.
   * @default `${projectRoot}/lambda`
   */
  readonly handlersDirectory?: string;
  /** The config bucket: every function reads specs there and keeps `status/`. */
  readonly configBucket: ConfigBucket;
  /**
   * Secrets Manager name prefix the specs' secrets are named under.
   * @default DEFAULT_SECRET_PREFIX ('stash/')
   */
  readonly secretPrefix?: string;
  /**
   * CloudWatch namespace of the EMF metrics.
   * @default 'Stash'
   */
  readonly metricsNamespace?: string;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Properties of {@link StashFunction}. */
export interface StashFunctionProps extends StashFunctionCommonProps {
  /** The handler entry file in `handlersDirectory`, without `.ts`; it exports `handler`. */
  readonly handler: 'dispatch' | 'record' | 'validate';
  /** What the function is for, shown in the console. */
  readonly description: string;
  /**
   * Environment variables besides those every function reads (names and non-secret values only).
   * @default - only those every function reads
   */
  readonly environment?: Record<string, string>;
  /**
   * How long one invocation may run.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Memory, MiB.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Reserved concurrency.
   * @default - unreserved
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * One of Stash's Lambda functions, the same way for all three: bundled by the local esbuild
 * (ESM, minified, source maps; no Docker), latest Node.js runtime on ARM64, its own log
 * group with retention, and its own role (no managed policy: each function gets exactly its
 * grants) that starts with what every function does: write that log group, read specs, and
 * read and write `status/`. The environment names the bucket, its prefixes, the secret prefix
 * and the metrics namespace.
 */
export class StashFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: StashFunctionProps) {
    super(scope, id);
    if (!existsSync(join(props.projectRoot, 'package-lock.json'))) {
      throw new Error(`StashFunction ${id}: ${props.projectRoot} has no package-lock.json to bundle against`);
    }
    if (props.reservedConcurrentExecutions !== undefined && props.reservedConcurrentExecutions < 1) {
      throw new Error(`StashFunction ${id}: reservedConcurrentExecutions must be at least 1`);
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledgeLogGroup(this.logGroup, props.logRetention ?? logs.RetentionDays.THREE_MONTHS);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Stash ${id} function`,
    });
    this.logGroup.grantWrite(this.role);
    this.grantReadSpecsAndKeepStatus(props.configBucket);

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(props.handlersDirectory ?? join(props.projectRoot, 'lambda'), `${props.handler}.ts`),
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_LATEST,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...commonEnvironment(props), ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundle the AWS SDK too: the handlers are tested against the versions in
        // package-lock.json, not whichever the runtime happens to ship.
        externalModules: [],
        // Some CommonJS dependencies call require(); ESM output needs it defined.
        banner: "import { createRequire as __stashCreateRequire } from 'node:module'; const require = __stashCreateRequire(import.meta.url);",
        forceDockerBundling: false,
      },
    });
    Validations.of(this.function).acknowledge({
      id: guardFinding('lambda_inside_vpc_check'),
      reason:
        'The functions call AWS APIs only (S3, Secrets Manager, ECS) and reach nothing inside the VPC; outside it they need no NAT ' +
        'gateway or interface endpoints for ECS and Secrets Manager. The runner tasks, which reach EFS and the backends, run in the VPC.',
    });
  }

  private grantReadSpecsAndKeepStatus(bucket: ConfigBucket): void {
    bucket.grantReadSpecs(this.role);
    bucket.grantReadWriteStatus(this.role);
    Validations.of(this.role).acknowledge(
      {
        id: bucket.wildcardFinding(bucket.specPrefix),
        reason: 'Reads whichever specs the user uploads; their names are not known at deploy time.',
      },
      {
        id: bucket.wildcardFinding(bucket.statusPrefix),
        reason: 'Keeps status/<spec>.json for every spec; spec names are not known at deploy time.',
      },
    );
  }
}

/** What every function reads: the bucket and its prefixes, the secret prefix, Powertools' service and namespace. */
function commonEnvironment(props: StashFunctionCommonProps): Record<string, string> {
  const bucket = props.configBucket;
  return {
    CONFIG_BUCKET: bucket.bucket.bucketName,
    SPEC_PREFIX: bucket.specPrefix,
    STATUS_PREFIX: bucket.statusPrefix,
    STATE_PREFIX: bucket.statePrefix,
    RUNS_PREFIX: bucket.runsPrefix,
    SECRET_PREFIX: props.secretPrefix ?? DEFAULT_SECRET_PREFIX,
    POWERTOOLS_SERVICE_NAME: 'stash',
    POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'Stash',
  };
}
