/**
 * The backend conformance suite: one scenario, run through the `stash` CLI (in process, so
 * spec loading, the folder stores, the runner and status all take part) with the real restic,
 * against every backend that has a server on this machine:
 *
 *   backup (init on the way) ─▶ change data ─▶ backup, forget --keep-last 1 --prune
 *     ─▶ snapshots --json: one, the newest ─▶ restore: the same tree, byte for byte
 *     ─▶ check --read-data-subset 100% ─▶ status: two backups, succeeded
 *     ─▶ no secret value in any output, log or status ─▶ the server holds one snapshot
 *        under the spec's prefix ─▶ the server stops and nothing listens any more
 *
 * local (a folder), S3 (s3rver over TLS, its certificate given as CA_CERT_DATA), Swift
 * (tempauth) and REST (rclone, basic auth). Azure has a server here (azurite), but Debian's
 * restic, the one the image ships, is built without the Azure backend: an azure spec is held
 * to a clear configuration error below. There is no GCS or B2 server here: GCS is held to its
 * contract below (repository, environment, credential file) with the real restic; B2's mapping
 * is covered by test/unit/backend.test.ts.
 */
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../cli/main';
import { backendKind, BACKEND_KINDS, ResticSchema, type BackendKind } from '../../schemas/restic';
import { missingSecretKeys, OPTIONAL_KEYS, REQUIRED_KEYS, SWIFT_KEYS } from '../../schemas/secret';
import {
  isPortOpen,
  startAzurite,
  startRest,
  startS3,
  startSwift,
  type AzuriteServer,
  type RestServer,
  type S3Server,
  type SwiftServer,
} from '../servers';
import { listAzure, listFolder, listS3, listSwift } from './conformance-listing';
import { allText, awkwardData, capture, tree, workspace, type Workspace } from './helpers';

const BUCKET = 'stash-conformance';

/** A backend's server as the scenario sees it. */
interface Stoppable {
  stop(): Promise<void>;
}

/** One row of the suite: how to start the server and what a spec and secret for it are. */
interface BackendCase<S extends Stoppable> {
  readonly kind: BackendKind;
  /** What the backend runs against, for the test names. */
  readonly against: string;
  start(): Promise<S>;
  /** Every port the server listens on; all closed after stop(). */
  ports(server: S): readonly number[];
  /** The spec's `backend` block, without storageSecretName. */
  backend(server: S, ws: Workspace): Record<string, unknown>;
  secret(server: S): Record<string, string>;
  /** The repository as the runner names it in its log (credentials masked). */
  repository(server: S, ws: Workspace): string;
  /** The repository's objects as the server holds them, relative to the prefix. */
  stored(server: S, ws: Workspace): Promise<string[]>;
}

/** The forms in which a secret value could leak: as is, URL-encoded, JSON-escaped. */
function leakForms(value: string): string[] {
  return [...new Set([value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1)])].filter((v) => v !== '');
}

/** The keys of `secret` whose value (in any form) occurs in `text`; names only, never values. */
function leakedKeys(secret: Record<string, string>, text: string): string[] {
  return Object.entries(secret)
    .filter(([, value]) => leakForms(value).some((form) => text.includes(form)))
    .map(([key]) => key);
}

/** The scenario, as one describe per backend. */
function conformance<S extends Stoppable>(c: BackendCase<S>): void {
  const name = `conformance-${c.kind}`;
  const secretName = `${name}-secret`;

  describe(`${c.kind} against ${c.against}`, () => {
    let ws: Workspace;
    let server: S;
    let secret: Record<string, string>;
    let previousCacheDir: string | undefined;
    const outputs: string[] = [];
    const snapshotIds: string[] = [];
    let keptId = 'none';

    const stash = async (args: string[]) => {
      const r = await ws.stash(args);
      outputs.push(r.io.text());
      return r;
    };
    /** The snapshot of the spec's last run, from its history. */
    const lastSnapshotId = async () => {
      const [last] = JSON.parse((await stash(['history', name, '--json', '--limit', '1'])).io.out.join('')) as { fileGroups: { snapshotId?: string }[] }[];
      return last?.fileGroups[0]?.snapshotId ?? 'none';
    };

    beforeAll(async () => {
      ws = await workspace(`stash-conformance-${c.kind}-`);
      // restic's cache stays inside the workspace, not in the user's home.
      previousCacheDir = process.env.RESTIC_CACHE_DIR;
      process.env.RESTIC_CACHE_DIR = join(ws.root, 'cache');
      server = await c.start();
      await awkwardData(ws.data);
      await writeFile(join(ws.data, 'removed later.txt'), 'gone in the second backup\n');
      await ws.writeSpec(`${name}.yaml`, {
        apiVersion: 'stash.appscode.com/v1alpha1',
        kind: 'Restic',
        metadata: { name },
        spec: {
          fileGroups: [{ path: '/source/data', tags: ['conformance'], retentionPolicy: { keepLast: 1, prune: true } }],
          backend: { ...c.backend(server, ws), storageSecretName: secretName },
          schedule: '@every 1h',
          volumeMounts: [{ mountPath: '/source/data', name: 'source-data', readOnly: true }],
          volumes: [{ name: 'source-data', hostPath: { path: ws.data } }],
        },
      });
      secret = c.secret(server);
      // Both forms local mode reads: a folder of key files, and <name>.json.
      if (c.kind === 'local') await ws.writeSecret(secretName, secret);
      else await writeFile(join(ws.secrets, `${secretName}.json`), JSON.stringify(secret, null, 2));
    });

    afterAll(async () => {
      await server?.stop();
      if (previousCacheDir === undefined) delete process.env.RESTIC_CACHE_DIR;
      else process.env.RESTIC_CACHE_DIR = previousCacheDir;
      await ws?.cleanup();
    });

    it('backs up, initialising the repository on the first run', async () => {
      const r = await stash(['backup', name]);
      expect(r.code, r.io.text()).toBe(0);
      expect(r.io.out).toContain(`${name}: initialising the repository at ${c.repository(server, ws)}`);
      expect(r.io.out).toContainEqual(expect.stringMatching(new RegExp(`^${name}: backup succeeded \\(`)));
      snapshotIds.push(await lastSnapshotId());
      expect(snapshotIds[0]).toMatch(/^[0-9a-f]{64}$/);
    });

    it('backs up changed data and keeps only the newest snapshot (keepLast 1, prune)', async () => {
      await writeFile(join(ws.data, 'name with spaces.txt'), 'changed for the second backup\n');
      await rm(join(ws.data, 'removed later.txt'));
      await mkdir(join(ws.data, 'added later'));
      await writeFile(join(ws.data, 'added later', 'new.txt'), 'new in the second backup\n');
      await chmod(join(ws.data, 'private'), 0o640);

      const r = await stash(['backup', name]);
      expect(r.code, r.io.text()).toBe(0);
      expect(r.io.text()).not.toContain('initialising');
      expect(r.io.text()).toContain('; forgot 1 snapshot, 1 kept');
      snapshotIds.push(await lastSnapshotId());
      expect(snapshotIds[1]).toMatch(/^[0-9a-f]{64}$/);
      expect(snapshotIds[1]).not.toBe(snapshotIds[0]);

      const list = await stash(['snapshots', name, '--json']);
      expect(list.code, list.io.text()).toBe(0);
      const snapshots = JSON.parse(list.io.out.join('')) as { id: string; short_id: string; hostname: string; paths: string[]; tags?: string[] }[];
      expect(snapshots.map((s) => s.id)).toEqual([snapshotIds[1]]);
      expect(snapshots[0]).toMatchObject({ hostname: name, paths: [ws.data], tags: ['conformance'] });
      expect(snapshots[0].short_id).toBe(snapshotIds[1].slice(0, 8));
      keptId = snapshots[0].id;
    });

    it('restores the newest snapshot byte for byte', async () => {
      const target = join(ws.root, 'restored');
      const r = await stash(['restore', name, '--target', target]);
      expect(r.code, r.io.text()).toBe(0);
      expect(r.io.out).toContainEqual(expect.stringMatching(new RegExp(`^${name}: restored /source/data from ${snapshotIds[1].slice(0, 8)} to ${target}/source/data \\(`)));
      const restored = await tree(join(target, 'source/data'));
      expect(restored).toEqual(await tree(ws.data));
      // The tree compared holds every awkward case and the second backup's changes.
      expect(restored).toMatchObject({
        'ünïcödé-日本.txt': expect.stringMatching(/^file 644 /),
        empty: 'file 644 ',
        'script.sh': expect.stringMatching(/^file 750 /),
        private: expect.stringMatching(/^file 640 /),
        'dangling-link': 'link -> /nonexistent/target',
        'added later/new.txt': expect.stringMatching(/^file 644 /),
      });
      expect(restored).not.toHaveProperty(['removed later.txt']);
    });

    it('passes restic check, reading all of the data', async () => {
      const r = await stash(['check', name, '--read-data-subset', '100%']);
      expect(r.code, r.io.text()).toBe(0);
      expect(r.io.out).toContainEqual(expect.stringMatching(new RegExp(`^${name}: check succeeded \\(`)));
    });

    it('records two successful backups and the check in status', async () => {
      const r = await stash(['status', '--json']);
      expect(r.code, r.io.text()).toBe(0);
      const rows = JSON.parse(r.io.out.join('')) as Record<string, unknown>[];
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ name, backupCount: 2, lastOutcome: 'succeeded', lastCheckOutcome: 'succeeded' });
      expect(rows[0].lastError).toBeUndefined();
      expect(rows[0].running).toBeUndefined();
      expect(rows[0].lastRun).toMatchObject({ outcome: 'succeeded', fileGroups: [{ path: '/source/data', snapshotId: snapshotIds[1], forgotten: 1 }] });
    });

    it('shows no secret value in any output, log or status', async () => {
      const state = await allText(ws.state);
      // The state folder holds the status and the run logs, so the search covers them.
      expect(state).toContain(`"name": "${name}"`);
      expect(state).toContain('"message":"fileGroup backed up"');
      expect(outputs.length).toBeGreaterThanOrEqual(6);
      expect(leakedKeys(secret, outputs.join('\n')), 'secret keys whose values appear in output').toEqual([]);
      expect(leakedKeys(secret, state), 'secret keys whose values appear under the state folder').toEqual([]);
    });

    it("holds the repository under the spec's prefix, with only the kept snapshot", async () => {
      const names = await c.stored(server, ws);
      expect(names).toContain('config');
      expect(names.filter((n) => n.startsWith('keys/'))).toHaveLength(1);
      expect(names.filter((n) => n.startsWith('snapshots/'))).toEqual([`snapshots/${keptId}`]);
    });

    if (c.kind !== 'local') {
      it('stops: nothing is left listening', async () => {
        const ports = c.ports(server);
        expect(ports.length).toBeGreaterThan(0);
        await server.stop();
        for (const port of ports) expect(await isPortOpen(port), `127.0.0.1:${port} still accepts connections`).toBe(false);
      });
    }
  });
}

conformance<Stoppable>({
  kind: 'local',
  against: 'a folder',
  start: async () => ({ stop: async () => undefined }),
  ports: () => [],
  backend: (_s, ws) => ({ local: { path: '/repo', volumeSource: { hostPath: { path: join(ws.repo, 'restic') } } } }),
  secret: () => ({ RESTIC_PASSWORD: 'conformance-local-5b0d2e-pass' }),
  repository: (_s, ws) => join(ws.repo, 'restic'),
  stored: (_s, ws) => listFolder(join(ws.repo, 'restic')),
});

conformance<S3Server>({
  kind: 's3',
  against: 's3rver over TLS',
  // The bucket exists, as it does on AWS; without AWS_DEFAULT_REGION restic 0.17+ would retry a
  // missing one for 15 minutes instead of creating it (docs/backends.md).
  start: () => startS3({ buckets: [BUCKET] }),
  ports: (s) => [s.port],
  backend: (s) => ({ s3: { endpoint: s.endpoint, bucket: BUCKET, prefix: 'conformance/s3' } }),
  secret: (s) => ({
    RESTIC_PASSWORD: 'conformance-s3-91c4aa-pass',
    AWS_ACCESS_KEY_ID: s.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s.secretAccessKey,
    CA_CERT_DATA: s.caCertPem,
  }),
  repository: (s) => `s3:${s.endpoint}/${BUCKET}/conformance/s3`,
  stored: (s) => listS3(s, BUCKET, 'conformance/s3'),
});


conformance<SwiftServer>({
  kind: 'swift',
  against: 'Swift with tempauth',
  start: () => startSwift(),
  ports: (s) => s.ports,
  backend: () => ({ swift: { container: BUCKET, prefix: 'conformance/swift' } }),
  secret: (s) => ({ RESTIC_PASSWORD: 'conformance-swift-0a9d61-pass', ...s.env }),
  repository: () => `swift:${BUCKET}:/conformance/swift`,
  stored: (s) => listSwift(s, BUCKET, 'conformance/swift'),
});

/**
 * Azure, against azurite: Debian's restic (0.16 and later, so the image's 0.18 too) is built
 * without the Azure backend. A run of an azure spec is a configuration error that says so, with
 * no secret in it, and nothing reaches the server.
 */
describe("azure against azurite, with Debian's restic (built without Azure)", () => {
  const name = 'conformance-azure';
  let ws: Workspace;
  let server: AzuriteServer;
  let secret: Record<string, string>;

  beforeAll(async () => {
    ws = await workspace('stash-conformance-azure-');
    server = await startAzurite();
    await writeFile(join(ws.data, 'f.txt'), 'data\n');
    await ws.writeSpec(`${name}.yaml`, {
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Restic',
      metadata: { name },
      spec: {
        fileGroups: [{ path: '/source/data' }],
        backend: { azure: { container: BUCKET, prefix: 'conformance/azure' }, storageSecretName: `${name}-secret` },
        schedule: '@every 1h',
        volumeMounts: [{ mountPath: '/source/data', name: 'source-data' }],
        volumes: [{ name: 'source-data', hostPath: { path: ws.data } }],
      },
    });
    secret = { RESTIC_PASSWORD: 'conformance-azure-3e77f0-pass', AZURE_ACCOUNT_NAME: server.accountName, AZURE_ACCOUNT_KEY: server.accountKey };
    await writeFile(join(ws.secrets, `${name}-secret.json`), JSON.stringify(secret));
  });

  afterAll(async () => {
    await server?.stop();
    await ws?.cleanup();
  });

  it('fails the run as a configuration error naming the missing backend, and writes nothing', async () => {
    const r = await ws.stash(['backup', name]);
    expect(r.code).toBe(1);
    const message = `spec ${name}: this restic cannot use the azure backend of azure:${BUCKET}:/conformance/azure: it was built without it (Debian's restic package has no Azure backend)`;
    // How a run failed goes to stderr, once.
    expect(r.io.err).toEqual([`${name}: backup config-error: /source/data: ${message}`]);
    expect(r.io.text()).not.toContain('initialising');
    const status = JSON.parse((await ws.stash(['status', '--json'])).io.out.join('')) as Record<string, unknown>[];
    expect(status[0]).toMatchObject({ name, backupCount: 0, lastOutcome: 'config-error', lastError: `/source/data: ${message}` });
    expect(leakedKeys(secret, `${r.io.text()}\n${await allText(ws.state)}`)).toEqual([]);
    await expect(listAzure(server, BUCKET, 'conformance/azure')).rejects.toThrow(`azurite listing of ${BUCKET} answered 404`);
  });
});

const REST_USER = 'stash-backup';
// Characters that must be URL-encoded in the repository URL's userinfo.
const REST_PASS = 'rest p@ss:w/rd%7c';

conformance<RestServer>({
  kind: 'rest',
  against: 'rclone serve restic with basic auth',
  start: () => startRest({ user: REST_USER, pass: REST_PASS }),
  ports: (s) => [s.port],
  backend: (s) => ({ rest: { url: `${s.url}conformance/rest/` } }),
  secret: () => ({ RESTIC_PASSWORD: 'conformance-rest-c81f3b-pass', RESTIC_REST_USERNAME: REST_USER, RESTIC_REST_PASSWORD: REST_PASS }),
  repository: (s) => `rest:http://***:***@127.0.0.1:${s.port}/conformance/rest/`,
  stored: (s) => listFolder(join(s.dir, 'data', 'conformance/rest')),
});

/**
 * GCS, held to its contract: there is no GCS server here. A wrapper records what the runner
 * starts restic with (arguments, environment, the credential file's mode and digest). `init`
 * (and `version`) it hands to the real restic: the service account key's private key does not
 * parse, so restic fails before it opens a connection, and its error names the bucket it would
 * have asked for: proof that it took the repository and the key as meant. Any other command
 * would make restic 0.17+ retry the unreachable backend for 15 minutes before it says there is
 * no repository, so the wrapper answers it as restic does then (exit 10). A proxy on a closed
 * port of 127.0.0.1 keeps any request that got further on this machine.
 */
describe('gcs contract (no server here)', () => {
  const name = 'conformance-gcs';
  const serviceAccount = JSON.stringify({
    type: 'service_account',
    project_id: 'conformance-project',
    private_key_id: 'conformance-key-id-4d1f',
    private_key: '-----BEGIN PRIVATE KEY-----\nY29uZm9ybWFuY2Utbm90LWEta2V5\n-----END PRIVATE KEY-----\n',
    client_email: 'backup@conformance-project.iam.gserviceaccount.com',
    token_uri: 'https://oauth2.googleapis.com/token',
  });
  const secret = { RESTIC_PASSWORD: 'conformance-gcs-77ab10-pass', GOOGLE_PROJECT_ID: 'conformance-project', GOOGLE_SERVICE_ACCOUNT_JSON_KEY: serviceAccount };
  const hostOnly = 'host-only-value-that-restic-must-not-see';
  let ws: Workspace;
  let records: string;
  const saved: Record<string, string | undefined> = {};

  interface Invocation {
    argv: string[];
    env: Record<string, string>;
    credentials?: { mode: number; folderMode: number; sha256: string };
  }

  beforeAll(async () => {
    ws = await workspace('stash-conformance-gcs-');
    records = join(ws.root, 'invocations.jsonl');
    const wrapper = join(ws.root, 'restic-recorder.cjs');
    await writeFile(
      wrapper,
      `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const file = process.env.GOOGLE_APPLICATION_CREDENTIALS;
let credentials;
if (file) {
  credentials = {
    mode: fs.statSync(file).mode & 0o777,
    folderMode: fs.statSync(path.dirname(file)).mode & 0o777,
    sha256: crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
  };
}
fs.appendFileSync(${JSON.stringify(records)}, JSON.stringify({ argv: process.argv.slice(2), env: process.env, credentials }) + '\\n');
if (!['version', 'init'].includes(process.argv[2])) {
  process.stderr.write('Fatal: repository does not exist: unable to open config file\\n');
  process.exit(10);
}
const guard = 'http://127.0.0.1:9';
const r = require('node:child_process').spawnSync('restic', process.argv.slice(2), {
  stdio: 'inherit',
  env: { ...process.env, HTTPS_PROXY: guard, HTTP_PROXY: guard, NO_PROXY: '' },
});
process.exit(r.status === null ? 1 : r.status);
`,
    );
    await chmod(wrapper, 0o755);
    for (const key of ['STASH_RESTIC_BINARY', 'AWS_SECRET_ACCESS_KEY', 'GOOGLE_APPLICATION_CREDENTIALS']) saved[key] = process.env[key];
    process.env.STASH_RESTIC_BINARY = wrapper;
    // Variables of the host that a GCS run must not pass on.
    process.env.AWS_SECRET_ACCESS_KEY = hostOnly;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = join(ws.root, 'host-credentials.json');
    await writeFile(join(ws.data, 'f.txt'), 'data\n');
    await ws.writeSpec(`${name}.yaml`, {
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Restic',
      metadata: { name },
      spec: {
        fileGroups: [{ path: '/source/data', retentionPolicy: { keepLast: 1, prune: true } }],
        backend: { gcs: { bucket: BUCKET, prefix: '/conformance/gcs/' }, storageSecretName: `${name}-secret` },
        schedule: '@every 1h',
        volumeMounts: [{ mountPath: '/source/data', name: 'source-data' }],
        volumes: [{ name: 'source-data', hostPath: { path: ws.data } }],
      },
    });
    await writeFile(join(ws.secrets, `${name}-secret.json`), JSON.stringify(secret));
  });

  afterAll(async () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await ws?.cleanup();
  });

  it('starts restic with the gs: repository, the project and a private key file, and removes the file after the run', async () => {
    const r = await ws.stash(['backup', name]);
    expect(r.code).toBe(1);
    const output = r.io.text();
    expect(output).toContain(`${name}: backup failed: /source/data: restic init failed (exit 1): Fatal: create repository at gs:${BUCKET}:/conformance/gcs failed`);
    // restic itself: it read our key file, and would have asked for this bucket.
    expect(output).toContain(`https://storage.googleapis.com/storage/v1/b/${BUCKET}?`);
    expect(output).toContain('private key should be a PEM or plain PKCS1 or PKCS8');

    const invocations = (await readFile(records, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Invocation);
    // The version check (once per binary and process), backup finds no repository, then init is tried.
    expect(invocations.map((i) => i.argv[0])).toEqual(['version', 'backup', 'init']);
    expect(Object.keys(invocations[0].env)).toEqual(['PATH']);
    const digest = createHash('sha256').update(serviceAccount).digest('hex');
    const base = new Set(['PATH', 'HOME', 'TMPDIR', 'XDG_CACHE_HOME', 'RESTIC_CACHE_DIR', 'LANG', 'TZ', 'SSL_CERT_FILE', 'SSL_CERT_DIR']);
    for (const { env, credentials } of invocations.slice(1)) {
      expect(env).toMatchObject({ RESTIC_REPOSITORY: `gs:${BUCKET}:/conformance/gcs`, RESTIC_PASSWORD: secret.RESTIC_PASSWORD, GOOGLE_PROJECT_ID: 'conformance-project' });
      expect(Object.keys(env).filter((k) => !base.has(k)).sort()).toEqual(['GOOGLE_APPLICATION_CREDENTIALS', 'GOOGLE_PROJECT_ID', 'RESTIC_PASSWORD', 'RESTIC_REPOSITORY']);
      expect(env.GOOGLE_APPLICATION_CREDENTIALS).not.toBe(process.env.GOOGLE_APPLICATION_CREDENTIALS);
      expect(credentials).toEqual({ mode: 0o600, folderMode: 0o700, sha256: digest });
    }
    // One private folder for the run, gone once the run is over.
    const files = new Set(invocations.slice(1).map((i) => i.env.GOOGLE_APPLICATION_CREDENTIALS));
    expect(files.size).toBe(1);
    const [file] = files;
    await expect(lstat(file)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(lstat(dirname(file))).rejects.toMatchObject({ code: 'ENOENT' });

    const status = JSON.parse((await ws.stash(['status', '--json'])).io.out.join('')) as Record<string, unknown>[];
    expect(status[0]).toMatchObject({ name, backupCount: 0, lastOutcome: 'failed' });
    const state = await allText(ws.state);
    expect(state).toContain('restic init failed');
    expect(leakedKeys({ ...secret, PRIVATE_KEY: JSON.parse(serviceAccount).private_key, HOST: hostOnly }, `${output}\n${state}`)).toEqual([]);
  });
});

/**
 * The worked examples that docs/backends.md shows: every backend has one, each validates,
 * its secret holds exactly the backend's keys, and the document shows both files verbatim.
 */
describe('worked examples in examples/backends', () => {
  const root = fileURLToPath(new URL('../../examples/backends', import.meta.url));

  it.each(BACKEND_KINDS)('%s: the spec validates, the secret fits it, docs/backends.md shows both', async (kind) => {
    const specFile = join(root, `${kind}.yaml`);
    const io = capture();
    expect(await main(['validate', specFile], io), io.text()).toBe(0);
    // Azure's only warning: Debian's restic, which the image ships, has no Azure backend.
    expect(io.err, io.text()).toEqual(kind === 'azure' ? [expect.stringMatching(/spec\.backend\.azure: the runner image's restic \(Debian's package\) has no Azure backend/)] : []);

    const specText = await readFile(specFile, 'utf8');
    const spec = ResticSchema.parse(parse(specText));
    expect(backendKind(spec.spec.backend)).toBe(kind);
    const secretFile = join(root, 'secrets', `${spec.spec.backend.storageSecretName}.json`);
    const secretText = await readFile(secretFile, 'utf8');
    const secret = JSON.parse(secretText) as Record<string, string>;
    expect(missingSecretKeys(kind, secret)).toEqual([]);
    const known = new Set<string>(['RESTIC_PASSWORD', ...REQUIRED_KEYS[kind], ...OPTIONAL_KEYS[kind], ...(kind === 'swift' ? SWIFT_KEYS : [])]);
    expect(Object.keys(secret).filter((k) => !known.has(k))).toEqual([]);

    const doc = await readFile(join(root, '../../docs/backends.md'), 'utf8');
    expect(doc).toContain(`\`\`\`yaml\n${specText}\`\`\``);
    expect(doc).toContain(`\`\`\`json\n${secretText}\`\`\``);
  });
});
