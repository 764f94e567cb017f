/**
 * The keys a backend's secret must hold, as Stash's backends document lists them. A secret is
 * a flat map of key to string value (a Kubernetes Secret's `data`, a Secrets Manager JSON
 * string, or a folder of files). Checks name keys, never values.
 */
import { similarNames } from '../core/names';
import * as z from './zod';
import { backendKind, type Backend, type BackendKind } from './restic';

/**
 * The Secrets Manager name prefix of the stack's secrets: the secret for `storageSecretName`
 * N is `stash/N`. The stack's setting, the functions' environment and the CLI's `sm://`
 * default all start from this one value.
 */
export const DEFAULT_SECRET_PREFIX = 'stash/';

/** A secret's content: key to value. */
export const SecretSchema = z.record(z.string(), z.string({ error: 'must be a string' }));
export type Secret = z.infer<typeof SecretSchema>;

/** OpenStack Swift: any one complete set authenticates. */
export const SWIFT_AUTH_SETS: Record<string, readonly (string | readonly string[])[]> = {
  'keystone v1': ['ST_AUTH', 'ST_USER', 'ST_KEY'],
  'keystone v2': ['OS_AUTH_URL', 'OS_USERNAME', 'OS_PASSWORD', ['OS_TENANT_ID', 'OS_TENANT_NAME']],
  'keystone v3': ['OS_AUTH_URL', 'OS_USERNAME', 'OS_PASSWORD', 'OS_USER_DOMAIN_NAME', 'OS_PROJECT_NAME', 'OS_PROJECT_DOMAIN_NAME'],
  'keystone v3 application credential': ['OS_AUTH_URL', 'OS_APPLICATION_CREDENTIAL_ID', 'OS_APPLICATION_CREDENTIAL_SECRET'],
  token: ['OS_STORAGE_URL', 'OS_AUTH_TOKEN'],
};

/** Every Swift variable the runner passes through when set. */
export const SWIFT_KEYS = [
  'ST_AUTH',
  'ST_USER',
  'ST_KEY',
  'OS_AUTH_URL',
  'OS_REGION_NAME',
  'OS_USERNAME',
  'OS_USER_ID',
  'OS_PASSWORD',
  'OS_TENANT_ID',
  'OS_TENANT_NAME',
  'OS_USER_DOMAIN_NAME',
  'OS_USER_DOMAIN_ID',
  'OS_PROJECT_NAME',
  'OS_PROJECT_DOMAIN_NAME',
  'OS_PROJECT_DOMAIN_ID',
  'OS_TRUST_ID',
  'OS_APPLICATION_CREDENTIAL_ID',
  'OS_APPLICATION_CREDENTIAL_NAME',
  'OS_APPLICATION_CREDENTIAL_SECRET',
  'OS_STORAGE_URL',
  'OS_AUTH_TOKEN',
  'SWIFT_DEFAULT_CONTAINER_POLICY',
] as const;

/** Required keys per backend (besides `RESTIC_PASSWORD`, which every backend needs). */
export const REQUIRED_KEYS: Record<BackendKind, readonly string[]> = {
  local: [],
  s3: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
  gcs: ['GOOGLE_PROJECT_ID', 'GOOGLE_SERVICE_ACCOUNT_JSON_KEY'],
  azure: ['AZURE_ACCOUNT_NAME', 'AZURE_ACCOUNT_KEY'],
  swift: [],
  b2: ['B2_ACCOUNT_ID', 'B2_ACCOUNT_KEY'],
  rest: [],
};

/** Optional keys per backend that Stash reads when present. */
export const OPTIONAL_KEYS: Record<BackendKind, readonly string[]> = {
  local: ['CA_CERT_DATA'],
  s3: ['CA_CERT_DATA', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_REGION'],
  gcs: ['CA_CERT_DATA'],
  azure: ['CA_CERT_DATA'],
  swift: ['CA_CERT_DATA', ...SWIFT_KEYS],
  b2: ['CA_CERT_DATA'],
  rest: ['CA_CERT_DATA', 'RESTIC_REST_USERNAME', 'RESTIC_REST_PASSWORD'],
};

const present = (secret: Secret, key: string) => typeof secret[key] === 'string' && secret[key] !== '';

/** ` (found RESTIC_PASWORD: did you mean RESTIC_PASSWORD?)` for keys the secret has that are a typo of a missing one. */
function nearMisses(kind: BackendKind, missing: readonly string[], secret: Secret): string {
  const known = new Set(['RESTIC_PASSWORD', ...REQUIRED_KEYS[kind], ...OPTIONAL_KEYS[kind]]);
  const unknown = Object.keys(secret).filter((k) => !known.has(k));
  const hints = missing.flatMap((m) => similarNames(m, unknown).slice(0, 1).map((found) => `found ${found}: did you mean ${m}?`));
  return hints.length ? ` (${hints.join('; ')})` : '';
}

/**
 * The host names of AWS's own S3 endpoints: the global one (`s3.amazonaws.com`,
 * `s3-external-1`), the regional ones (`s3.<region>`, the older `s3-<region>`), dual-stack and
 * FIPS, China's (`.amazonaws.com.cn`) and S3 interface endpoints
 * (`bucket.vpce-<id>.s3.<region>.vpce.amazonaws.com`). Nothing else is AWS: a request signed
 * with AWS credentials goes to no other host.
 */
const AWS_S3_HOST = /^(?:s3(?:-external-1)?|s3(?:-fips)?(?:\.dualstack)?[.-][a-z]{2}(?:-[a-z]+)+-\d+|(?:[a-z0-9-]+\.)*vpce-[a-z0-9-]+\.s3\.[a-z]{2}(?:-[a-z]+)+-\d+\.vpce)\.amazonaws\.com(?:\.cn)?$/;

/**
 * Whether an S3 `endpoint` (a host, or an `http(s)://` URL) is AWS's own S3, by its host
 * name (see {@link AWS_S3_HOST}); a port is ignored.
 *
 * @example isAwsS3Endpoint('s3.eu-west-1.amazonaws.com') // true
 * @example isAwsS3Endpoint('https://minio.example.com:9000') // false
 */
export function isAwsS3Endpoint(endpoint: string): boolean {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  if (!URL.canParse(url)) return false;
  return AWS_S3_HOST.test(new URL(url).hostname.toLowerCase().replace(/\.$/, ''));
}

/**
 * Whether restic reaches this backend with the runtime's own AWS credentials rather than keys
 * from the secret: an S3 backend at an AWS endpoint whose secret holds no `AWS_ACCESS_KEY_ID`.
 * On AWS that is the runner task's role; in local mode, the standard chain (environment
 * variables, `AWS_PROFILE` in `~/.aws/credentials`).
 */
export function usesAmbientAwsCredentials(backend: Backend, secret: Secret): boolean {
  return backend.s3 !== undefined && isAwsS3Endpoint(backend.s3.endpoint) && !present(secret, 'AWS_ACCESS_KEY_ID');
}

const S3_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

/**
 * What is missing from a secret for a backend: one message per gap, naming keys only.
 * An empty list means the secret is usable. Given the backend (not only its kind), an S3
 * secret at an AWS endpoint may hold `RESTIC_PASSWORD` alone: restic then uses the runtime's
 * AWS credentials ({@link usesAmbientAwsCredentials}).
 */
export function missingSecretKeys(backend: Backend | BackendKind, secret: Secret): string[] {
  const kind = typeof backend === 'string' ? backend : backendKind(backend);
  const keyless = typeof backend !== 'string' && backend.s3 !== undefined && isAwsS3Endpoint(backend.s3.endpoint);
  const problems: string[] = [];
  const required = kind === 's3' && keyless ? [] : REQUIRED_KEYS[kind];
  const missing = ['RESTIC_PASSWORD', ...required].filter((k) => !present(secret, k));
  if (missing.length) {
    const s3 = kind === 's3' && missing.some((k) => S3_KEYS.includes(k));
    problems.push(
      `missing required key${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${nearMisses(kind, missing, secret)}${s3 ? ' (only an AWS endpoint such as s3.amazonaws.com can do without the keys: the task role, or your own AWS credentials locally, are used there)' : ''}`,
    );
  }
  if (kind === 's3' && keyless && present(secret, 'AWS_ACCESS_KEY_ID') !== present(secret, 'AWS_SECRET_ACCESS_KEY')) {
    problems.push('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be given together (or neither, to use the task role)');
  }
  if (kind === 'swift') {
    const complete = Object.values(SWIFT_AUTH_SETS).some((set) =>
      set.every((k) => (typeof k === 'string' ? present(secret, k) : k.some((alt) => present(secret, alt)))),
    );
    if (!complete) {
      problems.push(
        `no complete Swift authentication set: give one of ${Object.entries(SWIFT_AUTH_SETS)
          .map(([name, set]) => `${name} (${set.map((k) => (typeof k === 'string' ? k : k.join(' or '))).join(', ')})`)
          .join('; ')}`,
      );
    }
  }
  if (kind === 'rest' && present(secret, 'RESTIC_REST_USERNAME') !== present(secret, 'RESTIC_REST_PASSWORD')) {
    problems.push('RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD must be given together');
  }
  return problems;
}

/** Where S3 repositories may be that restic reaches with the task role: a bucket, or a key prefix in one (`''`: the whole bucket). */
export interface S3RepositoryLocation {
  readonly bucket: string;
  readonly prefix: string;
}

/** `/a//b/` → `a/b`: a key prefix without leading, trailing or doubled slashes or `.` segments. */
export function normaliseKeyPrefix(prefix: string | undefined): string {
  return (prefix ?? '')
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9!_.*'()-]+$/;

/**
 * `bucket` or `bucket/prefix` as the `s3RepositoryBuckets` setting gives it; undefined when it
 * is not an S3 bucket name (and folder names after it).
 *
 * @example parseS3RepositoryLocation('my-backups/stash/') // { bucket: 'my-backups', prefix: 'stash' }
 */
export function parseS3RepositoryLocation(text: string): S3RepositoryLocation | undefined {
  const [bucket, ...rest] = text.trim().split('/');
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) return undefined;
  const prefix = normaliseKeyPrefix(rest.join('/'));
  if (prefix !== '' && !prefix.split('/').every((p) => PREFIX_SEGMENT.test(p) && p !== '..')) return undefined;
  return { bucket, prefix };
}

/** Each `bucket` or `bucket/prefix` of a list the stack wrote (its settings validated them); anything else is left out. */
export function parseS3RepositoryLocations(list: readonly string[]): S3RepositoryLocation[] {
  return list.map((l) => parseS3RepositoryLocation(l)).filter((l): l is S3RepositoryLocation => l !== undefined);
}

/** The setting's form of a location: `bucket` or `bucket/prefix`. */
export const formatS3RepositoryLocation = (l: S3RepositoryLocation): string => (l.prefix ? `${l.bucket}/${l.prefix}` : l.bucket);

/**
 * Why the task role cannot reach an S3 backend's repository: its bucket (and prefix) is not
 * among `locations` (the stack's `s3RepositoryBuckets`), in words a message can go on from.
 * Undefined when it is, or when the backend is not S3 at an AWS endpoint.
 */
export function repositoryLocationProblem(backend: Backend, locations: readonly S3RepositoryLocation[]): string | undefined {
  const s3 = backend.s3;
  if (!s3 || !isAwsS3Endpoint(s3.endpoint)) return undefined;
  const prefix = normaliseKeyPrefix(s3.prefix);
  const inside = (l: S3RepositoryLocation) => l.bucket === s3.bucket && (l.prefix === '' || prefix === l.prefix || prefix.startsWith(`${l.prefix}/`));
  if (locations.some(inside)) return undefined;
  const where = prefix ? `s3://${s3.bucket}/${prefix}` : `s3://${s3.bucket}`;
  const listed = locations.length ? locations.map(formatS3RepositoryLocation).join(', ') : 'none';
  return `${where} is not among the stack's s3RepositoryBuckets (${listed})`;
}
