/**
 * One run per repository at a time, across processes. Two first runs on one new repository
 * used to both call `restic init` and destroy it (`config or key ... is damaged`), and two
 * `stash backup` of one spec both passed the "already running" guard. With the spec and
 * repository locks: every repository checks clean and every run recorded `succeeded` has its
 * snapshot, whatever the interleaving.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../cli/local/engine';
import { FolderStatusStore } from '../../cli/local/stores';
import { localSpec, workspace, type Workspace } from './helpers';

const ROOT = join(__dirname, '../..');
const PASSWORD = 'one-run-per-repository-3c9d';
const TRIALS = 3;

/** `restic <args>` on a local repository: exit code and output. */
function restic(repo: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('restic', ['-r', repo, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, RESTIC_PASSWORD: PASSWORD } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The `stash` command from its sources, as a process of its own. */
function stash(ws: Workspace, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/bin.ts'), ...args, '--specs', ws.specs, '--secrets', ws.secrets, '--state', ws.state], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The repository is sound and holds the snapshot of every run its specs' statuses call succeeded. */
async function expectSound(ws: Workspace, repo: string, specs: readonly string[], state = ws.state): Promise<void> {
  const check = await restic(repo, ['check']);
  expect(check.out).not.toMatch(/damaged|ciphertext verification failed|LoadIndex returned errors/);
  expect(check.code).toBe(0);
  const listed = await restic(repo, ['snapshots', '--json']);
  const ids = (JSON.parse(listed.out) as { id: string }[]).map((s) => s.id);
  const statuses = new FolderStatusStore(state);
  for (const name of specs) {
    const status = await statuses.get(name);
    if (status?.lastRun?.outcome !== 'succeeded') continue;
    for (const group of status.lastRun.fileGroups) expect(ids.some((id) => id.startsWith(group.snapshotId!)), `${name}'s snapshot ${group.snapshotId}`).toBe(true);
  }
}

describe('one run per repository at a time', () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace('stash-one-run-');
    await writeFile(join(ws.data, 'file.txt'), 'x'.repeat(64 * 1024));
  });
  afterAll(() => ws.cleanup());

  /** Specs `<prefix>-a` and `<prefix>-b`, both backing up to the new repository `repo`. */
  async function sharing(prefix: string): Promise<{ repo: string; names: string[] }> {
    const repo = join(ws.repo, prefix);
    const names = [`${prefix}-a`, `${prefix}-b`];
    for (const name of names) {
      const spec = localSpec(ws, name, { schedule: '0 * * * *' });
      spec.spec.backend.local.volumeSource.hostPath.path = repo;
      await ws.writeSpec(`${name}.yaml`, spec);
      await ws.writeSecret(`${name}-secret`, { RESTIC_PASSWORD: PASSWORD });
    }
    return { repo, names };
  }

  it.each(Array.from({ length: TRIALS }, (_, i) => i + 1))('two specs sharing a new repository, one tick (trial %i): both succeed, one after the other', async (trial) => {
    const { repo, names } = await sharing(`tick${trial}`);
    const slot = new Date('2026-01-01T10:00:00Z');
    const lines: string[] = [];
    // A state folder of its own: the scheduler's watermark starts afresh in each trial.
    const engine = new LocalEngine(
      { specs: [ws.specs], secrets: ws.secrets, state: join(ws.root, `state-${trial}`), clock: { now: () => new Date(slot.getTime() + 5_000) } },
      { line: (t) => lines.push(t), error: (t) => lines.push(t) },
    );
    const { decision, done } = await engine.tick();
    const mine = decision.launch.filter((l) => names.includes(l.spec));
    expect(mine.map((l) => l.spec).sort()).toEqual(names);
    const results = (await done).filter((r) => names.includes(r.spec));
    expect(results.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded']);
    // The second waited for the first: exactly one initialised the repository.
    const mineSaid = (text: string) => lines.filter((l) => names.some((n) => l.startsWith(`${n}: `)) && l.includes(text));
    expect(mineSaid('initialising repository')).toHaveLength(1);
    expect(mineSaid('waiting for the repository')).toHaveLength(1);
    await expectSound(ws, repo, names, join(ws.root, `state-${trial}`));
  });

  it('two `stash backup` of one spec started together: one runs, the other is refused naming it', async () => {
    const { repo, names } = await sharing('same');
    const [first, second] = await Promise.all([stash(ws, ['backup', names[0]]), stash(ws, ['backup', names[0]])]);
    const outcomes = [first, second].map((r) => (r.out.includes(`${names[0]}: backup succeeded`) ? 'succeeded' : r.out.includes('is already running') ? 'refused' : r.out));
    expect(outcomes.sort()).toEqual(['refused', 'succeeded']);
    const refused = [first, second].find((r) => r.out.includes('is already running'))!;
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(new RegExp(`${names[0]} is already running \\(run ${names[0]}-\\d{8}T\\d{6}-[0-9a-f]{6} of ${names[0]} \\(pid \\d+, since `));
    await expectSound(ws, repo, names);
  });

  it('two `stash backup` of two specs sharing a new repository, started together: both succeed, the repository checks clean', async () => {
    const { repo, names } = await sharing('pair');
    const results = await Promise.all(names.map((name) => stash(ws, ['backup', name])));
    for (const [i, r] of results.entries()) {
      expect(r.out).toContain(`${names[i]}: backup succeeded`);
      expect(r.code).toBe(0);
    }
    await expectSound(ws, repo, names);
  });

  it('two `stash run --once` on one state folder: the slot runs once', async () => {
    const repo = join(ws.repo, 'once');
    const spec = localSpec(ws, 'once', { schedule: '* * * * *' });
    spec.spec.backend.local.volumeSource.hostPath.path = repo;
    await ws.writeSpec('once.yaml', spec);
    await ws.writeSecret('once-secret', { RESTIC_PASSWORD: PASSWORD });
    const state = join(ws.root, 'state-once');
    const runOnce = () =>
      new Promise<string>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/bin.ts'), 'run', '--once', '--verbose', '--specs', join(ws.specs, 'once.yaml'), '--secrets', ws.secrets, '--state', state], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
        child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
        child.on('close', () => resolve(out));
      });
    const outputs = await Promise.all([runOnce(), runOnce()]);
    // Both plan the minute they start in; started together, that is one slot (two only across a minute boundary).
    // (--verbose prints every record of the run log, `backup started (slot=...)` among them.)
    const slots = new Set(outputs.flatMap((o) => [...o.matchAll(/once: backup started \(slot=(\S+)\)/g)].map((m) => m[1])));
    const started = outputs.flatMap((o) => [...o.matchAll(/once: backup started/g)]);
    expect(started.length, outputs.join('\n---\n')).toBe(slots.size);
    const snapshots = JSON.parse((await restic(repo, ['snapshots', '--json'])).out) as unknown[];
    expect(snapshots).toHaveLength(slots.size);
    expect((await new FolderStatusStore(state).get('once'))?.backupCount).toBe(slots.size);
  });

  it('a lock dies with its process: after kill -9 of a running backup, the next backup of that spec runs', async () => {
    const { names } = await sharing('killed');
    // The repository exists first, so that a restic orphaned by the kill can only be a backup.
    expect((await stash(ws, ['backup', names[0]])).code).toBe(0);
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/bin.ts'), 'backup', names[0], '--verbose', '--specs', ws.specs, '--secrets', ws.secrets, '--state', ws.state], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    // Wait until it holds its locks and has started restic (--verbose prints the record that says so).
    await new Promise<void>((resolve) => {
      const onData = () => {
        if (out.includes('backup started')) {
          child.stdout.off('data', onData);
          resolve();
        }
      };
      child.stdout.on('data', onData);
    });
    child.kill('SIGKILL');
    await exited;
    const again = await stash(ws, ['backup', names[0]]);
    expect(again.out).toContain(`${names[0]}: backup succeeded`);
  });
});
