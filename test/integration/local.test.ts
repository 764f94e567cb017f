import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../cli/local/engine';
import { waitFor } from '../servers';
import { allText, awkwardData, localSpec, tree, workspace, type Workspace } from './helpers';

const PASSWORD = 'correct-horse-battery-staple-7f3a9c';

describe('local mode with the real restic', () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace();
    await awkwardData(ws.data);
    await ws.writeSpec('home.yaml', localSpec(ws, 'home', { retention: { keepLast: 2, prune: true }, tags: ['daily'] }));
    await ws.writeSecret('home-secret', { RESTIC_PASSWORD: PASSWORD });
  });
  afterAll(() => ws.cleanup());

  it('backs up, keeps the policy, lists snapshots and restores byte for byte', async () => {
    const first = await ws.stash(['backup', 'home']);
    expect(first.io.text()).toContain('home: backup succeeded');
    expect(first.code).toBe(0);

    // Two more backups with changed data; keepLast 2 + prune leaves two snapshots.
    await writeFile(join(ws.data, 'name with spaces.txt'), 'changed once\n');
    expect((await ws.stash(['backup', 'home'])).code).toBe(0);
    await writeFile(join(ws.data, 'added later.txt'), 'new file\n');
    const third = await ws.stash(['backup', 'home']);
    expect(third.code).toBe(0);
    expect(third.io.text()).toContain('home: /source/data: added');
    expect(third.io.text()).toContain('forgot 1 snapshot, 2 kept');

    const snaps = await ws.stash(['snapshots', 'home', '--json']);
    expect(snaps.code).toBe(0);
    const list = JSON.parse(snaps.io.out.join('')) as { hostname: string; paths: string[]; tags: string[] }[];
    expect(list).toHaveLength(2);
    expect(list.every((s) => s.hostname === 'home' && s.paths[0] === ws.data && s.tags.includes('daily'))).toBe(true);

    const target = join(ws.root, 'restored');
    const restore = await ws.stash(['restore', 'home', '--target', target]);
    expect(restore.code).toBe(0);
    expect(restore.io.text()).toContain(`restored /source/data from`);
    expect(await tree(join(target, 'source/data'))).toEqual(await tree(ws.data));

    const status = await ws.stash(['status', '--json']);
    const [row] = JSON.parse(status.io.out.join('')) as Record<string, unknown>[];
    expect(row).toMatchObject({ name: 'home', backupCount: 3, lastOutcome: 'succeeded' });
    expect(row.firstBackupTime).toBeTypeOf('string');
    expect(row.lastSuccessfulBackupTime).toBeTypeOf('string');
    expect(row.lastBackupDuration).toMatch(/^[\d.]+(ms|s)$|m/);
    expect(row.nextRun).toBeTypeOf('string');
    expect(row.running).toBeUndefined();
  });

  it('restores an older snapshot by id', async () => {
    const snaps = JSON.parse((await ws.stash(['snapshots', 'home', '--json'])).io.out.join('')) as { id: string; short_id: string }[];
    const target = join(ws.root, 'restored-old');
    const r = await ws.stash(['restore', 'home', '--target', target, '--snapshot', snaps[0].short_id]);
    expect(r.code).toBe(0);
    expect(await readFile(join(target, 'source/data/name with spaces.txt'), 'utf8')).toBe('changed once\n');
  });

  it('never shows the restic password in output, logs or status', async () => {
    const status = await ws.stash(['status']);
    expect(status.io.text()).not.toContain(PASSWORD);
    expect(await allText(ws.state)).not.toContain(PASSWORD);
    expect((await allText(ws.state)).length).toBeGreaterThan(100);
  });

  it('reports a run with unreadable files as failed (restic exit 3) and the next run still works', async () => {
    // As root every file is readable: run restic as nobody, with one file it may not read.
    const ws2 = await workspace();
    try {
      await chmod(ws2.root, 0o755);
      await mkdir(join(ws2.data, 'sub'), { recursive: true });
      await writeFile(join(ws2.data, 'sub/readable'), 'ok\n');
      await writeFile(join(ws2.data, 'sub/secret-file'), 'no\n');
      await chmod(join(ws2.data, 'sub/secret-file'), 0o000);
      await chmod(ws2.data, 0o755);
      await mkdir(join(ws2.repo, 'part'), { recursive: true });
      await chmod(ws2.repo, 0o777);
      await chmod(join(ws2.repo, 'part'), 0o777);
      const wrapper = join(ws2.root, 'restic-as-nobody');
      await writeFile(wrapper, `#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp restic --no-cache "$@"\n`);
      await chmod(wrapper, 0o755);
      await ws2.writeSpec('part.yaml', localSpec(ws2, 'part'));
      await ws2.writeSecret('part-secret', { RESTIC_PASSWORD: PASSWORD });
      process.env.STASH_RESTIC_BINARY = wrapper;
      const r = await ws2.stash(['backup', 'part']);
      expect(r.code).toBe(1);
      expect(r.io.text()).toContain('part: backup partial: /source/data: some files could not be read (restic exit 3)');
      const status = JSON.parse((await ws2.stash(['status', '--json'])).io.out.join(''))[0];
      expect(status).toMatchObject({ lastOutcome: 'partial', backupCount: 1 });
      expect(status.lastSuccessfulBackupTime).toBeUndefined();

      await chmod(join(ws2.data, 'sub/secret-file'), 0o644);
      const again = await ws2.stash(['backup', 'part']);
      expect(again.code).toBe(0);
      const after = JSON.parse((await ws2.stash(['status', '--json'])).io.out.join(''))[0];
      expect(after).toMatchObject({ lastOutcome: 'succeeded', backupCount: 2 });
      expect(after.lastError).toBeUndefined();
    } finally {
      delete process.env.STASH_RESTIC_BINARY;
      await ws2.cleanup();
    }
  });

  it('fails a spec whose volume is not defined, naming the volume, without running restic', async () => {
    const spec = localSpec(ws, 'novol');
    delete (spec.spec as { volumes?: unknown }).volumes;
    await ws.writeSpec('novol.yaml', spec);
    await ws.writeSecret('novol-secret', { RESTIC_PASSWORD: PASSWORD });
    const v = await ws.stash(['validate', join(ws.specs, 'novol.yaml')]);
    expect(v.code).toBe(0);
    expect(v.io.err.join('\n')).toContain('spec.volumeMounts[0].name: volume "source-data" is not defined in spec.volumes');
    const r = await ws.stash(['backup', 'novol']);
    expect(r.code).toBe(1);
    expect(r.io.text()).toContain('novol: backup config-error: /source/data: spec.volumeMounts[0]: volume "source-data" is not defined in spec.volumes');
    await rm(join(ws.specs, 'novol.yaml'));
  });

  it('refuses a secret without RESTIC_PASSWORD before restic runs', async () => {
    await ws.writeSpec('nopw.yaml', localSpec(ws, 'nopw'));
    await ws.writeSecret('nopw-secret', { OTHER: 'x' });
    const r = await ws.stash(['backup', 'nopw']);
    expect(r.code).toBe(1);
    expect(r.io.text()).toContain('nopw: backup config-error: secret "nopw-secret": missing required key RESTIC_PASSWORD');
    await rm(join(ws.specs, 'nopw.yaml'));
  });

  it('runs what is due on a scheduler tick, and one bad spec does not stop the others', async () => {
    const ws3 = await workspace();
    try {
      await writeFile(join(ws3.data, 'f'), 'x');
      await ws3.writeSpec('good.yaml', localSpec(ws3, 'good'));
      await ws3.writeSecret('good-secret', { RESTIC_PASSWORD: PASSWORD });
      await ws3.writeSpec('bad.yaml', 'apiVersion: stash.appscode.com/v1alpha1\nkind: Restic\nmetadata: {name: bad}\nspec:\n  filegroups: []\n');
      const paused = localSpec(ws3, 'paused');
      (paused.spec as { paused?: boolean }).paused = true;
      await ws3.writeSpec('paused.yaml', paused);
      const r = await ws3.stash(['run', '--once']);
      expect(r.io.err.join('\n')).toContain(`skipped: ${join(ws3.specs, 'bad.yaml')}: spec.filegroups: unknown field`);
      expect(r.io.text()).toContain('good: backup succeeded (');
      expect(r.io.text()).not.toContain('paused: backup');
      expect(r.code).toBe(0);
      const status = JSON.parse((await ws3.stash(['status', '--json'])).io.out.join('')) as { name: string; backupCount?: number }[];
      expect(status.find((s) => s.name === 'good')?.backupCount).toBe(1);
      expect(status.find((s) => s.name === 'paused')?.backupCount ?? 0).toBe(0);
    } finally {
      await ws3.cleanup();
    }
  });

  it('never runs a slot twice: the watermark moves with every tick', async () => {
    const ws5 = await workspace();
    try {
      await writeFile(join(ws5.data, 'f'), 'x');
      await ws5.writeSpec('good.yaml', localSpec(ws5, 'good'));
      await ws5.writeSecret('good-secret', { RESTIC_PASSWORD: PASSWORD });
      let now = new Date('2026-03-01T10:00:20Z');
      const lines: string[] = [];
      const engine = new LocalEngine(
        { specs: [ws5.specs], secrets: ws5.secrets, state: ws5.state, clock: { now: () => now } },
        { line: (t) => lines.push(t), error: (t) => lines.push(t) },
      );
      const first = await engine.tick();
      expect(first.decision.launch.map((l) => `${l.spec}@${l.at.toISOString()}`)).toEqual(['good@2026-03-01T10:00:00.000Z']);
      await first.done;
      now = new Date('2026-03-01T10:00:50Z');
      const same = await engine.tick();
      expect(same.decision.launch).toEqual([]);
      now = new Date('2026-03-01T10:01:05Z');
      const next = await engine.tick();
      expect(next.decision.launch.map((l) => `${l.spec}@${l.at.toISOString()}`)).toEqual(['good@2026-03-01T10:01:00.000Z']);
      expect((await next.done).map((r) => r.outcome)).toEqual(['succeeded']);
    } finally {
      await ws5.cleanup();
    }
  });

  it('stops restic cleanly when interrupted and records the run as interrupted', async () => {
    const ws4 = await workspace();
    try {
      // Enough incompressible data that the backup is still running when the signal comes.
      await writeFile(join(ws4.data, 'big'), randomBytes(256 * 1024 * 1024));
      await ws4.writeSpec('big.yaml', localSpec(ws4, 'big'));
      await ws4.writeSecret('big-secret', { RESTIC_PASSWORD: PASSWORD });
      const controller = new AbortController();
      const pending = ws4.stash(['backup', 'big'], { signal: controller.signal });
      // Abort once the backup has written a pack file (restic init creates the empty data/00..ff).
      const packWritten = async () => {
        for (const dir of await readdir(join(ws4.repo, 'big', 'data')).catch(() => [] as string[])) {
          if ((await readdir(join(ws4.repo, 'big', 'data', dir)).catch(() => [])).length) return true;
        }
        return undefined;
      };
      await waitFor('restic to write a pack file', packWritten, { timeoutMs: 60_000, intervalMs: 20 });
      controller.abort();
      const r = await pending;
      expect(r.code).toBe(1);
      expect(r.io.text()).toContain('big: backup interrupted');
      const status = JSON.parse((await ws4.stash(['status', '--json'])).io.out.join(''))[0];
      expect(status.lastOutcome).toBe('interrupted');
      expect(status.running).toBeUndefined();
      await writeFile(join(ws4.data, 'big'), 'small now');
      expect((await ws4.stash(['backup', 'big'])).code).toBe(0);
    } finally {
      await ws4.cleanup();
    }
  });
});
