import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Properties of {@link StashFunction}. */
export interface StashFunctionProps {
  /** The handler file (TypeScript), exporting `handler`. */
  readonly entry: string;
  /** Directory holding `package-lock.json`; esbuild runs there. */
  readonly projectRoot: string;
  /** What the function is for, shown in the console. */
  readonly description: string;
  /** Environment variables (names and non-secret values only). */
  readonly environment: Record<string, string>;
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
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * One of Stash's Lambda functions, the same way for all three: bundled by the local esbuild
 * (ESM, minified, source maps; no Docker), latest Node.js runtime on ARM64, its own log
 * group with retention, and its own role that starts with nothing but writing that log
 * group (no managed policy: each function gets exactly its grants).
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
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Stash ${id} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
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
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
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
  }
}
