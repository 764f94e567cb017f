/**
 * The keys a backend's secret must hold, as Stash's backends document lists them. A secret is
 * a flat map of key to string value (a Kubernetes Secret's `data`, a Secrets Manager JSON
 * string, or a folder of files). Checks name keys, never values.
 */
import { similarNames } from '../core/names';
import * as z from './zod';
import type { BackendKind } from './restic';

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
 * What is missing from a secret for a backend: one message per gap, naming keys only.
 * An empty list means the secret is usable.
 */
export function missingSecretKeys(kind: BackendKind, secret: Secret): string[] {
  const problems: string[] = [];
  const missing = ['RESTIC_PASSWORD', ...REQUIRED_KEYS[kind]].filter((k) => !present(secret, k));
  if (missing.length) problems.push(`missing required key${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${nearMisses(kind, missing, secret)}`);
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
