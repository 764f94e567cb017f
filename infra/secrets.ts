/**
 * Reading the backend secrets: which Secrets Manager names the stack's roles may read, and the
 * one grant that says so. The runner's task role and the dispatcher get the same statement.
 */
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ConfigError } from '../core/errors';
import { DEFAULT_SECRET_PREFIX } from '../schemas/secret';

/** What a secret prefix must be, as error messages say it. */
export const SECRET_PREFIX_RULE =
  `a non-empty Secrets Manager name prefix (letters, digits and /_+=.@-), such as "${DEFAULT_SECRET_PREFIX}"; ` +
  'an empty prefix would let tasks read every secret of the account';

/** Whether `prefix` is a Secrets Manager name prefix without wildcards (see {@link SECRET_PREFIX_RULE}). */
export function isSecretPrefix(prefix: string): boolean {
  return /^[A-Za-z0-9/_+=.@-]{1,256}$/.test(prefix);
}

/** `prefix`, or a ConfigError when it is not {@link SECRET_PREFIX_RULE}. */
export function checkSecretPrefix(prefix: string): string {
  if (!isSecretPrefix(prefix)) throw new ConfigError(`secretPrefix ${JSON.stringify(prefix)} must be ${SECRET_PREFIX_RULE}`);
  return prefix;
}

/**
 * Lets `role` read the secrets named `<secretPrefix>...` (GetSecretValue: the only call the
 * code makes), and acknowledges cdk-nag's wildcard finding on that grant with `reason`.
 */
export function grantReadSecrets(role: iam.Role, secretPrefix: string, reason: string): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadSecretsUnderPrefix',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secretArnPattern(role, secretPrefix)],
    }),
  );
  Validations.of(role).acknowledge({ id: secretWildcardFinding(secretPrefix), reason });
}

/** `arn:<partition>:secretsmanager:<region>:<account>:secret:<prefix>*` */
function secretArnPattern(scope: Construct, secretPrefix: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${secretPrefix}*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** The IAM5 finding cdk-nag reports for {@link secretArnPattern}. */
function secretWildcardFinding(secretPrefix: string): string {
  return `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${secretPrefix}*]`;
}
