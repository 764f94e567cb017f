/**
 * Secrets in AWS Secrets Manager: the secret for `storageSecretName` N is `${prefix}N`, a
 * JSON object of the backend's keys, or a Kubernetes Secret as `kubectl get secret -o json`
 * prints it (the same parser as every other store). The dispatcher reads it only to check
 * the keys; the task is given its ARN and reads it itself.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { errorMessage, SecretError } from '../core/errors';
import type { SecretStore, StoredSecret } from '../core/ports';
import { parseSecretJson } from '../core/secrets';

const NOT_FOUND = new Set(['ResourceNotFoundException']);

/** {@link SecretStore} on Secrets Manager. */
export class SecretsManagerSecretStore implements SecretStore {
  constructor(
    private readonly client: SecretsManagerClient,
    /** e.g. `stash/`. */
    readonly prefix: string,
  ) {}

  /** The Secrets Manager name of a `storageSecretName`. */
  secretId(name: string): string {
    return `${this.prefix}${name}`;
  }

  async get(name: string): Promise<StoredSecret | undefined> {
    return readSecret(this.client, this.secretId(name));
  }
}

/**
 * One secret by name or ARN, parsed; undefined when it does not exist. Errors name the
 * secret and its keys, never a value.
 */
export async function readSecret(client: SecretsManagerClient, id: string): Promise<StoredSecret | undefined> {
  let res;
  try {
    res = await client.send(new GetSecretValueCommand({ SecretId: id }));
  } catch (err) {
    if (NOT_FOUND.has((err as { name?: string }).name ?? '')) return undefined;
    throw new SecretError(`failed to read secret ${id}: ${errorMessage(err)}`, { cause: err });
  }
  if (res.SecretString === undefined) {
    throw new SecretError(`secret ${id} holds binary data; store a JSON object of key to string (e.g. {"RESTIC_PASSWORD": "..."})`);
  }
  return { ref: res.ARN ?? id, secret: parseSecretJson(res.SecretString, `secret ${id}`) };
}
