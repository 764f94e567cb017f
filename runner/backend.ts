/**
 * A spec's backend and its secret, turned into what restic needs: the repository string,
 * exactly the environment variables of that backend, and global arguments. The mapping is
 * Stash's:
 *
 * | backend | RESTIC_REPOSITORY                  | from the secret                                          |
 * |---------|------------------------------------|----------------------------------------------------------|
 * | local   | the path                           | –                                                        |
 * | s3      | `s3:<endpoint>/<bucket>/<prefix>`  | AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN, AWS_DEFAULT_REGION); none at an AWS endpoint: see below |
 * | gcs     | `gs:<bucket>:/<prefix>`            | GOOGLE_PROJECT_ID; GOOGLE_SERVICE_ACCOUNT_JSON_KEY as a file named by GOOGLE_APPLICATION_CREDENTIALS |
 * | azure   | `azure:<container>:/<prefix>`      | AZURE_ACCOUNT_NAME, AZURE_ACCOUNT_KEY                    |
 * | swift   | `swift:<container>:/<prefix>`      | every variable of SWIFT_KEYS that is set                 |
 * | b2      | `b2:<bucket>:<prefix>`             | B2_ACCOUNT_ID, B2_ACCOUNT_KEY                            |
 * | rest    | `rest:<url>`                       | RESTIC_REST_USERNAME/PASSWORD, URL-encoded into the URL  |
 *
 * Every backend also gets RESTIC_PASSWORD, and `CA_CERT_DATA` (any backend) becomes a file
 * passed as `--cacert`. Files go into a private temporary folder that `cleanup()` removes.
 *
 * An S3 secret without AWS_ACCESS_KEY_ID, for an AWS endpoint (`usesAmbientAwsCredentials`),
 * gets the runner's own AWS credentials instead, which restic's S3 client (minio-go) reads
 * itself: on ECS the task role's, through the container credentials endpoint
 * ({@link AMBIENT_AWS_CREDENTIALS}); in local mode the environment's keys or a profile of
 * `~/.aws/credentials`. No other request of restic's is signed with them.
 */
import { chmod, lstat, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, SecretError } from '../core/errors';
import { backendKind, mountedVolume, type Backend, type BackendKind } from '../schemas/restic';
import { missingSecretKeys, normaliseKeyPrefix, SWIFT_KEYS, usesAmbientAwsCredentials, type Secret } from '../schemas/secret';

/** Where and how restic reaches one repository. */
export interface ResticTarget {
  /** RESTIC_REPOSITORY value. May embed REST credentials: never log it; use `display`. */
  readonly repository: string;
  /** The repository with credentials masked, for logs and errors. */
  readonly display: string;
  /** Exactly the variables restic needs for this backend (RESTIC_PASSWORD, RESTIC_REPOSITORY, backend vars, GOOGLE_APPLICATION_CREDENTIALS...). Nothing else. */
  readonly env: Readonly<Record<string, string>>;
  /** Extra global restic arguments, e.g. ['--cacert', '/tmp/.../ca.pem']. */
  readonly args: readonly string[];
  /** Every string that must never appear in output (secret values and derived forms such as URL-encoded passwords). */
  readonly secrets: readonly string[];
  /** Removes the private temporary folder (credential files). Idempotent; call in finally. */
  cleanup(): Promise<void>;
}

/**
 * The variables of the runner's own environment through which restic's S3 client (minio-go
 * 7.0.89 in Debian's restic 0.18) finds AWS credentials, in its order: keys
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), a profile of the shared
 * credentials file (`AWS_PROFILE`, `AWS_SHARED_CREDENTIALS_FILE`, else `$HOME/.aws/credentials`,
 * `credential_process` included; it does not read `~/.aws/config`), then the container
 * credentials endpoint ECS gives a task (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, or `_FULL_URI`
 * on a loopback address with `AWS_CONTAINER_AUTHORIZATION_TOKEN` or `_TOKEN_FILE`).
 * `AWS_REGION` and `AWS_DEFAULT_REGION` are left out: restic takes the region from the spec's
 * endpoint (or asks the bucket), and the runner's region would override that.
 */
export const AMBIENT_AWS_CREDENTIALS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
] as const;

/** The ambient variables whose values are secret: masked in restic's output like the secret's. */
const AMBIENT_SECRETS = ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_AUTHORIZATION_TOKEN'];

/** Options of {@link prepareTarget}. */
export interface PrepareTargetOptions {
  /**
   * For the local backend, the resolved repository path (the caller resolves volumes).
   * @default the local backend's mount path (`mountPath`, or Stash 0.5's `path`)
   */
  readonly localRepository?: string;
  /**
   * Where the private folder for credential files is created.
   * @default os.tmpdir()
   */
  readonly tmpDir?: string;
  /**
   * The runner's own environment, where an S3 secret without keys takes its AWS credentials
   * from ({@link AMBIENT_AWS_CREDENTIALS}).
   * @default process.env
   */
  readonly environment?: NodeJS.ProcessEnv;
}

/** What a credential file is for; names the file and the error when writing it fails. */
interface CredentialFile {
  readonly name: string;
  readonly what: string;
  readonly content: string;
}

/** `/a//b/` → `a/b`: no leading, trailing or doubled slashes, no `.` segments. */
const repositoryPrefix = normaliseKeyPrefix;

const has = (secret: Secret, key: string): boolean => typeof secret[key] === 'string' && secret[key] !== '';

/** Copies the keys of `secret` (or of an environment) that are set into `env`. */
function passThrough(env: Record<string, string>, secret: Readonly<Record<string, string | undefined>>, keys: readonly string[]): void {
  for (const key of keys) {
    const value = secret[key];
    if (typeof value === 'string' && value !== '') env[key] = value;
  }
}

/**
 * The inside of Go's `strconv.Quote(value)` (`ascii`: `strconv.QuoteToASCII`), how restic
 * prints a value in `%q` and in its errors: printable characters as they are (ASCII only
 * with `ascii`), `\"` and `\\`, the C escapes, `\xNN` below a space, `\uNNNN` and
 * `\UNNNNNNNN` for the rest.
 *
 * @example goQuoted('Uq8\u202e') // 'Uq8\\u202e' (the six characters \u202e)
 */
export function goQuoted(value: string, ascii = false): string {
  const named: Record<string, string> = { '\u0007': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code >= 0x20 && code < 0x7f) out += ch;
    else if (!ascii && code >= 0x80 && (code === 0x20 || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch))) out += ch;
    else if (named[ch]) out += named[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return out;
}

/**
 * The forms in which a secret value may show up in output: as is, trimmed, URL-encoded,
 * JSON-escaped (restic's `--json` messages) and as Go quotes it (`%q`, its errors), and for a
 * service account key its private key.
 */
function derivedForms(value: string): string[] {
  const forms = [value, value.trim(), encodeURIComponent(value), JSON.stringify(value).slice(1, -1), goQuoted(value), goQuoted(value, true)];
  if (value.trimStart().startsWith('{')) {
    try {
      const parsed = JSON.parse(value) as Record<string, unknown>;
      for (const key of ['private_key', 'private_key_id', 'client_secret', 'refresh_token']) {
        const field = parsed[key];
        if (typeof field === 'string' && field !== '') forms.push(field, field.trim(), JSON.stringify(field).slice(1, -1));
      }
    } catch {
      // not JSON: the value itself is covered
    }
  }
  return forms;
}

function uniqueSecrets(values: readonly string[]): string[] {
  return [...new Set(values.filter((v) => v !== ''))].sort((a, b) => b.length - a.length);
}

/**
 * `rest:<url>`, with `RESTIC_REST_USERNAME`/`RESTIC_REST_PASSWORD` URL-encoded into the
 * URL's userinfo: restic 0.14 reads credentials only from there. The display form masks
 * any userinfo, whether it came from the secret or from the URL.
 */
function restRepository(url: string, secret: Secret): { repository: string; display: string; derived: string[] } {
  const parsed = new URL(url);
  const scheme = `${parsed.protocol}//`;
  // Everything after the authority, exactly as written in the spec.
  const rest = url.slice(url.indexOf('//') + 2);
  const authority = rest.split(/[/?#]/, 1)[0];
  const afterAuthority = rest.slice(authority.length);
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const hadUserinfo = authority.includes('@');
  if (has(secret, 'RESTIC_REST_USERNAME') && has(secret, 'RESTIC_REST_PASSWORD')) {
    const user = encodeURIComponent(secret.RESTIC_REST_USERNAME);
    const pass = encodeURIComponent(secret.RESTIC_REST_PASSWORD);
    return {
      repository: `rest:${scheme}${user}:${pass}@${hostPort}${afterAuthority}`,
      display: `rest:${scheme}***:***@${hostPort}${afterAuthority}`,
      derived: [user, pass],
    };
  }
  const userinfo = hadUserinfo ? authority.slice(0, authority.lastIndexOf('@')) : '';
  return {
    repository: `rest:${url}`,
    display: hadUserinfo ? `rest:${scheme}${userinfo.includes(':') ? '***:***' : '***'}@${hostPort}${afterAuthority}` : `rest:${url}`,
    derived: userinfo ? userinfo.split(':').flatMap((part) => [part, decodeURIComponentSafe(part)]) : [],
  };
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `s3:<endpoint>/<bucket>[/<prefix>]`; an endpoint's trailing slash is dropped. */
function s3Repository(endpoint: string, bucket: string, prefix: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return `s3:${base}/${bucket}${prefix ? `/${prefix}` : ''}`;
}

/**
 * Maps `backend` and `secret` to restic's repository, environment and arguments, writing
 * credential files (the GCS service account key, `CA_CERT_DATA`) with mode 0600 into a
 * fresh 0700 folder. Checks the secret first: when keys are missing it throws
 * {@link SecretError} naming them, and nothing is written.
 *
 * @example
 * const target = await prepareTarget(spec.spec.backend, secret);
 * try {
 *   spawn('restic', [...target.args, 'snapshots', '--json'], { env: { PATH, HOME, ...target.env } });
 *   log.info(`backing up to ${target.display}`);
 * } finally {
 *   await target.cleanup();
 * }
 */
export async function prepareTarget(backend: Backend, secret: Secret, options: PrepareTargetOptions = {}): Promise<ResticTarget> {
  const kind: BackendKind = backendKind(backend);
  const problems = missingSecretKeys(backend, secret);
  if (problems.length) {
    throw new SecretError(`secret "${backend.storageSecretName}" cannot be used for the ${kind} backend: ${problems.join('; ')}`);
  }

  const env: Record<string, string> = { RESTIC_PASSWORD: secret.RESTIC_PASSWORD };
  const files: CredentialFile[] = [];
  const fileEnv: Record<string, string> = {};
  const derived: string[] = [];
  let repository: string;
  let display: string | undefined;

  switch (kind) {
    case 'local':
      repository = options.localRepository ?? mountedVolume(backend.local!).mountPath;
      break;
    case 's3': {
      const s3 = backend.s3!;
      repository = s3Repository(s3.endpoint, s3.bucket, repositoryPrefix(s3.prefix));
      if (usesAmbientAwsCredentials(backend, secret)) {
        const ambient = options.environment ?? process.env;
        passThrough(env, ambient, AMBIENT_AWS_CREDENTIALS);
        derived.push(...AMBIENT_SECRETS.flatMap((k) => (ambient[k] ? derivedForms(ambient[k]) : [])));
        passThrough(env, secret, ['AWS_DEFAULT_REGION']);
      } else {
        passThrough(env, secret, ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_REGION']);
      }
      break;
    }
    case 'gcs': {
      const gcs = backend.gcs!;
      repository = `gs:${gcs.bucket}:/${repositoryPrefix(gcs.prefix)}`;
      env.GOOGLE_PROJECT_ID = secret.GOOGLE_PROJECT_ID;
      files.push({ name: 'google-service-account.json', what: 'the Google service account key', content: secret.GOOGLE_SERVICE_ACCOUNT_JSON_KEY });
      fileEnv.GOOGLE_APPLICATION_CREDENTIALS = 'google-service-account.json';
      break;
    }
    case 'azure': {
      const azure = backend.azure!;
      repository = `azure:${azure.container}:/${repositoryPrefix(azure.prefix)}`;
      passThrough(env, secret, ['AZURE_ACCOUNT_NAME', 'AZURE_ACCOUNT_KEY']);
      break;
    }
    case 'swift': {
      const swift = backend.swift!;
      repository = `swift:${swift.container}:/${repositoryPrefix(swift.prefix)}`;
      passThrough(env, secret, SWIFT_KEYS);
      break;
    }
    case 'b2': {
      const b2 = backend.b2!;
      repository = `b2:${b2.bucket}:${repositoryPrefix(b2.prefix)}`;
      passThrough(env, secret, ['B2_ACCOUNT_ID', 'B2_ACCOUNT_KEY']);
      break;
    }
    case 'rest': {
      const rest = restRepository(backend.rest!.url, secret);
      repository = rest.repository;
      display = rest.display;
      derived.push(...rest.derived);
      break;
    }
  }
  env.RESTIC_REPOSITORY = repository;

  if (has(secret, 'CA_CERT_DATA')) {
    files.push({ name: 'ca.pem', what: 'the CA certificate (CA_CERT_DATA)', content: secret.CA_CERT_DATA });
  }

  const secrets = uniqueSecrets([...Object.values(secret).flatMap((v) => (typeof v === 'string' && v !== '' ? derivedForms(v) : [])), ...derived]);

  let dir: string | undefined;
  const cleanup = async () => {
    if (dir === undefined) return;
    const folder = dir;
    dir = undefined;
    await rm(folder, { recursive: true, force: true });
  };

  // Whatever a killed run left on disk goes before this run writes anything.
  await removeLeftCredentials(options.tmpDir ?? tmpdir());
  const args: string[] = [];
  if (files.length) {
    const parent = options.tmpDir ?? tmpdir();
    try {
      dir = await mkdtemp(join(parent, `${CREDENTIALS_FOLDER}${process.pid}-`));
      await chmod(dir, 0o700);
    } catch (err) {
      await cleanup();
      throw new ConfigError(`failed to create a private folder for ${kind} credentials in ${parent}: ${(err as Error).message}`, { cause: err });
    }
    for (const file of files) {
      const path = join(dir, file.name);
      try {
        // 'wx': never follow or reuse something already there.
        await writeFile(path, file.content, { mode: 0o600, flag: 'wx' });
        await chmod(path, 0o600);
      } catch (err) {
        await cleanup();
        throw new ConfigError(`failed to write ${file.what} to ${path}: ${(err as Error).message}`, { cause: err });
      }
      if (file.name === 'ca.pem') args.push('--cacert', path);
    }
    for (const [key, name] of Object.entries(fileEnv)) env[key] = join(dir, name);
  }

  return {
    repository,
    display: display ?? repository,
    env,
    args,
    secrets,
    cleanup,
  };
}

/** The private folders of credential files: `stash-restic-<pid>-XXXXXX` in the temp dir. */
const CREDENTIALS_FOLDER = 'stash-restic-';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the credential folders that a killed run left behind (its process is gone): a
 * secret on disk lives no longer than the run that needed it, or than the start of the next.
 * Only folders of this user are touched; ones whose process still runs are left alone.
 */
export async function removeLeftCredentials(parent: string): Promise<string[]> {
  const removed: string[] = [];
  const uid = process.getuid?.();
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    const pid = Number(new RegExp(`^${CREDENTIALS_FOLDER}(\\d+)-`).exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    const path = join(parent, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed;
}

/**
 * Replaces every secret string in text with '***' (longest first, so a secret that
 * contains another is masked whole).
 *
 * @example
 * redact('Fatal: wrong password hunter2', ['hunter2']) // 'Fatal: wrong password ***'
 */
export function redact(text: string, secrets: readonly string[]): string {
  const ordered = [...new Set(secrets.filter((s) => s !== ''))].sort((a, b) => b.length - a.length);
  let result = text;
  for (const secret of ordered) result = result.split(secret).join('***');
  return result;
}
