import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { goQuoted, prepareTarget, redact, removeLeftCredentials, type ResticTarget } from '../../runner/backend';
import { ConfigError, SecretError } from '../../core/errors';
import type { Backend } from '../../schemas/restic';
import { SWIFT_KEYS, type Secret } from '../../schemas/secret';

// Fault injection for the "a file cannot be written" path: the real writeFile, unless a test
// names a file that must fail.
const fault = vi.hoisted(() => ({ failName: undefined as string | undefined }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    writeFile: (async (path: Parameters<typeof real.writeFile>[0], ...rest: unknown[]) => {
      if (fault.failName !== undefined && String(path).endsWith(`/${fault.failName}`)) {
        throw Object.assign(new Error(`ENOSPC: no space left on device, open '${String(path)}'`), { code: 'ENOSPC' });
      }
      return (real.writeFile as (...args: unknown[]) => Promise<void>)(path, ...rest);
    }) as typeof real.writeFile,
  };
});

const PASSWORD = 'restic-pass-7f3a';
const SERVICE_ACCOUNT = JSON.stringify({
  type: 'service_account',
  project_id: 'proj-1',
  private_key_id: 'key-id-91ac',
  private_key: '-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n',
  client_email: 'backup@proj-1.iam.gserviceaccount.com',
});
const CA = '-----BEGIN CERTIFICATE-----\nMIIBfTCCASOgAwIBAgIUX\n-----END CERTIFICATE-----\n';

const volumeSource = { hostPath: { path: '/srv/repo' } };

let work: string;
let targets: ResticTarget[];

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'stash-backend-test-'));
  targets = [];
  fault.failName = undefined;
});

afterEach(async () => {
  fault.failName = undefined;
  await Promise.all(targets.map((t) => t.cleanup()));
  await rm(work, { recursive: true, force: true });
});

async function prepare(backend: Backend, secret: Secret, options: { localRepository?: string } = {}): Promise<ResticTarget> {
  const target = await prepareTarget(backend, secret, { ...options, tmpDir: work });
  targets.push(target);
  return target;
}

describe('prepareTarget', () => {
  const cases: { name: string; backend: Backend; secret: Secret; repository: string; env: Record<string, string> }[] = [
    {
      name: 'local',
      backend: { storageSecretName: 'local-secret', local: { path: '/repo', volumeSource } },
      secret: { RESTIC_PASSWORD: PASSWORD, AWS_ACCESS_KEY_ID: 'unrelated' },
      repository: '/repo',
      env: { RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: '/repo' },
    },
    {
      name: 's3',
      backend: { storageSecretName: 's3-secret', s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-qa', prefix: 'demo' } },
      secret: { RESTIC_PASSWORD: PASSWORD, AWS_ACCESS_KEY_ID: 'AKIA123', AWS_SECRET_ACCESS_KEY: 'sekret/+=', AZURE_ACCOUNT_KEY: 'unrelated' },
      repository: 's3:s3.amazonaws.com/stash-qa/demo',
      env: {
        RESTIC_PASSWORD: PASSWORD,
        RESTIC_REPOSITORY: 's3:s3.amazonaws.com/stash-qa/demo',
        AWS_ACCESS_KEY_ID: 'AKIA123',
        AWS_SECRET_ACCESS_KEY: 'sekret/+=',
      },
    },
    {
      name: 'azure',
      backend: { storageSecretName: 'azure-secret', azure: { container: 'stashqa', prefix: '/demo/' } },
      secret: { RESTIC_PASSWORD: PASSWORD, AZURE_ACCOUNT_NAME: 'acct', AZURE_ACCOUNT_KEY: 'azkey==', B2_ACCOUNT_ID: 'unrelated' },
      repository: 'azure:stashqa:/demo',
      env: { RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: 'azure:stashqa:/demo', AZURE_ACCOUNT_NAME: 'acct', AZURE_ACCOUNT_KEY: 'azkey==' },
    },
    {
      name: 'swift',
      backend: { storageSecretName: 'swift-secret', swift: { container: 'stashqa', prefix: 'demo' } },
      secret: { RESTIC_PASSWORD: PASSWORD, ST_AUTH: 'http://127.0.0.1:8080/auth/v1.0', ST_USER: 'test:tester', ST_KEY: 'testing', GOOGLE_PROJECT_ID: 'unrelated' },
      repository: 'swift:stashqa:/demo',
      env: {
        RESTIC_PASSWORD: PASSWORD,
        RESTIC_REPOSITORY: 'swift:stashqa:/demo',
        ST_AUTH: 'http://127.0.0.1:8080/auth/v1.0',
        ST_USER: 'test:tester',
        ST_KEY: 'testing',
      },
    },
    {
      name: 'b2',
      backend: { storageSecretName: 'b2-secret', b2: { bucket: 'stash-qa', prefix: 'demo' } },
      secret: { RESTIC_PASSWORD: PASSWORD, B2_ACCOUNT_ID: 'b2id', B2_ACCOUNT_KEY: 'b2key', AWS_SECRET_ACCESS_KEY: 'unrelated' },
      repository: 'b2:stash-qa:demo',
      env: { RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: 'b2:stash-qa:demo', B2_ACCOUNT_ID: 'b2id', B2_ACCOUNT_KEY: 'b2key' },
    },
    {
      name: 'rest',
      backend: { storageSecretName: 'rest-secret', rest: { url: 'http://rest.example:8000/repo/' } },
      secret: { RESTIC_PASSWORD: PASSWORD, AWS_ACCESS_KEY_ID: 'unrelated' },
      repository: 'rest:http://rest.example:8000/repo/',
      env: { RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: 'rest:http://rest.example:8000/repo/' },
    },
  ];

  it.each(cases)('maps $name to its repository and exactly its variables', async ({ backend, secret, repository, env }) => {
    const target = await prepare(backend, secret);
    expect(target.repository).toBe(repository);
    expect(target.display).toBe(repository);
    expect(target.env).toEqual(env);
    expect(target.args).toEqual([]);
    expect(await readdir(work)).toEqual([]);
  });

  it('maps gcs to gs:<bucket>:/<prefix> with the project and a credentials file', async () => {
    const target = await prepare(
      { storageSecretName: 'gcs-secret', gcs: { bucket: 'stash-qa', prefix: 'demo' } },
      { RESTIC_PASSWORD: PASSWORD, GOOGLE_PROJECT_ID: 'proj-1', GOOGLE_SERVICE_ACCOUNT_JSON_KEY: SERVICE_ACCOUNT, AZURE_ACCOUNT_KEY: 'unrelated' },
    );
    expect(target.repository).toBe('gs:stash-qa:/demo');
    expect(Object.keys(target.env).sort()).toEqual(['GOOGLE_APPLICATION_CREDENTIALS', 'GOOGLE_PROJECT_ID', 'RESTIC_PASSWORD', 'RESTIC_REPOSITORY']);
    expect(target.env.GOOGLE_PROJECT_ID).toBe('proj-1');
    expect(target.env.RESTIC_REPOSITORY).toBe('gs:stash-qa:/demo');
    expect(target.args).toEqual([]);
  });

  it.each([
    ['s3 without a prefix', { s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-qa' } }, 's3:s3.amazonaws.com/stash-qa'],
    ['s3 with slashes around the prefix', { s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-qa', prefix: '//a//b/' } }, 's3:s3.amazonaws.com/stash-qa/a/b'],
    ['s3 over http', { s3: { endpoint: 'http://minio.local:9000', bucket: 'stash-qa', prefix: 'p' } }, 's3:http://minio.local:9000/stash-qa/p'],
    ['s3 over https with a trailing slash', { s3: { endpoint: 'https://127.0.0.1:4569/', bucket: 'stash-qa', prefix: 'p/' } }, 's3:https://127.0.0.1:4569/stash-qa/p'],
    ['gcs without a prefix', { gcs: { bucket: 'stash-qa' } }, 'gs:stash-qa:/'],
    ['azure with ./ segments', { azure: { container: 'stashqa', prefix: './a/./b' } }, 'azure:stashqa:/a/b'],
    ['azure without a prefix', { azure: { container: 'stashqa' } }, 'azure:stashqa:/'],
    ['swift with a leading slash', { swift: { container: 'c', prefix: '/x/y' } }, 'swift:c:/x/y'],
    ['b2 with slashes around the prefix', { b2: { bucket: 'stash-qa', prefix: '/a/b/' } }, 'b2:stash-qa:a/b'],
    ['b2 without a prefix', { b2: { bucket: 'stash-qa' } }, 'b2:stash-qa:'],
  ] as const)('normalises %s', async (_name, kind, repository) => {
    const secret: Secret = {
      RESTIC_PASSWORD: PASSWORD,
      AWS_ACCESS_KEY_ID: 'a',
      AWS_SECRET_ACCESS_KEY: 'b',
      GOOGLE_PROJECT_ID: 'p',
      GOOGLE_SERVICE_ACCOUNT_JSON_KEY: SERVICE_ACCOUNT,
      AZURE_ACCOUNT_NAME: 'n',
      AZURE_ACCOUNT_KEY: 'k',
      ST_AUTH: 'http://127.0.0.1:8080/auth/v1.0',
      ST_USER: 'u',
      ST_KEY: 'k',
      B2_ACCOUNT_ID: 'i',
      B2_ACCOUNT_KEY: 'k',
    };
    const target = await prepare({ storageSecretName: 's', ...kind } as Backend, secret);
    expect(target.repository).toBe(repository);
    expect(target.env.RESTIC_REPOSITORY).toBe(repository);
  });

  it('uses the resolved local repository path when the caller gives one', async () => {
    const target = await prepare(
      { storageSecretName: 'local-secret', local: { path: '/repo', volumeSource } },
      { RESTIC_PASSWORD: PASSWORD },
      { localRepository: '/srv/repo' },
    );
    expect(target.repository).toBe('/srv/repo');
    expect(target.env).toEqual({ RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: '/srv/repo' });
  });

  it('passes AWS_SESSION_TOKEN and AWS_DEFAULT_REGION to s3 when they are set', async () => {
    const target = await prepare(
      { storageSecretName: 's3-secret', s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-qa' } },
      { RESTIC_PASSWORD: PASSWORD, AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'sk', AWS_SESSION_TOKEN: 'tok', AWS_DEFAULT_REGION: 'eu-west-1' },
    );
    expect(target.env).toEqual({
      RESTIC_PASSWORD: PASSWORD,
      RESTIC_REPOSITORY: 's3:s3.amazonaws.com/stash-qa',
      AWS_ACCESS_KEY_ID: 'AKIA',
      AWS_SECRET_ACCESS_KEY: 'sk',
      AWS_SESSION_TOKEN: 'tok',
      AWS_DEFAULT_REGION: 'eu-west-1',
    });
  });

  describe('an S3 secret without keys', () => {
    /** The runner's own environment, as ECS gives a task (with a profile and keys a laptop would have, too). */
    const ambient = {
      PATH: '/usr/bin',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/3f1c',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:51679/creds',
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-token-9d2e',
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/var/run/token',
      AWS_PROFILE: 'backups',
      AWS_SHARED_CREDENTIALS_FILE: '/home/me/.aws/credentials',
      AWS_ACCESS_KEY_ID: 'ASIAAMBIENT',
      AWS_SECRET_ACCESS_KEY: 'ambient-secret-4b1a',
      AWS_SESSION_TOKEN: 'ambient-session-77c0',
      AWS_CONFIG_FILE: '/home/me/.aws/config',
    };
    const keyless = (endpoint: string): Backend => ({ storageSecretName: 's3-secret', s3: { endpoint, bucket: 'stash-qa', prefix: 'demo' } });

    it.each(['s3.amazonaws.com', 'https://s3.eu-west-1.amazonaws.com', 'http://s3.dualstack.us-east-2.amazonaws.com/', 's3-fips.us-gov-west-1.amazonaws.com', 's3.cn-north-1.amazonaws.com.cn'])(
      'at %s, passes the credentials chain restic reads, not the region',
      async (endpoint) => {
        const target = await prepareTarget(keyless(endpoint), { RESTIC_PASSWORD: PASSWORD }, { tmpDir: work, environment: ambient });
        const { PATH: _path, AWS_REGION: _region, AWS_DEFAULT_REGION: _default, AWS_CONFIG_FILE: _config, ...chain } = ambient;
        expect(target.env).toEqual({ RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: `s3:${endpoint.replace(/\/$/, '')}/stash-qa/demo`, ...chain });
        for (const value of ['ambient-secret-4b1a', 'ambient-session-77c0', 'container-token-9d2e']) expect(target.secrets).toContain(value);
      },
    );

    it('keeps the secret\'s own region, and passes only what the environment has', async () => {
      const target = await prepareTarget(keyless('s3.amazonaws.com'), { RESTIC_PASSWORD: PASSWORD, AWS_DEFAULT_REGION: 'ap-south-1' }, {
        tmpDir: work,
        environment: { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/3f1c', AWS_PROFILE: '' },
      });
      expect(target.env).toEqual({
        RESTIC_PASSWORD: PASSWORD,
        RESTIC_REPOSITORY: 's3:s3.amazonaws.com/stash-qa/demo',
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/3f1c',
        AWS_DEFAULT_REGION: 'ap-south-1',
      });
    });

    it('uses the secret\'s keys and nothing of the environment when it has them', async () => {
      const target = await prepareTarget(keyless('s3.amazonaws.com'), { RESTIC_PASSWORD: PASSWORD, AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'sk' }, { tmpDir: work, environment: ambient });
      expect(target.env).toEqual({ RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: 's3:s3.amazonaws.com/stash-qa/demo', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'sk' });
    });

    it.each(['minio.example.com:9000', 'https://127.0.0.1:9000', 's3.amazonaws.com.example.org', 'storage.googleapis.com'])(
      'at %s (not AWS), is refused before anything is signed with AWS credentials',
      async (endpoint) => {
        await expect(prepareTarget(keyless(endpoint), { RESTIC_PASSWORD: PASSWORD }, { tmpDir: work, environment: ambient })).rejects.toThrow(
          new SecretError(
            'secret "s3-secret" cannot be used for the s3 backend: missing required keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (only an AWS endpoint such as s3.amazonaws.com can do without the keys: the task role, or your own AWS credentials locally, are used there)',
          ),
        );
      },
    );
  });

  it('passes every Swift variable that is set, and no other', async () => {
    const secret: Secret = { RESTIC_PASSWORD: PASSWORD, AWS_ACCESS_KEY_ID: 'unrelated', OS_CLOUD: 'not-a-swift-key' };
    SWIFT_KEYS.forEach((key, i) => (secret[key] = `value-${i}`));
    const target = await prepare({ storageSecretName: 'swift-secret', swift: { container: 'c' } }, secret);
    const expected: Record<string, string> = { RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: 'swift:c:/' };
    SWIFT_KEYS.forEach((key, i) => (expected[key] = `value-${i}`));
    expect(target.env).toEqual(expected);
  });

  it('skips Swift variables that are empty', async () => {
    const target = await prepare(
      { storageSecretName: 'swift-secret', swift: { container: 'c' } },
      { RESTIC_PASSWORD: PASSWORD, OS_STORAGE_URL: 'http://127.0.0.1:8080/v1/AUTH_t', OS_AUTH_TOKEN: 'tok', OS_REGION_NAME: '' },
    );
    expect(Object.keys(target.env).sort()).toEqual(['OS_AUTH_TOKEN', 'OS_STORAGE_URL', 'RESTIC_PASSWORD', 'RESTIC_REPOSITORY']);
  });
});

describe('prepareTarget credential files', () => {
  const gcs: Backend = { storageSecretName: 'gcs-secret', gcs: { bucket: 'stash-qa', prefix: 'demo' } };
  const gcsSecret: Secret = { RESTIC_PASSWORD: PASSWORD, GOOGLE_PROJECT_ID: 'proj-1', GOOGLE_SERVICE_ACCOUNT_JSON_KEY: SERVICE_ACCOUNT };
  const b2: Backend = { storageSecretName: 'b2-secret', b2: { bucket: 'stash-qa' } };
  const b2Secret: Secret = { RESTIC_PASSWORD: PASSWORD, B2_ACCOUNT_ID: 'b2id', B2_ACCOUNT_KEY: 'b2key', CA_CERT_DATA: CA };

  it('writes the GCS service account key to a 0600 file in a private 0700 folder', async () => {
    const target = await prepare(gcs, gcsSecret);
    const file = target.env.GOOGLE_APPLICATION_CREDENTIALS;
    const folder = dirname(file);
    expect(dirname(folder)).toBe(work);
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe(SERVICE_ACCOUNT);
    expect(await readdir(folder)).toEqual([file.slice(folder.length + 1)]);

    await target.cleanup();
    await expect(stat(folder)).rejects.toMatchObject({ code: 'ENOENT' });
    await target.cleanup();
    expect(await readdir(work)).toEqual([]);
  });

  it('writes CA_CERT_DATA to a 0600 file and passes it as --cacert', async () => {
    const target = await prepare(b2, b2Secret);
    expect(target.repository).toBe('b2:stash-qa:');
    expect(target.args).toHaveLength(2);
    expect(target.args[0]).toBe('--cacert');
    const file = target.args[1];
    expect(dirname(dirname(file))).toBe(work);
    expect((await stat(dirname(file))).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe(CA);
    expect(target.env).toEqual({ RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: 'b2:stash-qa:', B2_ACCOUNT_ID: 'b2id', B2_ACCOUNT_KEY: 'b2key' });

    await target.cleanup();
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(work)).toEqual([]);
  });

  it('puts the GCS key and the CA in the same private folder', async () => {
    const target = await prepare(gcs, { ...gcsSecret, CA_CERT_DATA: CA });
    expect(dirname(target.args[1])).toBe(dirname(target.env.GOOGLE_APPLICATION_CREDENTIALS));
    expect((await readdir(dirname(target.args[1]))).sort()).toHaveLength(2);
    await target.cleanup();
    expect(await readdir(work)).toEqual([]);
  });

  it('removes the folder when a file cannot be written, and says which file', async () => {
    fault.failName = 'ca.pem';
    const error = await prepareTarget(gcs, { ...gcsSecret, CA_CERT_DATA: CA }, { tmpDir: work }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^failed to write the CA certificate \(CA_CERT_DATA\) to .*\/ca\.pem: ENOSPC/);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect((error as Error).message).not.toContain('BEGIN');
    expect(await readdir(work)).toEqual([]);
  });

  it('fails with ConfigError and leaves nothing when the temp folder cannot be created', async () => {
    const missing = join(work, 'does-not-exist');
    const error = await prepareTarget(b2, b2Secret, { tmpDir: missing }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`failed to create a private folder for b2 credentials in ${missing}`);
    expect(await readdir(work)).toEqual([]);
  });

  it('writes no file and passes no argument without CA_CERT_DATA', async () => {
    const target = await prepare(b2, { ...b2Secret, CA_CERT_DATA: '' });
    expect(target.args).toEqual([]);
    expect(await readdir(work)).toEqual([]);
    await target.cleanup();
  });
});

describe('prepareTarget for REST', () => {
  const backend: Backend = { storageSecretName: 'rest-secret', rest: { url: 'http://127.0.0.1:8000/repo/' } };

  it('URL-encodes odd characters of the credentials into the userinfo and masks them in display', async () => {
    const target = await prepare(backend, { RESTIC_PASSWORD: PASSWORD, RESTIC_REST_USERNAME: 'back up@x', RESTIC_REST_PASSWORD: 'p@ss:w/rd' });
    expect(target.repository).toBe('rest:http://back%20up%40x:p%40ss%3Aw%2Frd@127.0.0.1:8000/repo/');
    expect(target.env).toEqual({ RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: target.repository });
    expect(target.display).toBe('rest:http://***:***@127.0.0.1:8000/repo/');
    expect(target.secrets).toEqual(expect.arrayContaining(['p@ss:w/rd', 'p%40ss%3Aw%2Frd', 'back up@x', 'back%20up%40x', PASSWORD]));
    expect(redact(target.repository, target.secrets)).toBe('rest:http://***:***@127.0.0.1:8000/repo/');
  });

  it('replaces credentials written into the URL with those of the secret', async () => {
    const target = await prepare(
      { storageSecretName: 'rest-secret', rest: { url: 'https://old:stale@rest.example/a?x=1' } },
      { RESTIC_PASSWORD: PASSWORD, RESTIC_REST_USERNAME: 'u', RESTIC_REST_PASSWORD: 'pw' },
    );
    expect(target.repository).toBe('rest:https://u:pw@rest.example/a?x=1');
    expect(target.display).toBe('rest:https://***:***@rest.example/a?x=1');
  });

  it('masks credentials written into the URL itself', async () => {
    const target = await prepare({ storageSecretName: 'rest-secret', rest: { url: 'http://user:in%40url@127.0.0.1:8000/' } }, { RESTIC_PASSWORD: PASSWORD });
    expect(target.repository).toBe('rest:http://user:in%40url@127.0.0.1:8000/');
    expect(target.display).toBe('rest:http://***:***@127.0.0.1:8000/');
    expect(target.secrets).toEqual(expect.arrayContaining(['in%40url', 'in@url']));
  });
});

describe('credential files a killed run left behind', () => {
  /** The pid of a process that has exited (and been reaped). */
  const deadPid = () => spawnSync('true').pid!;

  it('are removed by the next run; those of a live process and other files are kept', async () => {
    const left = join(work, `stash-restic-${deadPid()}-aB3dE9`);
    const live = join(work, `stash-restic-${process.ppid}-Zz9Yy8`);
    await mkdir(left);
    await writeFile(join(left, 'google-service-account.json'), SERVICE_ACCOUNT);
    await mkdir(live);
    await writeFile(join(work, 'stash-restic-notes.txt'), 'not ours');
    const target = await prepare({ storageSecretName: 'b2-secret', b2: { bucket: 'stash-qa' } }, { RESTIC_PASSWORD: PASSWORD, B2_ACCOUNT_ID: 'id', B2_ACCOUNT_KEY: 'key' });
    expect(target.args).toEqual([]);
    expect((await readdir(work)).sort()).toEqual([live.slice(work.length + 1), 'stash-restic-notes.txt'].sort());
    expect(await removeLeftCredentials(work)).toEqual([]);
  });

  it('are named by the process that writes them', async () => {
    const target = await prepare({ storageSecretName: 'b2-secret', b2: { bucket: 'stash-qa' } }, { RESTIC_PASSWORD: PASSWORD, B2_ACCOUNT_ID: 'id', B2_ACCOUNT_KEY: 'key', CA_CERT_DATA: CA });
    expect(dirname(target.args[1])).toMatch(new RegExp(`/stash-restic-${process.pid}-[A-Za-z0-9]{6}$`));
  });
});

describe('goQuoted', () => {
  it.each([
    ['plain', 'plain', 'plain'],
    ['Uq8\u202e-x', 'Uq8\\u202e-x', 'Uq8\\u202e-x'],
    ['a"b\\c', 'a\\"b\\\\c', 'a\\"b\\\\c'],
    ['tab\tnl\nbell\u0007', 'tab\\tnl\\nbell\\a', 'tab\\tnl\\nbell\\a'],
    ['ctl\u0001del\u007f', 'ctl\\x01del\\x7f', 'ctl\\x01del\\x7f'],
    ['é😀', 'é😀', '\\u00e9\\U0001f600'],
  ])('%j as Go quotes it: %j, and ASCII only: %j', (value, quoted, ascii) => {
    expect(goQuoted(value)).toBe(quoted);
    expect(goQuoted(value, true)).toBe(ascii);
  });

  it('is among the forms a secret is masked in', async () => {
    const user = 'Uq8\u202eqq';
    const target = await prepare({ storageSecretName: 'rest-secret', rest: { url: 'http://127.0.0.1:8000/' } }, { RESTIC_PASSWORD: PASSWORD, RESTIC_REST_USERNAME: user, RESTIC_REST_PASSWORD: 'pw' });
    expect(redact('Fatal: user "Uq8\\u202eqq" is not allowed', target.secrets)).toBe('Fatal: user "***" is not allowed');
  });
});

describe('prepareTarget secrets', () => {
  it('lists every secret value with its URL-encoded and JSON-escaped forms, longest first', async () => {
    const target = await prepare(
      { storageSecretName: 's3-secret', s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-qa' } },
      { RESTIC_PASSWORD: 'pa"ss\\word', AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'a/b+c' },
    );
    expect(target.secrets).toEqual(expect.arrayContaining(['pa"ss\\word', 'pa\\"ss\\\\word', 'AKIA', 'a/b+c', 'a%2Fb%2Bc']));
    const lengths = target.secrets.map((s) => s.length);
    expect(lengths).toEqual([...lengths].sort((a, b) => b - a));
    expect(new Set(target.secrets).size).toBe(target.secrets.length);
    expect(target.secrets).not.toContain('');
  });

  it('lists the private key of a GCS service account key as it appears in JSON and decoded', async () => {
    const target = await prepare(
      { storageSecretName: 'gcs-secret', gcs: { bucket: 'stash-qa' } },
      { RESTIC_PASSWORD: PASSWORD, GOOGLE_PROJECT_ID: 'proj-1', GOOGLE_SERVICE_ACCOUNT_JSON_KEY: SERVICE_ACCOUNT },
    );
    const privateKey = (JSON.parse(SERVICE_ACCOUNT) as { private_key: string }).private_key;
    expect(target.secrets).toEqual(expect.arrayContaining([SERVICE_ACCOUNT, privateKey, JSON.stringify(privateKey).slice(1, -1), 'key-id-91ac']));
  });

  const gcsSecretFull: Secret = { RESTIC_PASSWORD: PASSWORD, GOOGLE_PROJECT_ID: 'proj-1', GOOGLE_SERVICE_ACCOUNT_JSON_KEY: SERVICE_ACCOUNT };
  it.each([
    ['local', { local: { path: '/repo', volumeSource } }, { RESTIC_PASSWORD: '' }, ['RESTIC_PASSWORD']],
    ['s3', { s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-qa' } }, { RESTIC_PASSWORD: PASSWORD, AWS_ACCESS_KEY_ID: 'AKIA-VISIBLE' }, ['AWS_SECRET_ACCESS_KEY']],
    ['gcs', { gcs: { bucket: 'stash-qa' } }, { ...gcsSecretFull, GOOGLE_SERVICE_ACCOUNT_JSON_KEY: '', CA_CERT_DATA: CA }, ['GOOGLE_SERVICE_ACCOUNT_JSON_KEY']],
    ['azure', { azure: { container: 'stashqa' } }, { AZURE_ACCOUNT_NAME: 'acct', AZURE_ACCOUNT_KEY: 'azkey-visible' }, ['RESTIC_PASSWORD']],
    ['swift', { swift: { container: 'c' } }, { RESTIC_PASSWORD: PASSWORD, ST_AUTH: 'http://127.0.0.1:1/auth/v1.0', ST_KEY: 'st-key-visible' }, ['ST_USER', 'OS_AUTH_URL']],
    ['b2', { b2: { bucket: 'stash-qa' } }, { RESTIC_PASSWORD: PASSWORD, CA_CERT_DATA: CA }, ['B2_ACCOUNT_ID', 'B2_ACCOUNT_KEY']],
    ['rest', { rest: { url: 'http://127.0.0.1:8000/' } }, { RESTIC_PASSWORD: PASSWORD, RESTIC_REST_PASSWORD: 'rest-pw-visible' }, ['RESTIC_REST_USERNAME']],
  ] as const)('refuses a %s secret with missing keys, naming them and no value, before writing anything', async (kind, part, secret, keys) => {
    const error = await prepareTarget({ storageSecretName: `${kind}-secret`, ...part } as Backend, secret, { tmpDir: work }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretError);
    const message = (error as Error).message;
    expect(message).toMatch(new RegExp(`^secret "${kind}-secret" cannot be used for the ${kind} backend: `));
    for (const key of keys) expect(message).toContain(key);
    for (const value of Object.values(secret)) if (value) expect(message).not.toContain(value);
    expect(await readdir(work)).toEqual([]);
  });
});

describe('redact', () => {
  it('masks every occurrence of every secret', () => {
    expect(redact('pw=hunter2 again hunter2, key=AKIA1', ['hunter2', 'AKIA1'])).toBe('pw=*** again ***, key=***');
  });

  it('masks the longest secret first, so one containing another is masked whole', () => {
    expect(redact('token abcdef and abc', ['abc', 'abcdef'])).toBe('token *** and ***');
  });

  it('ignores empty secrets and leaves text without secrets as it is', () => {
    expect(redact('nothing to hide', ['', 'absent'])).toBe('nothing to hide');
    expect(redact('nothing to hide', [])).toBe('nothing to hide');
  });

  it('masks secrets with regular expression characters literally', () => {
    expect(redact('a.b*c a-b-c', ['a.b*c'])).toBe('*** a-b-c');
  });
});
