import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { COMPILED_SPECS_NAME } from '../aws/s3-compiled-specs';
import { LAUNCHER_CONFIG_NAME } from '../aws/launcher-config';
import { DEFAULT_SPEC_PREFIX, RUNS_PREFIX, STATE_PREFIX, STATUS_PREFIX } from '../schemas/bucket';
import { guardFinding } from './nag';

/** Properties of {@link ConfigBucket}. */
export interface ConfigBucketProps {
  /**
   * Key prefix of the `Restic` specs.
   * @default 'specs/'
   */
  readonly specPrefix?: string;
  /**
   * Days an overwritten or deleted object version is kept. A task loads its spec at the
   * version the dispatcher saw, so this must outlive the longest queue-to-start delay.
   * @default 30
   */
  readonly noncurrentVersionDays?: number;
  /**
   * Days a run's result (`runs/<spec>/<run>.json`, a spec's history) is kept.
   * @default 90
   */
  readonly runHistoryDays?: number;
  /**
   * What happens to the bucket (and every spec in it) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The config bucket: `specs/` (the user's `Restic` YAML), `status/` (one JSON per spec,
 * written by the record and validate steps), `state/` (the dispatcher's watermark and
 * compiled specs) and `runs/` (one result per run, written by the task, or by the record
 * step for a task that died; expired after `runHistoryDays`).
 *
 * Versioned (a task loads the exact version it was launched for), SSE-S3 encrypted, all
 * public access blocked, TLS-only, and with EventBridge notifications on, so a spec upload
 * is validated at once. Grants are per prefix with explicit actions: nothing here ever
 * grants `bucket/*`.
 */
export class ConfigBucket extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly specPrefix: string;
  public readonly statusPrefix = STATUS_PREFIX;
  public readonly statePrefix = STATE_PREFIX;
  public readonly runsPrefix = RUNS_PREFIX;

  constructor(scope: Construct, id: string, props: ConfigBucketProps = {}) {
    super(scope, id);
    const specPrefix = props.specPrefix ?? DEFAULT_SPEC_PREFIX;
    const noncurrentVersionDays = props.noncurrentVersionDays ?? 30;
    const runHistoryDays = props.runHistoryDays ?? 90;
    if (!Number.isInteger(runHistoryDays) || runHistoryDays < 1) {
      throw new Error(`ConfigBucket: runHistoryDays ${runHistoryDays} must be a whole number of days, at least 1`);
    }
    if (!specPrefix.endsWith('/') || specPrefix.startsWith('/')) {
      throw new Error(`ConfigBucket: specPrefix "${specPrefix}" must be a key prefix ending with "/"`);
    }
    if (!Number.isInteger(noncurrentVersionDays) || noncurrentVersionDays < 1) {
      throw new Error(`ConfigBucket: noncurrentVersionDays ${noncurrentVersionDays} must be a whole number of days, at least 1`);
    }
    this.specPrefix = specPrefix;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(noncurrentVersionDays),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
        { id: 'expire-run-history', prefix: RUNS_PREFIX, expiration: Duration.days(runHistoryDays) },
      ],
    });
    // EventBridge delivery set on the bucket itself: `eventBridgeEnabled: true` would add a
    // custom resource (a Lambda with s3:PutBucketNotification on *) for what CloudFormation
    // does natively on a bucket it creates.
    (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
      eventBridgeConfiguration: { eventBridgeEnabled: true },
    };

    const noAccessLog =
      'Specs hold no secrets (credentials live in Secrets Manager) and every change is kept as an object version; ' +
      'an access-log bucket would add a second bucket to watch. Enable CloudTrail S3 data events for an access audit.';
    Validations.of(this.bucket).acknowledge(
      { id: 'AwsSolutions-S1', reason: noAccessLog },
      { id: guardFinding('s3_bucket_logging_enabled_check'), reason: noAccessLog },
      {
        id: guardFinding('s3_bucket_default_encryption_kms_check'),
        reason:
          'SSE-S3: the objects are specs (no secret values), statuses and run results; a KMS key would add a key policy and a ' +
          'kms:Decrypt grant to every function, the task and each operator, for no secret to protect.',
      },
      {
        id: guardFinding('s3_bucket_object_lock_enabled_check'),
        reason:
          'Versioning keeps every spec change; Object Lock would forbid the lifecycle rules that expire old versions and run ' +
          'results, and can only be turned on when a bucket is created. The bucket policy limits who writes each prefix instead.',
      },
    );
  }

  /**
   * The bucket policy's boundary: under each prefix, only the principals named write or
   * delete (`s3:PutObject*`, `s3:DeleteObject*`); every other principal is refused, whatever
   * its own IAM policies allow. Principals are role or user ARNs (`aws:PrincipalArn`, which
   * for an assumed role is the role's ARN).
   */
  public restrictWriters(writers: Readonly<Record<'specs' | 'status' | 'state' | 'runs', readonly string[]>>): void {
    const prefixes = { specs: this.specPrefix, status: this.statusPrefix, state: this.statePrefix, runs: this.runsPrefix };
    for (const [name, principals] of Object.entries(writers) as [keyof typeof prefixes, readonly string[]][]) {
      if (principals.length === 0) throw new Error(`ConfigBucket: nobody would be left to write ${prefixes[name]}`);
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `OnlyNamedWritersOf${name[0].toUpperCase()}${name.slice(1)}`,
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['s3:PutObject*', 's3:DeleteObject*'],
          resources: [this.arnForPrefix(prefixes[name])],
          conditions: { ArnNotEquals: { 'aws:PrincipalArn': [...principals] } },
        }),
      );
    }
  }

  /** The ARN of every object under a prefix, e.g. `arn:aws:s3:::bucket/specs/*`. */
  public arnForPrefix(prefix: string): string {
    return this.bucket.arnForObjects(`${prefix}*`);
  }

  /**
   * Read specs (any version) and list the bucket. Listing is granted on the bucket, without a
   * prefix condition: S3 answers a GET of a missing key with 404 only to a caller that may
   * list, and the stores tell "no status yet" from "denied" by that 404.
   */
  public grantReadSpecs(grantee: iam.IGrantable): iam.Grant {
    this.grantList(grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resourceArns: [this.arnForPrefix(this.specPrefix)],
    });
  }

  /** Upload and delete specs and Recoveries (an operator's). */
  public grantWriteSpecs(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['s3:PutObject', 's3:DeleteObject'], resourceArns: [this.arnForPrefix(this.specPrefix)] });
  }

  /** Read `state/launcher.json`, where the dispatcher says how it launches tasks, and nothing else under `state/`. */
  public grantReadLauncherConfig(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [this.bucket.arnForObjects(`${this.statePrefix}${LAUNCHER_CONFIG_NAME}`)] });
  }

  /** Read and write `status/<name>.json` (delete, when a spec is removed). */
  public grantReadWriteStatus(grantee: iam.IGrantable): iam.Grant {
    return this.grantReadWritePrefix(grantee, this.statusPrefix);
  }

  /** Read and write the dispatcher's `state/` objects. */
  public grantReadWriteState(grantee: iam.IGrantable): iam.Grant {
    return this.grantReadWritePrefix(grantee, this.statePrefix);
  }

  /** Read the dispatcher's compiled specs (`state/compiled-specs.json`), and nothing else under `state/`. */
  public grantReadCompiledSpecs(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject'], resourceArns: [this.bucket.arnForObjects(`${this.statePrefix}${COMPILED_SPECS_NAME}`)] });
  }

  /** Store run results: the task writes its own (`runs/<spec>/<run>.json`), nothing else. */
  public grantWriteRuns(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['s3:PutObject'], resourceArns: [this.arnForPrefix(this.runsPrefix)] });
  }

  /** Read run results, and store one for a task that died before it could. */
  public grantReadWriteRuns(grantee: iam.IGrantable): iam.Grant {
    this.grantList(grantee);
    return iam.Grant.addToPrincipal({ grantee, actions: ['s3:GetObject', 's3:PutObject'], resourceArns: [this.arnForPrefix(this.runsPrefix)] });
  }

  private grantReadWritePrefix(grantee: iam.IGrantable, prefix: string): iam.Grant {
    this.grantList(grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resourceArns: [this.arnForPrefix(prefix)],
    });
  }

  private grantList(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [this.bucket.bucketArn] });
  }

  /**
   * The IAM5 finding cdk-nag reports for a grant on `prefix`, for an acknowledgement next to
   * the role that holds it.
   */
  public wildcardFinding(prefix: string): string {
    const logicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    return `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${prefix}*]`;
  }
}
