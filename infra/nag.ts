import { Validations } from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct, IConstruct } from 'constructs';

/**
 * Runs cdk-nag's AwsSolutions rules on every stack of the app when it is synthesized.
 *
 * cdk-nag v3, deliberately: it is a CDK policy-validation plugin, so any finding that is not
 * acknowledged fails `cdk synth` (and `cdk deploy`) with a report, instead of v2's aspect
 * annotations that a pipeline could ignore; and acknowledgements are CDK's own
 * `Validations.of(construct).acknowledge({ id, reason })`, each for one finding with its
 * reason, written next to the resource it concerns. (v2's `NagSuppressions` and
 * `Aspects.of(app).add(...)` do not exist in v3.)
 */
export function addNagChecks(app: Construct): AwsSolutionsChecks {
  const pack = new AwsSolutionsChecks(app, { verbose: true });
  Validations.of(app).addPlugins(pack);
  return pack;
}

/**
 * Runs AWS Control Tower's proactive controls (cfn-guard rules, through
 * `@cdklabs/cdk-validator-cfnguard`, which ships its own cfn-guard binary and runs offline)
 * on every stack of the app when it is synthesized. Like cdk-nag's, a finding nobody fixed
 * or acknowledged fails `cdk synth`; an acknowledgement is
 * `Validations.of(construct).acknowledge({ id: 'cdk-validator-cfnguard::<rule>', reason })`
 * next to the resource (see {@link guardFinding}).
 */
export function addGuardChecks(app: Construct): CfnGuardValidator {
  const guard = new CfnGuardValidator({ controlTowerRulesEnabled: true });
  Validations.of(app).addPlugins(guard);
  return guard;
}

/** The acknowledgement id of a Control Tower rule, e.g. `guardFinding('sqs_dlq_check')`. */
export const guardFinding = (rule: string): string => `cdk-validator-cfnguard::${rule}`;

/** The retention Control Tower's CT.CLOUDWATCH.PR.2 asks of a log group, days. */
export const GUARD_LOG_RETENTION_DAYS = 365;

/**
 * Acknowledges Control Tower's log group rules on `group`: encryption with a customer
 * managed key (CloudWatch Logs encrypts every log group at rest with its own keys, and no
 * line holds a secret), and, when `retentionDays` is below a year, the retention rule
 * (retention is the `logRetentionDays` setting, the user's choice of cost).
 */
export function acknowledgeLogGroup(group: IConstruct, retentionDays: number): void {
  Validations.of(group).acknowledge({
    id: guardFinding('cloudwatch_log_group_encrypted_check'),
    reason:
      'CloudWatch Logs encrypts every log group at rest with keys it manages; these lines hold names, outcomes and sizes, never a secret ' +
      'value, so a customer managed key would add a key policy to keep and a monthly cost without protecting anything more.',
  });
  if (retentionDays < GUARD_LOG_RETENTION_DAYS) {
    Validations.of(group).acknowledge({
      id: guardFinding('cloudwatch_log_group_retention_period_check'),
      reason: `Retention is the logRetentionDays setting (here ${retentionDays} days), the user's trade of history against cost; set 365 or more where your controls require a year.`,
    });
  }
}
