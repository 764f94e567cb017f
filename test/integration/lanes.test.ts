/**
 * Failures stay in their lane, in local mode: a status file that cannot be used, a run log
 * that cannot be written, a full state disk, hostile spec folders, and signals to commands
 * that read specs or restore. Each is reported with its path and touches only its own spec;
 * the other specs run, and the process lives on (or, asked to stop, stops cleanly).
 *
 * Each case was seen failing first: a corrupt `status/t.json` stopped every spec, a folder at
 * `logs/t.jsonl` killed the scheduler and another spec's backup with it, a full state disk
 * skipped the backup and left `t.json.<pid>.tmp`, a symbolic link loop or one huge file in
 * `specs/` failed every spec, and `stash validate` and `stash restore` went on after SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, rm, statfs, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../servers';
import { startProcess, type ServerProcess } from '../servers/process';
import { alive, localSpec, workspace, type Workspace } from './helpers';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PASSWORD = 'lanes-password-5e1f07c2a9';

/** A workspace with specs `t` (the one a fault hits) and `u` (the bystander), both due every minute. */
async function twoSpecs(prefix: string): Promise<Workspace> {
  const ws = await workspace(prefix);
  await writeFile(join(ws.data, 'file.txt'), 'backed up\n');
  for (const name of ['t', 'u']) {
    await ws.writeSpec(`${name}.yaml`, localSpec(ws, name));
    await ws.writeSecret(`${name}-secret`, { RESTIC_PASSWORD: PASSWORD });
  }
  return ws;
}

/** `stash status --json`, by spec name (exit 0 even where a status cannot be read). */
async function statuses(ws: Workspace): Promise<Record<string, Record<string, unknown>>> {
  const r = await ws.stash(['status', '--json', '--exit-zero']);
  expect(r.io.err).toEqual([]);
  expect(r.code).toBe(0);
  return Object.fromEntries((JSON.parse(r.io.out.join('')) as { name: string }[]).map((s) => [s.name, s]));
}

/** The next scheduled run: without the watermark each `@every 1m` spec is due once. */
async function nextTick(ws: Workspace) {
  await rm(join(ws.state, 'scheduler.json'), { force: true });
  return ws.stash(['run', '--once']);
}

const stores = (ws: Workspace) => ['--specs', ws.specs, '--secrets', ws.secrets, '--state', ws.state];

/** `stash ARGS` from its sources (cli/bin.ts, so a stale build cannot hide a change) as a process of its own. */
function stashProcess(args: string[]): ServerProcess {
  return startProcess(`stash ${args[0]}`, process.execPath, ['--import', 'tsx', join(ROOT, 'cli/bin.ts'), ...args], { cwd: ROOT });
}

/** How the process ended: `code 0`, `signal SIGKILL`. */
const exitOf = (p: ServerProcess) => waitFor(`${p.name} to exit`, () => (p.exited() ? p.exitStatus() : undefined), { timeoutMs: 60_000, intervalMs: 10 });

/** The files process `pid` has open now. */
async function openFiles(pid: number): Promise<string[]> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  return (await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')))).filter(Boolean);
}

/** The pid of a restic process whose command line has `verb` and a path below `dir`. */
async function resticRunning(verb: string, dir: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[0]?.endsWith('restic') && argv.includes(verb) && argv.some((a) => a.startsWith(`${dir}/`))) return Number(entry);
  }
  return undefined;
}

/** Every entry below `dir`, relative, sorted. */
const entries = async (dir: string) => (await readdir(dir, { recursive: true })).sort();

describe('a status file that cannot be used', () => {
  let ws: Workspace;
  let statusFile: string;
  let bystander: string;
  const FOLDER = { folder: true } as const;

  /** Puts `form` where t's status belongs: that text, or a folder holding a file. */
  async function putStatus(form: string | typeof FOLDER) {
    await rm(statusFile, { recursive: true, force: true });
    if (typeof form === 'string') await writeFile(statusFile, form);
    else {
      await mkdir(statusFile);
      await writeFile(join(statusFile, 'inside'), 'kept\n');
    }
  }

  beforeAll(async () => {
    ws = await twoSpecs('stash-lanes-status-');
    expect((await ws.stash(['backup', 'u'])).code).toBe(0);
    statusFile = join(ws.state, 'status', 't.json');
    bystander = await readFile(join(ws.state, 'status', 'u.json'), 'utf8');
  });
  afterAll(() => ws.cleanup());

  it.each([
    ['empty', '', /^not valid JSON: Unexpected end of JSON input$/],
    ['an open brace', '{', /^not valid JSON: Expected property name or '}' in JSON at position 1/],
    ['null', 'null', /^Invalid input: expected object, received null$/],
    ['cut short', '{"name": "t", "backupCount": 1, "lastOut', /^not valid JSON: Unterminated string in JSON at position 40/],
    ['an array', '[]', /^Invalid input: expected object, received array$/],
    ['a string', '"t"', /^Invalid input: expected object, received string$/],
    ['a number', '42', /^Invalid input: expected object, received number$/],
    ['a name of the wrong type', '{"name": 5}', /^name: Invalid input: expected string, received number$/],
    ['a count of the wrong type', '{"name": "t", "backupCount": "many"}', /^backupCount: Invalid input: expected number, received string$/],
    ['a negative count', '{"name": "t", "backupCount": -1}', /^backupCount: Too small: expected number to be >=0$/],
    ["another spec's name", '{"name": "u"}', /^name: "u" is not the file's name$/],
    ['a folder', FOLDER, /^cannot read: EISDIR: illegal operation on a directory, read$/],
  ])('%s: `stash status` shows t with the error and the file, and u as it was', async (_, form, message) => {
    await putStatus(form);
    const rows = await statuses(ws);
    expect(Object.keys(rows)).toEqual(['t', 'u']);
    expect(rows.t).toEqual({ name: 't', nextRun: expect.any(String), paused: false, statusError: expect.stringMatching(/./), problem: 'status unreadable' });
    expect(String(rows.t.statusError).slice(0, statusFile.length + 2)).toBe(`${statusFile}: `);
    expect(String(rows.t.statusError).slice(statusFile.length + 2)).toMatch(message);
    expect(rows.u).toMatchObject({ lastOutcome: 'succeeded', backupCount: 1 });
    expect(await readFile(join(ws.state, 'status', 'u.json'), 'utf8')).toBe(bystander);
  });

  it('shows the error in the text form too, in place of the counts', async () => {
    await putStatus('null');
    const r = await ws.stash(['status']);
    // A status that cannot be read needs attention: a health check sees it.
    expect(r.code).toBe(1);
    expect(r.io.out.slice(0, 3)).toEqual(['t', `  status unreadable: ${statusFile}: Invalid input: expected object, received null`, expect.stringMatching(/^ {2}next run: /)]);
    expect(r.io.out[3]).toBe('u');
    expect(r.io.err).toEqual(['needs attention: t (status unreadable)']);
  });

  it.each([
    ['not JSON', '{'],
    ['a folder', FOLDER],
  ])('%s: a backup of t keeps it as t.json.corrupt-<time>, says so with both paths, and starts a fresh status', async (_, form) => {
    await putStatus(form);
    const r = await ws.stash(['backup', 't']);
    expect(r.io.out).toContainEqual(expect.stringMatching(/^t: backup succeeded \(/));
    expect(r.code).toBe(0);
    const aside = (await readdir(join(ws.state, 'status'))).filter((f) => f.startsWith('t.json.corrupt-'));
    expect(aside).toEqual([expect.stringMatching(/^t\.json\.corrupt-\d{8}T\d{6}\.\d{3}Z$/)]);
    const asidePath = join(ws.state, 'status', aside[0]);
    expect(r.io.err).toHaveLength(1);
    expect(r.io.err[0].startsWith(`${statusFile}: `)).toBe(true);
    expect(r.io.err[0].endsWith(`; kept as ${asidePath}, starting a fresh status`)).toBe(true);
    // Nothing of it is lost.
    expect(await readFile(typeof form === 'string' ? asidePath : join(asidePath, 'inside'), 'utf8')).toBe(typeof form === 'string' ? form : 'kept\n');
    const rows = await statuses(ws);
    expect(rows.t).toMatchObject({ backupCount: 1, lastOutcome: 'succeeded' });
    expect(rows.t.statusError).toBeUndefined();
    await rm(asidePath, { recursive: true });
  });

  it('a tick with t\'s status corrupt backs up both t and u', async () => {
    await putStatus('null');
    const r = await nextTick(ws);
    expect(r.io.text()).toContain('t: backup succeeded (');
    expect(r.io.text()).toContain('u: backup succeeded (');
    expect(r.code).toBe(0);
    const rows = await statuses(ws);
    expect(rows.t).toMatchObject({ backupCount: 1, lastOutcome: 'succeeded' });
    expect(rows.u).toMatchObject({ backupCount: 2, lastOutcome: 'succeeded' });
  });
});

describe('a run log that cannot be written', () => {
  it("the scheduler says so once and runs on: t backs up without its log, and u's backup beside it finishes", async () => {
    const ws = await twoSpecs('stash-lanes-log-');
    let scheduler: ServerProcess | undefined;
    try {
      // Big enough that u's backup is still running when t's log fails at t's first line.
      await writeFile(join(ws.data, 'big.bin'), randomBytes(64 * 1024 * 1024));
      const log = join(ws.state, 'logs', 't.jsonl');
      await mkdir(log, { recursive: true });
      scheduler = stashProcess(['run', ...stores(ws)]);
      const finished = async (name: string) => {
        const s = JSON.parse(await readFile(join(ws.state, 'status', `${name}.json`), 'utf8')) as { lastOutcome?: string; running?: unknown };
        return s.lastOutcome && !s.running ? s.lastOutcome : undefined;
      };
      await waitFor('the backups of t and u to finish', async () => ((await finished('t')) && (await finished('u')) ? true : undefined), {
        processes: [scheduler],
        timeoutMs: 90_000,
      });
      process.kill(scheduler.pid, 'SIGINT');
      expect(await exitOf(scheduler)).toBe('code 0');
      const out = scheduler.output();
      const warning = `failed to write the run log ${log}: EISDIR: illegal operation on a directory, open '${log}'; the run goes on`;
      expect(out.split(warning)).toHaveLength(2);
      expect(out).toContain('t: backup succeeded (');
      expect(out).toContain('u: backup succeeded (');
      const rows = await statuses(ws);
      expect(rows.t).toMatchObject({ lastOutcome: 'succeeded', backupCount: 1 });
      expect(rows.u).toMatchObject({ lastOutcome: 'succeeded', backupCount: 1 });
      expect(await readFile(join(ws.state, 'logs', 'u.jsonl'), 'utf8')).toContain('"message":"run finished"');
    } finally {
      await scheduler?.stop();
      await ws.cleanup();
    }
  });
});

describe('a full state disk', () => {
  it('each write that fails is reported with its file and ENOSPC, no temporary file is left, and the backups still run', async (ctx) => {
    const ws = await twoSpecs('stash-lanes-full-');
    await mkdir(ws.state, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', ws.state], { stdio: 'pipe' });
    } catch (err) {
      await ws.cleanup();
      // CI runs as root on a fresh machine, where this mount works.
      ctx.skip(`a full disk needs a small tmpfs, and mounting one failed here (not root?): ${String(err)}`);
    }
    try {
      expect((await ws.stash(['backup', 'u'])).code).toBe(0);
      const full = await writeFile(join(ws.state, 'filler'), Buffer.alloc(1024 * 1024)).catch((err: NodeJS.ErrnoException) => err.code);
      expect(full).toBe('ENOSPC');
      expect((await statfs(ws.state)).bavail).toBe(0);
      const status = (name: string) => join(ws.state, 'status', `${name}.json`);
      const notSaved = (name: string) => `failed to write ${status(name)}: ENOSPC: no space left on device, write; the status of ${name} is not saved`;

      const backup = await ws.stash(['backup', 't']);
      expect(backup.io.out).toContainEqual(expect.stringMatching(/^t: backup succeeded \(/));
      expect(backup.code).toBe(0);
      expect(backup.io.err).toEqual([
        notSaved('t'),
        `failed to write the run log ${join(ws.state, 'logs', 't.jsonl')}: ENOSPC: no space left on device, write; the run goes on`,
        notSaved('t'),
        expect.stringMatching(new RegExp(`^failed to write ${join(ws.state, 'runs', 't')}/t-\\d{8}T\\d{6}-[0-9a-f]{6}\\.json: ENOSPC: no space left on device, write; the run is not in stash history$`)),
      ]);
      expect((await entries(ws.state)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

      const tick = await nextTick(ws);
      expect(tick.io.text()).toContain('t: backup succeeded (');
      expect(tick.io.text()).toContain('u: backup succeeded (');
      expect(tick.code).toBe(0);
      expect(tick.io.err).toContain(`failed to write ${join(ws.state, 'scheduler.json')}: ENOSPC: no space left on device, write; this scheduler keeps its place in memory`);
      expect(tick.io.err).toContain(notSaved('u'));
      expect((await entries(ws.state)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      // restic made every snapshot, whatever the state folder could keep.
      const snapshots = await ws.stash(['snapshots', 't', '--json']);
      expect(JSON.parse(snapshots.io.out.join(''))).toHaveLength(2);

      await rm(join(ws.state, 'filler'));
      const after = await ws.stash(['backup', 't']);
      expect(after.io.err).toEqual([]);
      expect(after.code).toBe(0);
      expect((await statuses(ws)).t).toMatchObject({ lastOutcome: 'succeeded', backupCount: 1 });
    } finally {
      execFileSync('umount', ['--lazy', ws.state]);
      await ws.cleanup();
    }
  });
});

describe('hostile spec folders', () => {
  it('a symbolic link loop, a 600 MB file and links that lead nowhere: each bad file named once, t and u load and run', async () => {
    const ws = await twoSpecs('stash-lanes-specs-');
    try {
      const at = (f: string) => join(ws.specs, f);
      await symlink('.', at('again'));
      await mkdir(at('team'));
      await symlink('..', at('team/up'));
      // Sparse: 600 MB long, hardly any disk.
      await writeFile(at('huge.yaml'), '');
      await truncate(at('huge.yaml'), 600 * 1024 * 1024);
      await symlink('missing.yaml', at('gone.yaml'));
      await symlink('self.yaml', at('self.yaml'));
      const problems = [
        `${at('gone.yaml')}: cannot read: ENOENT: no such file or directory, stat '${at('gone.yaml')}'`,
        `${at('huge.yaml')}: file is larger than 1048576 bytes; a spec is a few hundred`,
        `${at('self.yaml')}: cannot read: ELOOP: too many symbolic links encountered, stat '${at('self.yaml')}'`,
      ];

      const validate = await ws.stash(['validate', ws.specs]);
      expect(validate.io.err).toEqual(problems);
      expect(validate.io.out).toEqual([`ok ${at('t.yaml')}: t`, `ok ${at('u.yaml')}: u`, '2 valid, 3 invalid, 0 warning(s)']);
      expect(validate.code).toBe(1);

      const tick = await nextTick(ws);
      expect(tick.io.err).toEqual(problems.map((p) => `skipped: ${p}`));
      expect(tick.io.text()).toContain('t: backup succeeded (');
      expect(tick.io.text()).toContain('u: backup succeeded (');
      expect(tick.code).toBe(0);
    } finally {
      await ws.cleanup();
    }
  });
});

describe('signals to commands that do not back up', () => {
  it('SIGTERM to `stash validate` stops it reading: exit 1, no verdict', async () => {
    const ws = await workspace('stash-lanes-validate-');
    try {
      // Enough specs that reading them all takes seconds.
      const spec = localSpec(ws, 'many');
      for (let i = 0; i < 1000; i++) await ws.writeSpec(`many-${i}.yaml`, stringify({ ...spec, metadata: { name: `many-${i}` } }));
      const stash = stashProcess(['validate', ws.specs]);
      try {
        await waitFor('stash validate to read the specs', async () => ((await openFiles(stash.pid)).some((f) => f.startsWith(`${ws.specs}/`)) ? true : undefined), {
          processes: [stash],
          intervalMs: 2,
        });
        process.kill(stash.pid, 'SIGTERM');
        expect(await exitOf(stash)).toBe('code 1');
        expect(stash.output()).toBe('stash: interrupted by SIGTERM\n');
      } finally {
        await stash.stop();
      }
    } finally {
      await ws.cleanup();
    }
  });

  it('SIGTERM to `stash restore` stops restic cleanly: exit 1, restic gone, its lock removed', async () => {
    const ws = await workspace('stash-lanes-restore-');
    try {
      await writeFile(join(ws.data, 'big.bin'), randomBytes(96 * 1024 * 1024));
      await ws.writeSpec('big.yaml', localSpec(ws, 'big'));
      await ws.writeSecret('big-secret', { RESTIC_PASSWORD: PASSWORD });
      expect((await ws.stash(['backup', 'big'])).code).toBe(0);
      const target = join(ws.root, 'restored');
      const stash = stashProcess(['restore', 'big', '--target', target, ...stores(ws)]);
      try {
        const restic = await waitFor('restic to restore', () => resticRunning('restore', ws.root), { processes: [stash], intervalMs: 5 });
        process.kill(stash.pid, 'SIGTERM');
        expect(await exitOf(stash)).toBe('code 1');
        expect(stash.output()).toContain(`restore of big was interrupted: nothing in ${target} was changed`);
        expect(stash.output()).not.toContain('restored /source/data');
        expect(alive(restic)).toBe(false);
        expect(await readdir(join(ws.repo, 'big', 'locks'))).toEqual([]);
        expect(stash.output()).not.toContain(PASSWORD);
      } finally {
        await stash.stop();
      }
    } finally {
      await ws.cleanup();
    }
  });
});
