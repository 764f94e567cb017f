/**
 * Every network backend against its real server on 127.0.0.1, through prepareTarget and the
 * real restic binary: the mapping of repository, environment and `--cacert` is what restic
 * and the server accept, the repository lands under the mapped prefix, no secret survives
 * redaction, and each server is gone (its ports closed, its folder removed) after stop().
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareTarget, redact, type ResticTarget } from '../../runner/backend';
import { classify } from '../../runner/restic';
import type { Backend } from '../../schemas/restic';
import type { Secret } from '../../schemas/secret';
import { isPortOpen, s3ClientConfig, ServerError, startAzurite, startRest, startS3, startSwift, waitFor, type AzuriteServer, type S3Server, type SwiftServer } from '../servers';
import { processesInGroup, startProcess } from '../servers/process';

const RESTIC_PASSWORD = 'it-restic-pass-5c1e';
const PREFIX = 'it/repo';

interface ResticRun {
  readonly code: number | null;
  /** stdout and stderr as restic printed them. */
  readonly raw: string;
  /** The same, redacted with the target's secrets. */
  readonly output: string;
  readonly stdout: string;
}

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'stash-servers-it-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** restic with only the target's environment plus PATH and a private HOME, no cache; killed after `timeoutMs`. */
function restic(target: ResticTarget, args: readonly string[], timeoutMs = 90_000): Promise<ResticRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('restic', [...target.args, '--no-cache', ...args], {
      env: { ...target.env, PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(work, 'home') },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let raw = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      raw += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, raw, stdout, output: redact(raw, target.secrets) }));
  });
}

function expectNoSecret(run: ResticRun, secret: Secret, target: ResticTarget): void {
  for (const value of [...Object.values(secret), ...target.secrets]) {
    if (value) expect(run.output, `restic output still contains a secret value`).not.toContain(value);
  }
}

async function sourceFolder(name: string): Promise<string> {
  const dir = join(work, `src-${name}`);
  await mkdir(join(dir, 'sub'), { recursive: true });
  await writeFile(join(dir, 'a.txt'), `hello from ${name}\n`);
  await writeFile(join(dir, 'sub', 'b.bin'), Buffer.alloc(64 * 1024, 7));
  return dir;
}

interface Handle {
  stop(): Promise<void>;
  readonly dir: string;
}

/**
 * The scenario every server goes through: init, backup, one snapshot, the repository
 * `config` under the mapped prefix, then stop() closes its ports and removes its folder.
 */
function backendSuite<S extends Handle>(
  name: string,
  setup: {
    start: () => Promise<S>;
    ports: (server: S) => readonly number[];
    backend: (server: S) => Backend;
    secret: (server: S) => Secret;
    /** Object names under `${PREFIX}/` as the server stores them, when it can list them. */
    stored?: (server: S) => Promise<string[]>;
    more?: (server: () => S) => void;
  },
) {
  describe(name, () => {
    let server: S;

    beforeAll(async () => {
      server = await setup.start();
    });

    afterAll(async () => {
      await server?.stop();
    });

    it('inits a repository, backs up a folder and lists one snapshot with restic', async () => {
      const secret = setup.secret(server);
      const target = await prepareTarget(setup.backend(server), secret);
      try {
        const src = await sourceFolder(name);

        const init = await restic(target, ['init']);
        expect(init.code, init.output).toBe(0);
        expect(init.output).toContain(`created restic repository`);

        const backup = await restic(target, ['backup', '--json', '--host', 'stash-it', src]);
        expect(backup.code, backup.output).toBe(0);
        const summary = backup.stdout
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as { message_type?: string; files_new?: number })
          .find((m) => m.message_type === 'summary');
        expect(summary?.files_new).toBe(2);

        const snapshots = await restic(target, ['snapshots', '--json']);
        expect(snapshots.code, snapshots.output).toBe(0);
        const list = JSON.parse(snapshots.stdout) as { paths: string[]; hostname: string }[];
        expect(list).toHaveLength(1);
        expect(list[0].paths).toEqual([src]);
        expect(list[0].hostname).toBe('stash-it');

        for (const run of [init, backup, snapshots]) expectNoSecret(run, secret, target);
        if (setup.stored) expect(await setup.stored(server)).toContain(`${PREFIX}/config`);
      } finally {
        await target.cleanup();
      }
    });

    setup.more?.(() => server);

    it('stops: its ports are closed and its folder is gone', async () => {
      await server.stop();
      for (const port of setup.ports(server)) expect(await isPortOpen(port), `port ${port}`).toBe(false);
      await expect(access(server.dir)).rejects.toMatchObject({ code: 'ENOENT' });
    });
  });
}

backendSuite('s3 (s3rver over TLS)', {
  start: () => startS3(),
  ports: (s) => [s.port],
  backend: (s) => ({ storageSecretName: 's3-secret', s3: { endpoint: s.endpoint, bucket: 'stash-it', prefix: `/${PREFIX}/` } }),
  secret: (s) => ({ RESTIC_PASSWORD, AWS_ACCESS_KEY_ID: s.accessKeyId, AWS_SECRET_ACCESS_KEY: s.secretAccessKey, CA_CERT_DATA: s.caCertPem }),
  stored: async (s: S3Server) => {
    const client = new S3Client(s3ClientConfig(s));
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: 'stash-it', Prefix: `${PREFIX}/` }));
      return (listed.Contents ?? []).map((o) => o.Key ?? '');
    } finally {
      client.destroy();
    }
  },
  more: (server) => {
    it('is refused without CA_CERT_DATA: the certificate is what restic trusts', async () => {
      const s = server();
      const secret: Secret = { RESTIC_PASSWORD, AWS_ACCESS_KEY_ID: s.accessKeyId, AWS_SECRET_ACCESS_KEY: s.secretAccessKey };
      const target = await prepareTarget({ storageSecretName: 's3-secret', s3: { endpoint: s.endpoint, bucket: 'stash-it', prefix: PREFIX } }, secret);
      try {
        expect(target.args).toEqual([]);
        // restic retries a backend it cannot reach for 15 minutes; its first retry names the cause.
        const run = await restic(target, ['snapshots', '--json'], 5_000);
        expect(run.code).not.toBe(0);
        expect(run.output).toMatch(/returned error, retrying after .*x509: certificate signed by unknown authority/);
        expectNoSecret(run, secret, target);
      } finally {
        await target.cleanup();
      }
    });
  },
});

/**
 * azurite runs, but Debian's restic (the image's too) is built without the Azure backend: it
 * refuses the repository before it connects, with the words the runner reads as "this restic
 * lacks the backend".
 */
describe("azure (azurite), with Debian's restic", () => {
  let server: AzuriteServer;

  beforeAll(async () => {
    server = await startAzurite();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('is refused by restic as a backend it was built without', async () => {
    const secret: Secret = { RESTIC_PASSWORD, AZURE_ACCOUNT_NAME: server.accountName, AZURE_ACCOUNT_KEY: server.accountKey };
    const target = await prepareTarget({ storageSecretName: 'azure-secret', azure: { container: 'stash-it', prefix: PREFIX } }, secret);
    try {
      const init = await restic(target, ['init']);
      expect(init.code).toBe(1);
      expect(init.raw).toContain('Fatal: parsing repository location failed: invalid backend');
      expect(classify(init.code, null, false, init.raw)).toBe('backend-unsupported');
      expectNoSecret(init, secret, target);
    } finally {
      await target.cleanup();
    }
  });

  it('refuses to start a second azurite on its fixed port', async () => {
    await expect(startAzurite()).rejects.toThrow(new ServerError('cannot start azurite: 127.0.0.1:10000 is already in use (only one azurite can run at a time)'));
  });

  it('stops: its port is closed and its folder is gone', async () => {
    await server.stop();
    expect(await isPortOpen(server.port)).toBe(false);
    await expect(access(server.dir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

backendSuite('swift (tempauth)', {
  start: () => startSwift(),
  ports: (s) => s.ports,
  backend: () => ({ storageSecretName: 'swift-secret', swift: { container: 'stash-it', prefix: PREFIX } }),
  secret: (s) => ({ RESTIC_PASSWORD, ...s.env }),
  stored: async (s: SwiftServer) => {
    const auth = await fetch(s.authUrl, { headers: { 'X-Auth-User': s.user, 'X-Auth-Key': s.key } });
    expect(auth.status).toBe(200);
    const storageUrl = auth.headers.get('x-storage-url');
    const token = auth.headers.get('x-auth-token');
    const listing = await fetch(`${storageUrl}/stash-it?prefix=${encodeURIComponent(`${PREFIX}/`)}`, { headers: { 'X-Auth-Token': token ?? '' } });
    expect(listing.status).toBe(200);
    return (await listing.text()).split('\n').filter(Boolean);
  },
});

const REST_USER = 'backup';
const REST_PASS = 'p@ss:w/rd';

backendSuite('rest (rclone serve restic, basic auth)', {
  start: () => startRest({ user: REST_USER, pass: REST_PASS }),
  ports: (s) => [s.port],
  backend: (s) => ({ storageSecretName: 'rest-secret', rest: { url: `${s.url}${PREFIX}/` } }),
  secret: () => ({ RESTIC_PASSWORD, RESTIC_REST_USERNAME: REST_USER, RESTIC_REST_PASSWORD: REST_PASS }),
  stored: async (s) => (await readdir(join(s.dir, 'data', PREFIX))).map((n) => `${PREFIX}/${n}`),
  more: (server) => {
    it('refuses a wrong password, and the output names neither password', async () => {
      const s = server();
      const secret: Secret = { RESTIC_PASSWORD, RESTIC_REST_USERNAME: REST_USER, RESTIC_REST_PASSWORD: 'wr0ng:p@ss' };
      const target = await prepareTarget({ storageSecretName: 'rest-secret', rest: { url: `${s.url}${PREFIX}/` } }, secret);
      try {
        expect(target.display).toBe(`rest:http://***:***@127.0.0.1:${s.port}/${PREFIX}/`);
        const run = await restic(target, ['snapshots', '--json']);
        expect(run.code).not.toBe(0);
        expect(run.output).toMatch(/401|unauthori[sz]ed/i);
        expectNoSecret(run, secret, target);
        expect(run.output).not.toContain(REST_PASS);
        expect(run.output).not.toContain(encodeURIComponent(REST_PASS));
      } finally {
        await target.cleanup();
      }
    });
  },
});

describe('test server plumbing', () => {
  it('fails with the output of a server that exits before it is ready', async () => {
    const proc = startProcess('broken-server', 'sh', ['-c', 'echo "bind: address in use" >&2; exit 3']);
    const error = await waitFor('broken-server to answer', () => undefined, { processes: [proc], timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as Error).message).toMatch(/^broken-server exited \(code 3\) while waiting for broken-server to answer\n--- broken-server output ---\nbind: address in use/);
  });

  it('times out with the output of a server that never answers, and stop() ends its whole process group', async () => {
    // The shell forks a child that would outlive it if only the shell were killed.
    const proc = startProcess('silent-server', 'sh', ['-c', 'echo still starting; sleep 60 & wait']);
    try {
      await waitFor('the forked child', async () => ((await processesInGroup(proc.pid)).length === 2 ? true : undefined), { processes: [proc] });
      const error = await waitFor('silent-server to answer', () => undefined, { processes: [proc], timeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServerError);
      expect((error as Error).message).toMatch(/^timed out after 300 ms waiting for silent-server to answer\n--- silent-server output ---\nstill starting/);
    } finally {
      await proc.stop();
    }
    expect(proc.exited()).toBe(true);
    expect(await processesInGroup(proc.pid)).toEqual([]);
  });
});
