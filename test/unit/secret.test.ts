import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderSecretStore } from '../../cli/local/stores';
import { parseSecretObject } from '../../core/secrets';
import { SecretError } from '../../core/errors';
import type { BackendKind } from '../../schemas/restic';
import type { Backend } from '../../schemas/restic';
import { isAwsS3Endpoint, missingSecretKeys, parseS3RepositoryLocation, repositoryLocationProblem, type Secret } from '../../schemas/secret';

/** A value no message may ever contain. */
const value = (key: string) => `value-of-${key}-7f3a9c`;
const secret = (...keys: string[]): Secret => Object.fromEntries(keys.map((k) => [k, value(k)]));

const SWIFT_SETS =
  'no complete Swift authentication set: give one of ' +
  'keystone v1 (ST_AUTH, ST_USER, ST_KEY); ' +
  'keystone v2 (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_TENANT_ID or OS_TENANT_NAME); ' +
  'keystone v3 (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_USER_DOMAIN_NAME, OS_PROJECT_NAME, OS_PROJECT_DOMAIN_NAME); ' +
  'keystone v3 application credential (OS_AUTH_URL, OS_APPLICATION_CREDENTIAL_ID, OS_APPLICATION_CREDENTIAL_SECRET); ' +
  'token (OS_STORAGE_URL, OS_AUTH_TOKEN)';
const V2 = ['OS_AUTH_URL', 'OS_REGION_NAME', 'OS_USERNAME', 'OS_PASSWORD'];
const V3 = ['OS_AUTH_URL', 'OS_REGION_NAME', 'OS_USERNAME', 'OS_PASSWORD', 'OS_USER_DOMAIN_NAME', 'OS_PROJECT_NAME', 'OS_PROJECT_DOMAIN_NAME'];
const PAIR = 'RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD must be given together';

const CASES: [string, BackendKind, Secret, string[]][] = [
  ['local with a password', 'local', secret('RESTIC_PASSWORD'), []],
  ['local without anything', 'local', {}, ['missing required key RESTIC_PASSWORD']],
  ['local with an empty password', 'local', { RESTIC_PASSWORD: '' }, ['missing required key RESTIC_PASSWORD']],
  ['s3 complete', 's3', secret('RESTIC_PASSWORD', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'), []],
  [
    's3 with a password only',
    's3',
    secret('RESTIC_PASSWORD'),
    ['missing required keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (only an AWS endpoint such as s3.amazonaws.com can do without the keys: the task role, or your own AWS credentials locally, are used there)'],
  ],
  ['s3 without a password', 's3', secret('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'), ['missing required key RESTIC_PASSWORD']],
  ['gcs complete', 'gcs', secret('RESTIC_PASSWORD', 'GOOGLE_PROJECT_ID', 'GOOGLE_SERVICE_ACCOUNT_JSON_KEY'), []],
  ['gcs without the key file', 'gcs', secret('RESTIC_PASSWORD', 'GOOGLE_PROJECT_ID'), ['missing required key GOOGLE_SERVICE_ACCOUNT_JSON_KEY']],
  ['azure complete', 'azure', secret('RESTIC_PASSWORD', 'AZURE_ACCOUNT_NAME', 'AZURE_ACCOUNT_KEY'), []],
  ['azure without anything', 'azure', {}, ['missing required keys RESTIC_PASSWORD, AZURE_ACCOUNT_NAME, AZURE_ACCOUNT_KEY']],
  ['b2 complete', 'b2', secret('RESTIC_PASSWORD', 'B2_ACCOUNT_ID', 'B2_ACCOUNT_KEY'), []],
  ['b2 without the key', 'b2', secret('RESTIC_PASSWORD', 'B2_ACCOUNT_ID'), ['missing required key B2_ACCOUNT_KEY']],
  ['swift with keystone v1', 'swift', secret('RESTIC_PASSWORD', 'ST_AUTH', 'ST_USER', 'ST_KEY'), []],
  ['swift with keystone v1 without ST_KEY', 'swift', secret('RESTIC_PASSWORD', 'ST_AUTH', 'ST_USER'), [SWIFT_SETS]],
  ['swift with keystone v2 and a tenant id', 'swift', secret('RESTIC_PASSWORD', ...V2, 'OS_TENANT_ID'), []],
  ['swift with keystone v2 and a tenant name', 'swift', secret('RESTIC_PASSWORD', ...V2, 'OS_TENANT_NAME'), []],
  ['swift with keystone v2 and no tenant', 'swift', secret('RESTIC_PASSWORD', ...V2), [SWIFT_SETS]],
  ['swift with the seed secret (v2, tenant id and name)', 'swift', secret('RESTIC_PASSWORD', ...V2, 'OS_TENANT_ID', 'OS_TENANT_NAME'), []],
  ['swift with keystone v3', 'swift', secret('RESTIC_PASSWORD', ...V3), []],
  ['swift with keystone v3 without a project domain', 'swift', secret('RESTIC_PASSWORD', ...V3.filter((k) => k !== 'OS_PROJECT_DOMAIN_NAME')), [SWIFT_SETS]],
  [
    'swift with an application credential',
    'swift',
    secret('RESTIC_PASSWORD', 'OS_AUTH_URL', 'OS_APPLICATION_CREDENTIAL_ID', 'OS_APPLICATION_CREDENTIAL_SECRET'),
    [],
  ],
  ['swift with a token', 'swift', secret('RESTIC_PASSWORD', 'OS_STORAGE_URL', 'OS_AUTH_TOKEN'), []],
  ['swift with a token and an empty storage url', 'swift', { ...secret('RESTIC_PASSWORD', 'OS_AUTH_TOKEN'), OS_STORAGE_URL: '' }, [SWIFT_SETS]],
  ['swift without anything', 'swift', {}, ['missing required key RESTIC_PASSWORD', SWIFT_SETS]],
  ['rest without credentials', 'rest', secret('RESTIC_PASSWORD'), []],
  ['rest with a username and a password', 'rest', secret('RESTIC_PASSWORD', 'RESTIC_REST_USERNAME', 'RESTIC_REST_PASSWORD'), []],
  ['rest with a username without a password', 'rest', secret('RESTIC_PASSWORD', 'RESTIC_REST_USERNAME'), [PAIR]],
  ['rest with a password without a username', 'rest', secret('RESTIC_PASSWORD', 'RESTIC_REST_PASSWORD'), [PAIR]],
];

describe('missingSecretKeys', () => {
  it.each(CASES)('%s', (_name, kind, given, problems) => {
    expect(missingSecretKeys(kind, given)).toEqual(problems);
  });

  it('covers all seven backends', () => {
    expect([...new Set(CASES.map(([, kind]) => kind))].sort()).toEqual(['azure', 'b2', 'gcs', 'local', 'rest', 's3', 'swift']);
  });

  it('never puts a secret value in a message', () => {
    const messages = CASES.flatMap(([, kind, given]) => missingSecretKeys(kind, given));
    const values = CASES.flatMap(([, , given]) => Object.values(given)).filter((v) => v !== '');
    expect(messages.length).toBeGreaterThan(10);
    expect(messages.filter((m) => values.some((v) => m.includes(v)))).toEqual([]);
  });
});

const KEYS_OR_AWS =
  ' (only an AWS endpoint such as s3.amazonaws.com can do without the keys: the task role, or your own AWS credentials locally, are used there)';
const s3At = (endpoint: string, prefix?: string): Backend => ({ storageSecretName: 's3-secret', s3: { endpoint, bucket: 'my-backups', ...(prefix === undefined ? {} : { prefix }) } });

describe('missingSecretKeys, given an S3 backend', () => {
  it.each<[string, string, Secret, string[]]>([
    ['AWS, a password only: the task role', 's3.amazonaws.com', secret('RESTIC_PASSWORD'), []],
    ['AWS, with keys', 'https://s3.eu-west-1.amazonaws.com', secret('RESTIC_PASSWORD', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'), []],
    ['AWS, one key of two', 's3.eu-west-1.amazonaws.com', secret('RESTIC_PASSWORD', 'AWS_SECRET_ACCESS_KEY'), ['AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be given together (or neither, to use the task role)']],
    ['AWS, no password', 's3.amazonaws.com', {}, ['missing required key RESTIC_PASSWORD']],
    ['another server, a password only', 'minio.example.com:9000', secret('RESTIC_PASSWORD'), [`missing required keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY${KEYS_OR_AWS}`]],
    ['another server, one key', 'http://127.0.0.1:9000', secret('RESTIC_PASSWORD', 'AWS_ACCESS_KEY_ID'), [`missing required key AWS_SECRET_ACCESS_KEY${KEYS_OR_AWS}`]],
  ])('%s', (_name, endpoint, given, problems) => {
    expect(missingSecretKeys(s3At(endpoint), given)).toEqual(problems);
  });

  it('asks for keys when only the kind is known', () => {
    expect(missingSecretKeys('s3', secret('RESTIC_PASSWORD'))).toEqual([`missing required keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY${KEYS_OR_AWS}`]);
  });
});

describe('isAwsS3Endpoint', () => {
  it.each([
    ['s3.amazonaws.com', true],
    ['https://s3.amazonaws.com', true],
    ['S3.EU-WEST-1.AMAZONAWS.COM', true],
    ['s3-external-1.amazonaws.com', true],
    ['s3-eu-west-1.amazonaws.com', true],
    ['http://s3.dualstack.us-east-2.amazonaws.com/', true],
    ['s3-fips.us-gov-west-1.amazonaws.com', true],
    ['s3-fips.dualstack.us-east-1.amazonaws.com', true],
    ['s3.cn-north-1.amazonaws.com.cn', true],
    ['https://bucket.vpce-0a1b2c3d4e5f6a7b8-x1y2z3.s3.eu-west-1.vpce.amazonaws.com', true],
    ['s3.amazonaws.com.', true],
    ['s3.amazonaws.com.example.org', false],
    ['evil-s3.amazonaws.com', false],
    ['my-bucket.s3.amazonaws.com', false],
    ['storage.googleapis.com', false],
    ['minio.example.com:9000', false],
    ['http://127.0.0.1:9000', false],
    ['https://s3.example.com/amazonaws.com', false],
  ])('%s: %s', (endpoint, aws) => {
    expect(isAwsS3Endpoint(endpoint)).toBe(aws);
  });
});

describe('S3 repository locations', () => {
  it.each([
    ['my-backups', { bucket: 'my-backups', prefix: '' }],
    ['my-backups/', { bucket: 'my-backups', prefix: '' }],
    ['my-backups/team-a//db/', { bucket: 'my-backups', prefix: 'team-a/db' }],
    [' shared.restic/x ', { bucket: 'shared.restic', prefix: 'x' }],
    ['My_Bucket', undefined],
    ['ab', undefined],
    ['my-backups/a b', undefined],
    ['my-backups/../x', undefined],
    ['a..b', undefined],
  ])('%j reads as %j', (text, location) => {
    expect(parseS3RepositoryLocation(text)).toEqual(location);
  });

  const locations = [{ bucket: 'my-backups', prefix: '' }, { bucket: 'shared', prefix: 'team-a' }];
  it.each([
    ['a whole bucket', s3At('s3.amazonaws.com', 'anything/below'), undefined],
    ['a prefix, at it', { storageSecretName: 's', s3: { endpoint: 's3.amazonaws.com', bucket: 'shared', prefix: '/team-a/' } }, undefined],
    ['a prefix, below it', { storageSecretName: 's', s3: { endpoint: 's3.amazonaws.com', bucket: 'shared', prefix: 'team-a/db' } }, undefined],
    [
      'a prefix that only starts alike',
      { storageSecretName: 's', s3: { endpoint: 's3.amazonaws.com', bucket: 'shared', prefix: 'team-ab' } },
      "s3://shared/team-ab is not among the stack's s3RepositoryBuckets (my-backups, shared/team-a)",
    ],
    [
      'the bucket root of a prefixed entry',
      { storageSecretName: 's', s3: { endpoint: 's3.amazonaws.com', bucket: 'shared' } },
      "s3://shared is not among the stack's s3RepositoryBuckets (my-backups, shared/team-a)",
    ],
    ['another server: not the task role\'s business', { storageSecretName: 's', s3: { endpoint: 'minio.example.com', bucket: 'elsewhere' } }, undefined],
    ['not S3', { storageSecretName: 's', rest: { url: 'http://rest.example/' } }, undefined],
  ] as [string, Backend, string | undefined][])('%s', (_name, backend, problem) => {
    expect(repositoryLocationProblem(backend, locations)).toBe(problem);
  });

  it('names no bucket when the stack has none', () => {
    expect(repositoryLocationProblem(s3At('s3.amazonaws.com'), [])).toBe("s3://my-backups is not among the stack's s3RepositoryBuckets (none)");
  });
});

describe('FolderSecretStore', () => {
  let dir: string;
  let store: FolderSecretStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stash-secret-test-'));
    store = new FolderSecretStore(dir);
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads <name>/<KEY> files with their content exactly, as kubectl create secret --from-file does', async () => {
    await mkdir(join(dir, 's3-secret', 'nested'), { recursive: true });
    await writeFile(join(dir, 's3-secret', 'RESTIC_PASSWORD'), 'changeit');
    await writeFile(join(dir, 's3-secret', 'AWS_ACCESS_KEY_ID'), 'AKIAIOSFODNN7EXAMPLE\n');
    await writeFile(join(dir, 's3-secret', 'AWS_SECRET_ACCESS_KEY'), '  wJalrXUtnFEMI/K7MDENG\n\n');
    await writeFile(join(dir, 's3-secret', '.DS_Store'), 'not a key');
    await writeFile(join(dir, 's3-secret', 'nested', 'KEY'), 'not a key either');
    expect(await store.get('s3-secret')).toEqual({ ref: join(dir, 's3-secret'), secret: expect.any(Object) });
    expect((await store.get('s3-secret'))?.secret).toEqual({
      RESTIC_PASSWORD: 'changeit',
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE\n',
      AWS_SECRET_ACCESS_KEY: '  wJalrXUtnFEMI/K7MDENG\n\n',
    });
  });

  it('reads <name>.json holding a flat object', async () => {
    await writeFile(join(dir, 'local-secret.json'), JSON.stringify({ RESTIC_PASSWORD: 'changeit\n', CA_CERT_DATA: '-----BEGIN CERTIFICATE-----\n' }));
    expect(await store.get('local-secret')).toEqual({ ref: join(dir, 'local-secret.json'), secret: expect.any(Object) });
    expect((await store.get('local-secret'))?.secret).toEqual({ RESTIC_PASSWORD: 'changeit\n', CA_CERT_DATA: '-----BEGIN CERTIFICATE-----\n' });
  });

  it('reads <name>.json holding a Kubernetes Secret, data base64 and stringData plain', async () => {
    // The seed's `kubectl get secret s3-secret -o yaml`, as JSON, with a stringData that wins over data as in Kubernetes.
    const k8s = {
      apiVersion: 'v1',
      data: {
        AWS_ACCESS_KEY_ID: 'PHlvdXItYXdzLWFjY2Vzcy1rZXktaWQtaGVyZT4=',
        AWS_SECRET_ACCESS_KEY: 'PHlvdXItYXdzLXNlY3JldC1hY2Nlc3Mta2V5LWhlcmU+',
        RESTIC_PASSWORD: 'Y2hhbmdlaXQ=',
      },
      stringData: { RESTIC_PASSWORD: 'changed-it', AWS_DEFAULT_REGION: 'eu-central-1' },
      kind: 'Secret',
      metadata: { creationTimestamp: '2017-06-28T12:22:33Z', name: 's3-secret', namespace: 'default', resourceVersion: '2511' },
      type: 'Opaque',
    };
    await writeFile(join(dir, 's3-secret.json'), JSON.stringify(k8s, null, 2));
    expect((await store.get('s3-secret'))?.secret).toEqual({
      AWS_ACCESS_KEY_ID: '<your-aws-access-key-id-here>',
      AWS_SECRET_ACCESS_KEY: '<your-aws-secret-access-key-here>',
      RESTIC_PASSWORD: 'changed-it',
      AWS_DEFAULT_REGION: 'eu-central-1',
    });
  });

  it('returns undefined for a secret that does not exist', async () => {
    await writeFile(join(dir, 'other.json'), '{}');
    expect(await store.get('s3-secret')).toBeUndefined();
  });

  it.each([
    ['a bare value', '{"RESTIC_PASSWORD": hunter2-7f3a9c}', ''],
    ['a missing brace', '{"RESTIC_PASSWORD": "hunter2-7f3a9c"', ' (at position 36)'],
  ])('refuses <name>.json with %s without quoting it', async (_what, content, where) => {
    const file = join(dir, 'broken.json');
    await writeFile(file, content);
    const error = await store.get('broken').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SecretError);
    expect((error as SecretError).message).toBe(`${file}: not valid JSON${where}`);
    expect((error as SecretError).message).not.toContain('hunter2');
  });

  it.each([
    ['a number value', { RESTIC_PASSWORD: 73919 }, ' (not: RESTIC_PASSWORD)'],
    ['a nested value', { RESTIC_PASSWORD: 'ok', AWS_SECRET_ACCESS_KEY: { value: 'wJalr-73919' } }, ' (not: AWS_SECRET_ACCESS_KEY)'],
    ['a list', ['73919'], ''],
    ['a Kubernetes Secret with a number in stringData', { kind: 'Secret', stringData: { RESTIC_PASSWORD: 73919 } }, ' (not: RESTIC_PASSWORD)'],
  ])('refuses <name>.json with %s, naming the key only', async (_what, content, keys) => {
    const file = join(dir, 'odd.json');
    await writeFile(file, JSON.stringify(content));
    const error = await store.get('odd').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SecretError);
    expect((error as SecretError).message).toBe(`${file}: must be an object of string values${keys}`);
    expect((error as SecretError).message).not.toContain('73919');
  });
});

describe('parseSecretObject', () => {
  it('decodes base64 data to UTF-8', () => {
    expect(parseSecretObject({ kind: 'Secret', data: { RESTIC_PASSWORD: Buffer.from('pässwörd\n').toString('base64') } }, 'x')).toEqual({
      RESTIC_PASSWORD: 'pässwörd\n',
    });
  });

  it('takes an object without kind Secret as flat, even with a data key', () => {
    expect(parseSecretObject({ data: 'Y2hhbmdlaXQ=' }, 'x')).toEqual({ data: 'Y2hhbmdlaXQ=' });
  });
});
