/**
 * Secrets in AWS Secrets Manager: the secret for `storageSecretName` N is `${prefix}N`, a
 * JSON object of the backend's keys (as Stash's Kubernetes Secret held them). The dispatcher
 * reads it only to check the keys; the task is given its ARN and reads it itself.
 *
 * No error raised here carries a secret value: a secret that is not a JSON object is reported
 * without the parser's message (which quotes the text).
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretSchema, type Secret } from '../schemas/secret';
import type { ResolvedSecret, SecretResolver } from '../core/dispatch';
import { errorMessage, SecretError } from '../core/errors';
import type { SecretStore } from '../core/ports';

const NOT_FOUND = new Set(['ResourceNotFoundException']);

/** {@link SecretStore} and {@link SecretResolver} on Secrets Manager. */
export class SecretsManagerSecretStore implements SecretStore, SecretResolver {
  constructor(
    private readonly client: SecretsManagerClient,
    /** e.g. `stash/`. */
    readonly prefix: string,
  ) {}

  /** The Secrets Manager name of a `storageSecretName`. */
  secretId(name: string): string {
    return `${this.prefix}${name}`;
  }

  async resolve(name: string): Promise<ResolvedSecret | undefined> {
    const id = this.secretId(name);
    let res;
    try {
      res = await this.client.send(new GetSecretValueCommand({ SecretId: id }));
    } catch (err) {
      if (NOT_FOUND.has((err as { name?: string }).name ?? '')) return undefined;
      throw new SecretError(`failed to read secret ${id}: ${errorMessage(err)}`, { cause: err });
    }
    if (res.SecretString === undefined) {
      throw new SecretError(`secret ${id} holds binary data; store a JSON object of key to string (e.g. {"RESTIC_PASSWORD": "..."})`);
    }
    return { ref: res.ARN ?? id, secret: parseSecretString(id, res.SecretString) };
  }

  async get(name: string): Promise<Secret | undefined> {
    return (await this.resolve(name))?.secret;
  }
}

/** A secret string as key to string; problems name the keys, never the values. */
export function parseSecretString(id: string, text: string): Secret {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Deliberately without `cause`: the parser's message quotes the secret.
    throw new SecretError(`secret ${id} is not JSON; store a JSON object of key to string (e.g. {"RESTIC_PASSWORD": "..."})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new SecretError(`secret ${id} must be a JSON object of key to string, got ${Array.isArray(json) ? 'a list' : typeof json}`);
  }
  const parsed = SecretSchema.safeParse(json);
  if (!parsed.success) {
    const keys = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))];
    throw new SecretError(`secret ${id}: the value${keys.length > 1 ? 's' : ''} of ${keys.join(', ')} must be ${keys.length > 1 ? 'strings' : 'a string'}`);
  }
  return parsed.data;
}
