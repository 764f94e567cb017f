/**
 * Secret values as short as one letter, and values that are words of restic's own messages
 * (`repo`, `config`, `lock`, `read`, `ready`), on every backend that has a server here and a
 * restic that can use it. Masking such a value garbles restic's text (`***nable to o***en config
 * file`), so nothing may be decided on the masked text: the first backup must still find that
 * there is no repository and initialise it, and the round trip must pass.
 *
 *   stash backup (initialises) ─▶ stash backup ─▶ stash snapshots --json: two ─▶ stash restore:
 *   the same tree ─▶ a wrong RESTIC_PASSWORD: a configuration error naming the spec and its
 *   secret ─▶ restic's text, wherever it is shown, carries none of the values
 *
 * One letter occurs in any text, so "no value in the output" is checked on what restic said
 * (the text after `restic <command> failed (exit N): ` in errors, status and logs); the rest of
 * the output is this project's own words. The REST row also makes restic fail with its own text
 * (a wrong REST password: 401, exit 1), whose URL names the user `u`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRest, startS3, startSwift, type RestServer, type S3Server, type SwiftServer } from '../servers';
import { allText, awkwardData, tree, workspace, type Workspace } from './helpers';

const BUCKET = 'stash-short-secrets';

interface Server {
  stop(): Promise<void>;
}

interface Row<S extends Server> {
  readonly kind: string;
  start(): Promise<S>;
  backend(server: S, ws: Workspace): Record<string, unknown>;
  /** The secret, with awkward values. */
  secret(server: S): Record<string, string>;
  /** The repository as the runner names it (credentials masked). */
  display(server: S, ws: Workspace): string;
  /** A secret with which restic fails with its own text (exit 1), and what that text says. */
  failing?: (server: S) => { secret: Record<string, string>; says: RegExp };
}

/** What restic said in every `restic <command> failed (exit N): ...` of `text`. */
function resticTexts(text: string): string[] {
  return [...text.matchAll(/restic \w+ (?:failed \(exit \d+\)|was killed by \w+): ([^\n"]*)/g)].map((m) => m[1]);
}

function shortSecrets<S extends Server>(row: Row<S>): void {
  const name = `short-${row.kind}`;
  const secretName = `${name}-secret`;

  describe(`${row.kind} with secret values as short as one letter`, () => {
    let ws: Workspace;
    let server: S;
    let secret: Record<string, string>;
    const outputs: string[] = [];
    const stash = async (args: string[]) => {
      const r = await ws.stash(args);
      outputs.push(r.io.text());
      return r;
    };
    const writeSecret = (values: Record<string, string>) => writeFile(join(ws.secrets, `${secretName}.json`), JSON.stringify(values));

    beforeAll(async () => {
      ws = await workspace(`stash-short-${row.kind}-`);
      process.env.RESTIC_CACHE_DIR = join(ws.root, 'cache');
      server = await row.start();
      await awkwardData(ws.data);
      await ws.writeSpec(`${name}.yaml`, {
        apiVersion: 'stash.appscode.com/v1alpha1',
        kind: 'Restic',
        metadata: { name },
        spec: {
          fileGroups: [{ path: '/source/data' }],
          backend: { ...row.backend(server, ws), storageSecretName: secretName },
          schedule: '@every 1h',
          volumeMounts: [{ mountPath: '/source/data', name: 'source-data', readOnly: true }],
          volumes: [{ name: 'source-data', hostPath: { path: ws.data } }],
        },
      });
      secret = row.secret(server);
      await writeSecret(secret);
    });

    afterAll(async () => {
      delete process.env.RESTIC_CACHE_DIR;
      await server?.stop();
      await ws?.cleanup();
    });

    it('initialises the repository on the first backup, backs up again, lists both snapshots and restores', async () => {
      const first = await stash(['backup', name]);
      expect(first.code, first.io.text()).toBe(0);
      expect(first.io.out).toContain(`${name}: initialising the repository at ${row.display(server, ws)}`);
      const second = await stash(['backup', name]);
      expect(second.code, second.io.text()).toBe(0);
      expect(second.io.text()).not.toContain('initialising');

      const list = await stash(['snapshots', name, '--json']);
      expect(list.code, list.io.text()).toBe(0);
      expect((JSON.parse(list.io.out.join('')) as { hostname: string }[]).map((s) => s.hostname)).toEqual([name, name]);

      const target = join(ws.root, 'restored');
      const restore = await stash(['restore', name, '--target', target]);
      expect(restore.code, restore.io.text()).toBe(0);
      expect(await tree(join(target, 'source/data'))).toEqual(await tree(ws.data));
    });

    it('calls a wrong RESTIC_PASSWORD a configuration error that names the spec and its secret', async () => {
      await writeSecret({ ...secret, RESTIC_PASSWORD: 'x' });
      try {
        const r = await stash(['backup', name]);
        expect(r.code).toBe(1);
        const message = `spec ${name}: the RESTIC_PASSWORD in secret "${secretName}" does not open the repository at ${row.display(server, ws)} (restic: wrong password or no key found)`;
        expect(r.io.err).toContain(`${name}: backup config-error: /source/data: ${message}`);
        const status = JSON.parse((await stash(['status', '--json'])).io.out.join(''))[0] as Record<string, unknown>;
        expect(status).toMatchObject({ name, lastOutcome: 'config-error', lastError: `/source/data: ${message}`, backupCount: 2 });
      } finally {
        await writeSecret(secret);
      }
    });

    it("shows none of the values in anything restic said, in output, status or logs", async () => {
      const texts = [...outputs, await allText(ws.state)].flatMap(resticTexts);
      for (const text of texts) for (const value of Object.values(secret)) expect(text, `restic's text shows ${JSON.stringify(value)}`).not.toContain(value);
      // Run logs are kept: the check above read them.
      expect(await readFile(join(ws.state, 'logs', `${name}.jsonl`), 'utf8')).toContain('"message":"fileGroup backed up"');
    });

    if (row.failing) {
      it("masks every value in restic's own text when restic fails", async () => {
        const failing = row.failing!(server);
        await writeSecret(failing.secret);
        try {
          // Not among `outputs`: this run's secret is another one.
          const r = await ws.stash(['backup', name]);
          expect(r.code).toBe(1);
          const said = resticTexts(r.io.text());
          expect(said.length).toBeGreaterThan(0);
          for (const text of said) {
            expect(text).toMatch(failing.says);
            for (const value of Object.values(failing.secret)) expect(text, `restic's text shows ${JSON.stringify(value)}`).not.toContain(value);
          }
          // Not initialised again: a refused login is not a missing repository.
          expect(r.io.text()).not.toContain('initialising');
        } finally {
          await writeSecret(secret);
        }
      });
    }
  });
}

shortSecrets<Server>({
  kind: 'local',
  start: async () => ({ stop: async () => undefined }),
  backend: (_s, ws) => ({ local: { path: '/repo', volumeSource: { hostPath: { path: join(ws.repo, 'restic') } } } }),
  secret: () => ({ RESTIC_PASSWORD: 'o' }),
  display: (_s, ws) => join(ws.repo, 'restic'),
});

shortSecrets<S3Server>({
  kind: 's3',
  start: () => startS3(),
  backend: (s) => ({ s3: { endpoint: s.endpoint, bucket: BUCKET, prefix: 'short/s3' } }),
  secret: (s) => ({ RESTIC_PASSWORD: 'lock', AWS_ACCESS_KEY_ID: s.accessKeyId, AWS_SECRET_ACCESS_KEY: s.secretAccessKey, AWS_DEFAULT_REGION: 'read', CA_CERT_DATA: s.caCertPem }),
  display: (s) => `s3:${s.endpoint}/${BUCKET}/short/s3`,
});

shortSecrets<SwiftServer>({
  kind: 'swift',
  start: () => startSwift({ key: 'ready' }),
  backend: () => ({ swift: { container: BUCKET, prefix: 'short/swift' } }),
  secret: (s) => ({ RESTIC_PASSWORD: 'config', ...s.env }),
  display: () => `swift:${BUCKET}:/short/swift`,
});

shortSecrets<RestServer>({
  kind: 'rest',
  start: () => startRest({ user: 'u', pass: 'p' }),
  backend: (s) => ({ rest: { url: `${s.url}short/rest/` } }),
  secret: () => ({ RESTIC_PASSWORD: 'repo', RESTIC_REST_USERNAME: 'u', RESTIC_REST_PASSWORD: 'p' }),
  display: (s) => `rest:http://***:***@127.0.0.1:${s.port}/short/rest/`,
  failing: () => ({ secret: { RESTIC_PASSWORD: 'repo', RESTIC_REST_USERNAME: 'u', RESTIC_REST_PASSWORD: 'pw' }, says: /HTTP response \(401\)/ }),
});
