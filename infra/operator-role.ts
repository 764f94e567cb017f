import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { DEFAULT_SECRET_PREFIX } from '../schemas/secret';
import type { ConfigBucket } from './config-bucket';
import type { Runner } from './runner';
import { checkSecretPrefix, grantReadSecrets } from './secrets';

/** Properties of {@link OperatorRole}. */
export interface OperatorRoleProps {
  /** The config bucket: an operator uploads specs and reads statuses there. */
  readonly configBucket: ConfigBucket;
  /** What `stash backup --remote` and `stash restore --remote` launch on. */
  readonly runner: Runner;
  /**
   * Secrets Manager name prefix: `stash snapshots` and `stash restore` (on the operator's
   * machine) read the spec's secret.
   * @default DEFAULT_SECRET_PREFIX ('stash/')
   */
  readonly secretPrefix?: string;
}

/**
 * The role people and pipelines assume to run the `stash` command against the stack
 * (`--specs s3://<bucket>/specs`): upload and delete specs and Recoveries, read statuses,
 * launch a run or a restore now (through the dispatcher's launch path, which marks the spec's
 * status as running), list snapshots and restore with the spec's secret. Anyone in the
 * account whose own IAM policy allows `sts:AssumeRole` on it may assume it. The config
 * bucket's policy lets this role write specs and statuses (see {@link ConfigBucket.restrictWriters}).
 */
export class OperatorRole extends iam.Role {
  constructor(scope: Construct, id: string, props: OperatorRoleProps) {
    const secretPrefix = checkSecretPrefix(props.secretPrefix ?? DEFAULT_SECRET_PREFIX);
    super(scope, id, {
      assumedBy: new iam.AccountRootPrincipal(),
      description: 'Stash operator: the stash CLI against this stack (specs, statuses, runs and restores now)',
    });
    const bucket = props.configBucket;
    bucket.grantReadSpecs(this);
    bucket.grantWriteSpecs(this);
    bucket.grantReadWriteStatus(this);
    bucket.grantReadLauncherConfig(this);
    grantReadSecrets(this, secretPrefix, `stash snapshots and stash restore read the secret a spec names under ${secretPrefix}; names come from the specs.`);
    const { runner } = props;
    runner.grantRunTask(this);
    runner.grantListTasks(this);
    runner.grantDescribeTasks(this);
    runner.grantRegisterRevisions(this);
    runner.grantPassRoles(this);
    Validations.of(this).acknowledge(
      { id: bucket.wildcardFinding(bucket.specPrefix), reason: 'Uploads and reads any spec or Recovery; their names are chosen by the operator, not known at deploy time.' },
      { id: bucket.wildcardFinding(bucket.statusPrefix), reason: 'Reads every status, and marks the spec or Recovery it launches as running; spec names are not known at deploy time.' },
    );
  }
}
