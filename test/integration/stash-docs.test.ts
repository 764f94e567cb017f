/**
 * Specs from Stash's own 0.6 to 0.8 documentation (test/fixtures/stash-docs), as their users
 * wrote them, run by local mode with the real restic once `spec.volumes` maps their volumes:
 * the one edit the README asks for, plus pointing their repository's hostPath (or, for the nfs
 * one, a hostPath in its place) at a folder of this machine.
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { workspace, type Workspace } from './helpers';

const DOCS = fileURLToPath(new URL('../fixtures/stash-docs/', import.meta.url));
const PASSWORD = 'stash-docs-password-5b1e0c';

type Doc = { metadata: { name: string }; spec: Record<string, any> };

/** A corpus document, parsed; `map` makes the edits a user makes to run it here. */
async function stashDoc(file: string, map: (doc: Doc) => void): Promise<Doc> {
  const doc = parse(await readFile(join(DOCS, file), 'utf8')) as Doc;
  map(doc);
  return doc;
}

describe("Stash's documented specs, run by local mode", () => {
  let ws: Workspace;
  const www = () => join(ws.root, 'www');

  beforeAll(async () => {
    ws = await workspace('stash-docs-');
    await writeFile(join(ws.data, 'index.html'), '<h1>stash</h1>\n');
    // Stash 0.6.0's offline guide, as kubectl printed it: mountPath + volumeSource, the policy by name.
    const offline = await stashDoc('stash-0.6.0/restic-guides-offline-backup.yaml', (d) => {
      d.spec.backend.local.volumeSource.hostPath.path = join(ws.repo, 'offline');
      d.spec.volumes = [{ name: 'source-data', hostPath: { path: ws.data } }];
    });
    // A user's Stash 0.6 spec (stashed/stash#303): mountPath with the hostPath inline.
    const voip = await stashDoc('external/stash-issue303-restic.yaml', (d) => {
      d.spec.backend.local.hostPath.path = join(ws.repo, 'voip');
      d.spec.volumes = [{ name: 'voipmonitor-gui-rook', hostPath: { path: www() } }];
    });
    // Stash 0.8's backup example: its nfs repository becomes a hostPath, as the warning says.
    const nfs = await stashDoc('stash-0.8.0/restic-examples-backup-restic.yaml', (d) => {
      delete d.spec.backend.local.nfs;
      d.spec.backend.local.hostPath = { path: join(ws.repo, 'nfs') };
      d.spec.volumes = [{ name: 'source-data', hostPath: { path: ws.data } }];
    });
    await ws.writeSpec('offline.yaml', offline);
    await ws.writeSpec('voip.yaml', voip);
    await ws.writeSpec('nfs.yaml', nfs);
    await ws.writeSecret('stash-demo', { RESTIC_PASSWORD: PASSWORD });
    await ws.writeSecret('voipmonitor-gui', { RESTIC_PASSWORD: PASSWORD });
    await ws.writeSecret('local-secret', { RESTIC_PASSWORD: PASSWORD });
    await mkdir(www(), { recursive: true });
    await writeFile(join(www(), 'call.log'), 'ring\n');
  });
  afterAll(() => ws.cleanup());

  it('validates them, warning about what runs differently here', async () => {
    const r = await ws.stash(['validate', ws.specs]);
    expect(r.io.out).toEqual([
      `ok ${join(ws.specs, 'nfs.yaml')}: local-restic`,
      `ok ${join(ws.specs, 'offline.yaml')}: stash-demo`,
      `ok ${join(ws.specs, 'voip.yaml')}: voipmonitor-gui`,
      '3 valid, 0 invalid, 4 warning(s)',
    ]);
    expect(r.io.err.map((l) => l.slice(0, l.indexOf(': ', l.indexOf('.yaml: ') + 7)))).toEqual([
      `warning: ${join(ws.specs, 'nfs.yaml')}: spec.selector`,
      `warning: ${join(ws.specs, 'offline.yaml')}: spec.selector`,
      `warning: ${join(ws.specs, 'offline.yaml')}: spec.type`,
      `warning: ${join(ws.specs, 'voip.yaml')}: spec.selector`,
    ]);
    expect(r.code).toBe(0);
  });

  it('plans them on their schedules', async () => {
    const r = await ws.stash(['plan', '--from', '2026-01-01T00:00:00Z', '--until', '2026-01-01T00:31:00Z', '--json']);
    expect(r.code).toBe(0);
    const runs = JSON.parse(r.io.out.join('')) as { spec: string; at: string }[];
    const count = (spec: string) => runs.filter((x) => x.spec === spec).length;
    // '@every 1m', '@every 5m' and '@every 30m' from 00:00 to 00:30.
    expect([count('local-restic'), count('stash-demo'), count('voipmonitor-gui')]).toEqual([31, 7, 2]);
  });

  it.each([
    ['stash-demo', 'offline', '/source/data'],
    ['voipmonitor-gui', 'voip', '/var/www'],
    ['local-restic', 'nfs', '/source/data'],
  ])('backs up %s into its repository and applies its named retention policy', async (name, repo, path) => {
    const r = await ws.stash(['backup', name]);
    expect(r.io.text()).toContain(`${name}: backup succeeded`);
    expect(r.code).toBe(0);
    // keep-last-5, found by retentionPolicyName: restic forget ran (nothing to forget yet).
    expect(r.io.text()).toContain('; forgot 0 snapshots, 1 kept');
    await access(join(ws.repo, repo, 'config'));
    const snaps = JSON.parse((await ws.stash(['snapshots', name, '--json'])).io.out.join('')) as { hostname: string; paths: string[] }[];
    expect(snaps.map((s) => s.hostname)).toEqual([name]);
    expect(snaps[0].paths).toEqual([path === '/var/www' ? www() : ws.data]);
  });

  it('fails the nfs repository as written, naming it and what to write instead', async () => {
    const ws2 = await workspace('stash-docs-nfs-');
    try {
      await ws2.writeSpec('nfs.yaml', stringify(await stashDoc('stash-0.8.0/restic-examples-backup-restic.yaml', (d) => (d.spec.volumes = [{ name: 'source-data', hostPath: { path: ws2.data } }]))));
      await ws2.writeSecret('local-secret', { RESTIC_PASSWORD: PASSWORD });
      const r = await ws2.stash(['backup', 'local-restic']);
      expect(r.code).toBe(1);
      expect(r.io.text()).toContain(
        'local-restic: backup config-error: spec.backend.local.nfs: a Kubernetes nfs volume cannot exist here: replace it with efs: {fileSystemId: fs-...} on AWS or hostPath: {path: ...} on one machine',
      );
    } finally {
      await ws2.cleanup();
    }
  });

  it("plans no backup of Stash 0.7's paused guide spec, and backs it up on demand", async () => {
    const ws3 = await workspace('stash-docs-07-');
    try {
      await writeFile(join(ws3.data, 'f'), 'x');
      const paused = await stashDoc('stash-0.7.0-rc.0/restic-guides-backup.yaml', (d) => {
        d.spec.backend.local.hostPath.path = join(ws3.repo, 'paused');
        d.spec.volumes = [{ name: 'source-data', hostPath: { path: ws3.data } }];
      });
      await ws3.writeSpec('paused.yaml', paused);
      await ws3.writeSecret('stash-demo', { RESTIC_PASSWORD: PASSWORD });
      const plan = await ws3.stash(['plan', '--from', '2026-01-01T00:00:00Z', '--until', '2026-01-01T01:00:00Z', '--json']);
      expect(JSON.parse(plan.io.out.join(''))).toEqual([]);
      const r = await ws3.stash(['backup', 'stash-demo']);
      expect(r.io.text()).toContain('stash-demo: backup succeeded');
      await access(join(ws3.repo, 'paused', 'config'));
    } finally {
      await ws3.cleanup();
    }
  });
});
