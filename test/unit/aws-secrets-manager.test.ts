import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient, SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkSecret } from '../../core/launch';
import { SecretError } from '../../core/errors';
import { SecretsManagerSecretStore } from '../../aws/secrets-manager';
import { ResticSchema } from '../../schemas/restic';

const SECRET_VALUE = 'correct-horse-battery-staple';
const ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/s3-secret-AbCdEf';

const s3Spec = ResticSchema.parse({
  apiVersion: 'stash.appscode.com/v1alpha1',
  kind: 'Restic',
  metadata: { name: 'db' },
  spec: {
    fileGroups: [{ path: '/source/data' }],
    backend: { s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-qa' }, storageSecretName: 's3-secret' },
    schedule: '@every 1h',
  },
});

describe('SecretsManagerSecretStore', () => {
  const sm = mockClient(SecretsManagerClient);
  const store = new SecretsManagerSecretStore(new SecretsManagerClient({ region: 'eu-west-1' }), 'stash/');
  beforeEach(() => sm.reset());

  it('reads stash/<name> and gives its ARN as the reference', async () => {
    sm.on(GetSecretValueCommand).resolves({ ARN, Name: 'stash/s3-secret', SecretString: JSON.stringify({ RESTIC_PASSWORD: SECRET_VALUE }) });
    expect(await store.get('s3-secret')).toEqual({ ref: ARN, secret: { RESTIC_PASSWORD: SECRET_VALUE } });
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: 'stash/s3-secret' }]);
  });

  it('reads a Kubernetes Secret as kubectl get secret -o json prints it, data base64 and stringData plain', async () => {
    const k8s = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's3-secret', namespace: 'default', creationTimestamp: '2017-06-28T12:22:33Z', resourceVersion: '2511' },
      type: 'Opaque',
      data: { RESTIC_PASSWORD: Buffer.from(SECRET_VALUE).toString('base64'), AWS_ACCESS_KEY_ID: Buffer.from('AKIAEXAMPLE').toString('base64') },
      stringData: { AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI' },
    };
    sm.on(GetSecretValueCommand).resolves({ ARN, SecretString: JSON.stringify(k8s) });
    expect(await store.get('s3-secret')).toEqual({
      ref: ARN,
      secret: { RESTIC_PASSWORD: SECRET_VALUE, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI' },
    });
    expect(await checkSecret(s3Spec, store)).toEqual({ ref: ARN, secret: expect.any(Object) });
  });

  it('gives undefined for a secret that does not exist', async () => {
    sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ $metadata: {}, message: "Secrets Manager can't find the specified secret." }));
    expect(await store.get('absent')).toBeUndefined();
    await expect(checkSecret(s3Spec, store)).rejects.toThrow('secret "s3-secret" does not exist');
  });

  it('names the missing keys, never the values', async () => {
    sm.on(GetSecretValueCommand).resolves({ ARN, SecretString: JSON.stringify({ RESTIC_PASSWORD: SECRET_VALUE, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' }) });
    const err = await checkSecret(s3Spec, store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretError);
    expect((err as Error).message).toBe('secret "s3-secret": AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be given together (or neither, to use the task role)');
  });

  it.each([
    [`{"RESTIC_PASSWORD": "${SECRET_VALUE}",}`, `secret stash/s3-secret: not valid JSON (at position ${23 + SECRET_VALUE.length})`],
    [JSON.stringify([SECRET_VALUE]), 'secret stash/s3-secret: must be an object of string values'],
    [JSON.stringify({ RESTIC_PASSWORD: { nested: SECRET_VALUE } }), 'secret stash/s3-secret: must be an object of string values (not: RESTIC_PASSWORD)'],
  ])('refuses a malformed secret without quoting it: %s', async (text, message) => {
    sm.on(GetSecretValueCommand).resolves({ ARN, SecretString: text });
    const err = (await store.get('s3-secret').catch((e: unknown) => e)) as Error & { cause?: unknown };
    expect(err.message).toBe(message);
    expect(`${err.message} ${String(err.cause ?? '')} ${err.stack}`).not.toContain(SECRET_VALUE);
  });

  it('wraps a failure to read with the secret name', async () => {
    sm.on(GetSecretValueCommand).rejects(new SecretsManagerServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'not authorized to perform: secretsmanager:GetSecretValue' }));
    await expect(checkSecret(s3Spec, store)).rejects.toThrow(
      'secret "s3-secret" could not be read: failed to read secret stash/s3-secret: not authorized to perform: secretsmanager:GetSecretValue',
    );
  });
});
