/**
 * What to do when the AWS SDK finds no region or no credentials: the SDK says only "Region is
 * missing" or "Could not load credentials from any providers". Matched by name and message, so
 * that this module (loaded by every command) does not load the SDK.
 */
import { errorMessage } from '../core/errors';

/** The error and every `cause` below it. */
function* chain(err: unknown): Generator<unknown> {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 10; e = (e as { cause?: unknown }).cause, depth++) yield e;
}

/** The message that says how to fix a missing AWS region, missing or expired credentials; undefined for any other error. */
export function awsHint(err: unknown): string | undefined {
  for (const e of chain(err)) {
    const name = (e as { name?: string }).name ?? '';
    const message = errorMessage(e);
    if (/Region is missing/i.test(message)) {
      return [
        'stash: no AWS region is set: the commands that reach a deployed stack need the region it was deployed to.',
        'Set it with `export AWS_REGION=eu-west-1` (or AWS_DEFAULT_REGION), or for your profile with `aws configure set region eu-west-1`.',
      ].join('\n');
    }
    if (name === 'CredentialsProviderError' || /Could not load credentials from any providers/i.test(message)) {
      return [
        'stash: no AWS credentials were found for the commands that reach a deployed stack.',
        'Use a profile (`export AWS_PROFILE=NAME`, set up with `aws configure` or `aws configure sso` and `aws sso login`),',
        'or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials).',
      ].join('\n');
    }
    if (/^ExpiredToken|TokenRefreshRequired/.test(name) || /security token included in the request is expired/i.test(message)) {
      return `stash: the AWS credentials have expired (${message}): renew them (\`aws sso login\`, or new temporary credentials) and try again.`;
    }
  }
  return undefined;
}
