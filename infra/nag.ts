import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';

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
