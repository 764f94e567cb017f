/**
 * Fault injection in local mode, with the real restic and real servers: restic killed in the
 * middle of a backup, the backend server stopped and started again, the repository's disk
 * full, the `stash` process stopped with SIGTERM, a secret broken or gone, and the bad-input
 * corpus beside a valid spec on a scheduler tick.
 *
 * After each fault, what must hold:
 *   - the failure is in `stash status --json` (lastOutcome, lastError) and in the run log
 *     (<state>/logs/<name>.jsonl);
 *   - the next scheduled run succeeds (a `stash run --once` tick);
 *   - `restic check` passes (`stash check`) and a restore is byte for byte the source;
 *   - a second spec in the same workspace is untouched (its status, its repository's locks);
 *   - the restic password appears nowhere in output, logs or status.
 *
 * Lean by design: one workspace and one bystander for the file, small data except where a
 * backup must still be running when the fault hits (64 MiB, most of a second of restic).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, lstat, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, httpStatus, waitFor } from '../servers';
import { startProcess, type ServerProcess } from '../servers/process';
import { alive, allText, workspace, type Workspace } from './helpers';

const PASSWORD = 'faults-password-2b9d41c07e';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// ---- helpers -------------------------------------------------------------------------------------

/** A local-mode spec: fileGroup /source/data from `data`, the repository as given. */
function specFor(name: string, data: string, backend: Record<string, unknown>, extra: { schedule?: string; retention?: Record<string, unknown> } = {}) {
  return {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Restic',
    metadata: { name },
    spec: {
      fileGroups: [{ path: '/source/data', ...(extra.retention ? { retentionPolicy: extra.retention } : {}) }],
      backend: { ...backend, storageSecretName: `${name}-secret` },
      schedule: extra.schedule ?? '@every 1m',
      volumeMounts: [{ mountPath: '/source/data', name: 'source-data' }],
      volumes: [{ name: 'source-data', hostPath: { path: data } }],
    },
  };
}

const localBackend = (repo: string) => ({ local: { path: '/repo', volumeSource: { hostPath: { path: repo } } } });

/** Source data: a few small files, and `bigMiB` of incompressible data in 32 MiB files. */
async function makeData(dir: string, bigMiB = 0): Promise<void> {
  await mkdir(join(dir, 'docs'), { recursive: true });
  for (let i = 0; i < 20; i++) await writeFile(join(dir, 'docs', `note-${i}.txt`), `note ${i}\n${randomBytes(512).toString('hex')}\n`);
  for (let left = bigMiB, i = 0; left > 0; left -= 32, i++) await writeFile(join(dir, `big-${i}.bin`), randomBytes(Math.min(32, left) * 1024 * 1024));
}

/** Every file below `dir` with its mode and SHA-256: equal digests mean byte-for-byte equal trees. */
async function digestTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string) {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, r));
      if (st.isDirectory()) {
        out[r] = 'dir';
        await walk(r);
      } else out[r] = `${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(await readFile(join(dir, r))).digest('hex')}`;
    }
  }
  await walk('');
  return out;
}

/** The pid of the restic process backing up `dataDir` (found by its command line in /proc). */
async function resticBackingUp(dataDir: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[0]?.endsWith('restic') && argv.includes('backup') && argv.includes(dataDir)) return Number(entry);
  }
  return undefined;
}

/** Files directly or recursively below `dir`; none when it does not exist. */
async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const p = join(dir, name);
    if ((await stat(p)).isDirectory()) out.push(...(await filesBelow(p)));
    else out.push(p);
  }
  return out;
}

/** Waits until restic is backing up `dataDir` and has written a pack to `packsDir`; returns its pid. */
async function resticMidBackup(dataDir: string, packsDir: string): Promise<number> {
  return waitFor(
    `restic to write data while backing up ${dataDir}`,
    async () => {
      const pid = await resticBackingUp(dataDir);
      return pid !== undefined && (await filesBelow(packsDir)).length > 0 ? pid : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 10 },
  );
}

interface LogLine {
  level: string;
  message: string;
  outcome?: string;
  error?: string;
  [key: string]: unknown;
}

// ---- the suite -------------------------------------------------------------------------------------

describe('faults in local mode', () => {
  let ws: Workspace;
  let bystanderStatus: string;

  const statusOf = async (name: string) => {
    // A spec whose last run failed needs attention: --exit-zero reads the status all the same.
    const r = await ws.stash(['status', '--json', '--exit-zero']);
    expect(r.code).toBe(0);
    return (JSON.parse(r.io.out.join('')) as Record<string, unknown>[]).find((s) => s.name === name) ?? {};
  };
  const logOf = async (name: string): Promise<LogLine[]> =>
    (await readFile(join(ws.state, 'logs', `${name}.jsonl`), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LogLine);

  /** The next scheduled run: the scheduler's watermark is a minute old, so each `@every 1m` spec is due once. */
  const nextTick = async () => {
    await rm(join(ws.state, 'scheduler.json'), { force: true });
    return ws.stash(['run', '--once']);
  };

  /**
   * What must hold after a fault of spec `name`: the failure recorded, the next scheduled run
   * succeeds, check passes, a restore is byte for byte, the bystander untouched.
   */
  async function recovers(name: string, data: string, failure: { outcome: string; error: RegExp }) {
    const status = await statusOf(name);
    expect(status).toMatchObject({ lastOutcome: failure.outcome });
    expect(status.lastError).toMatch(failure.error);
    expect(status.running).toBeUndefined();
    const finished = (await logOf(name)).filter((l) => l.message === 'run finished');
    expect(finished.at(-1)).toMatchObject({ level: 'ERROR', outcome: failure.outcome });
    expect(finished.at(-1)?.error).toMatch(failure.error);

    const tick = await nextTick();
    expect(tick.io.text()).toContain(`${name}: backup succeeded (`);
    expect(tick.code).toBe(0);
    const after = await statusOf(name);
    expect(after).toMatchObject({ lastOutcome: 'succeeded' });
    expect(after.lastError).toBeUndefined();

    const check = await ws.stash(['check', name]);
    expect(check.io.text()).toContain(`${name}: check succeeded`);
    expect(check.code).toBe(0);

    const target = join(ws.root, `restored-${name}`);
    const restore = await ws.stash(['restore', name, '--target', target]);
    expect(restore.code).toBe(0);
    expect(await digestTree(join(target, 'source/data'))).toEqual(await digestTree(data));
    await rm(target, { recursive: true, force: true });

    await bystanderUntouched();
    expect(await allText(ws.state)).not.toContain(PASSWORD);
    // The victim leaves the schedule so that later ticks run only their own victim.
    await rm(join(ws.specs, `${name}.yaml`));
  }

  async function bystanderUntouched() {
    expect(await readFile(join(ws.state, 'status', 'bystander.json'), 'utf8')).toBe(bystanderStatus);
    expect(await readdir(join(ws.repo, 'bystander', 'locks'))).toEqual([]);
  }

  async function addVictim(name: string, backend: Record<string, unknown>, bigMiB: number, retention?: Record<string, unknown>) {
    const data = join(ws.root, `data-${name}`);
    await makeData(data, bigMiB);
    await ws.writeSpec(`${name}.yaml`, specFor(name, data, backend, { retention }));
    await ws.writeSecret(`${name}-secret`, { RESTIC_PASSWORD: PASSWORD });
    return data;
  }

  beforeAll(async () => {
    ws = await workspace('stash-faults-');
    const data = join(ws.root, 'data-bystander');
    await makeData(data);
    // Never due during a test (1 January, midnight): only a fault's victim runs on a tick.
    await ws.writeSpec('bystander.yaml', specFor('bystander', data, localBackend(join(ws.repo, 'bystander')), { schedule: '0 0 1 1 *' }));
    await ws.writeSecret('bystander-secret', { RESTIC_PASSWORD: PASSWORD });
    const r = await ws.stash(['backup', 'bystander']);
    expect(r.code).toBe(0);
    bystanderStatus = await readFile(join(ws.state, 'status', 'bystander.json'), 'utf8');
  });
  afterAll(() => ws.cleanup());

  it('restic killed (SIGKILL) mid-backup: recorded as failed; the next run removes the stale lock and prunes', async () => {
    const repo = join(ws.repo, 'killed');
    // keepLast 1 + prune: forget needs the exclusive lock, which the killed run's stale lock blocks.
    const data = await addVictim('killed', localBackend(repo), 64, { keepLast: 1, prune: true });
    const run = ws.stash(['backup', 'killed']);
    const pid = await resticMidBackup(data, join(repo, 'data'));
    process.kill(pid, 'SIGKILL');
    const r = await run;
    expect(r.code).toBe(1);
    expect(r.io.text()).toContain('killed: backup failed: /source/data: restic backup was killed by SIGKILL');
    expect(await readdir(join(repo, 'locks'))).toHaveLength(1);

    await recovers('killed', data, { outcome: 'failed', error: /^\/source\/data: restic backup was killed by SIGKILL$/ });
    const log = await logOf('killed');
    expect(log.some((l) => l.level === 'WARN' && l.message.startsWith('repository is locked; removing stale locks') && l.command === 'forget')).toBe(true);
    expect(await readdir(join(repo, 'locks'))).toEqual([]);
  });

  it('the backend server stopped during a backup and started again: restic rides out the outage', async () => {
    const port = await freePort();
    const serverDir = join(ws.root, 'rest-server');
    await mkdir(join(serverDir, 'data'), { recursive: true });
    await mkdir(join(serverDir, 'home'), { recursive: true });
    const url = `http://127.0.0.1:${port}/`;
    const startServer = async () => {
      const proc = startProcess('rclone serve restic', 'rclone', ['serve', 'restic', '--config', '/dev/null', '--addr', `127.0.0.1:${port}`, join(serverDir, 'data')], {
        cwd: serverDir,
        env: { PATH: process.env.PATH, HOME: join(serverDir, 'home') },
      });
      await waitFor(`rclone at ${url}`, () => httpStatus(url), { processes: [proc], timeoutMs: 20_000 });
      return proc;
    };
    let server: ServerProcess | undefined = await startServer();
    let outage: net.Server | undefined;
    try {
      const data = await addVictim('outage', { rest: { url: `${url}outage/` } }, 64);
      const run = ws.stash(['backup', 'outage']);
      const pid = await resticMidBackup(data, join(serverDir, 'data', 'outage', 'data'));
      await server.stop();
      server = undefined;
      // While the server is down, its port resets every connection; it comes back once restic
      // has failed against it twice (restic retries with backoff, about 10 tries per request).
      let refused = 0;
      outage = net.createServer((socket) => {
        refused++;
        socket.resetAndDestroy();
      });
      await new Promise<void>((resolve, reject) => outage!.once('error', reject).listen(port, '127.0.0.1', resolve));
      await waitFor('restic to hit the stopped server twice', () => (refused >= 2 ? true : undefined), { timeoutMs: 60_000 });
      expect(alive(pid)).toBe(true);
      await new Promise<void>((resolve) => outage!.close(() => resolve()));
      outage = undefined;
      server = await startServer();
      const r = await run;
      expect(r.io.text()).toContain('outage: backup succeeded');
      expect(r.code).toBe(0);

      // Nothing failed, so the status and the log say success; the repository is whole.
      const status = await statusOf('outage');
      expect(status).toMatchObject({ lastOutcome: 'succeeded', backupCount: 1 });
      expect(await filesBelow(join(serverDir, 'data', 'outage', 'locks'))).toEqual([]);
      const check = await ws.stash(['check', 'outage']);
      expect(check.code).toBe(0);
      const target = join(ws.root, 'restored-outage');
      expect((await ws.stash(['restore', 'outage', '--target', target])).code).toBe(0);
      expect(await digestTree(join(target, 'source/data'))).toEqual(await digestTree(data));
      await bystanderUntouched();
      await rm(join(ws.specs, 'outage.yaml'));
    } finally {
      await new Promise<void>((resolve) => (outage ? outage.close(() => resolve()) : resolve()));
      await server?.stop();
    }
  });

  it('the repository disk full: the run fails with ENOSPC; once space is freed the next run succeeds', async () => {
    const mount = join(ws.root, 'small-disk');
    await mkdir(mount, { recursive: true });
    const disk = await smallDisk(mount, 16);
    try {
      const data = await addVictim('full', localBackend(join(mount, 'repo')), 32, { keepLast: 1, prune: true });
      const r = await ws.stash(['backup', 'full']);
      expect(r.code).toBe(1);
      expect(r.io.text()).toMatch(disk.error);
      // Again, with the disk still full: where restic would retry the write for 15 minutes
      // (restic#4558), it is stopped at its first retry and the run fails at once, saying why.
      const again = await ws.stash(['backup', 'full']);
      expect(again.code).toBe(1);
      expect(again.io.text()).toMatch(disk.error);
      await disk.grow(256);
      await recovers('full', data, { outcome: 'failed', error: disk.error });
    } finally {
      await disk.remove();
    }
  });

  it('SIGTERM to `stash backup`: restic stops cleanly, its lock removed, and the run is recorded as interrupted', async () => {
    const repo = join(ws.repo, 'stopped');
    const data = await addVictim('stopped', localBackend(repo), 64);
    // The `stash` process from its sources (cli/bin.ts, what dist/cli.mjs is built from), so a stale build cannot hide a change.
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'cli/bin.ts'), 'backup', 'stopped', '--specs', ws.specs, '--secrets', ws.secrets, '--state', ws.state], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const pid = await resticMidBackup(data, join(repo, 'data'));
    child.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(output).toContain('stopped: backup interrupted');
    expect(alive(pid)).toBe(false);
    // restic got SIGINT and removed its own lock: nothing stale is left behind.
    expect(await readdir(join(repo, 'locks'))).toEqual([]);
    expect(output).not.toContain(PASSWORD);
    await recovers('stopped', data, { outcome: 'interrupted', error: /^\/source\/data: restic backup was interrupted/ });
  });

  it('a secret deleted, unreadable, then missing its password: config-error with the reason, restic never runs; restored, the next run succeeds', async () => {
    const repo = join(ws.repo, 'secretless');
    const data = await addVictim('secretless', localBackend(repo), 0);
    await rm(join(ws.secrets, 'secretless-secret'), { recursive: true });
    const gone = await ws.stash(['backup', 'secretless']);
    expect(gone.code).toBe(1);
    expect(gone.io.text()).toContain('secretless: backup config-error: secret "secretless-secret" not found');
    // Unreadable: the status says why (the file and the position), never the text.
    await writeFile(join(ws.secrets, 'secretless-secret.json'), `{"RESTIC_PASSWORD": "${PASSWORD}", `);
    const unreadable = await ws.stash(['backup', 'secretless']);
    expect(unreadable.code).toBe(1);
    expect(unreadable.io.text()).toMatch(/secretless: backup config-error: \S+secretless-secret\.json: not valid JSON/);
    expect((await statusOf('secretless')).lastError).toMatch(/secretless-secret\.json: not valid JSON/);
    expect(unreadable.io.text()).not.toContain(PASSWORD);
    await rm(join(ws.secrets, 'secretless-secret.json'));
    await ws.writeSecret('secretless-secret', { AWS_ACCESS_KEY_ID: 'AKIAFAULTS' });
    const keyless = await ws.stash(['backup', 'secretless']);
    expect(keyless.code).toBe(1);
    expect(keyless.io.text()).toContain('secretless: backup config-error: secret "secretless-secret": missing required key RESTIC_PASSWORD');
    // Refused before restic: no repository was created.
    expect(await readdir(repo).catch(() => [])).toEqual([]);
    await ws.writeSecret('secretless-secret', { RESTIC_PASSWORD: PASSWORD });
    await recovers('secretless', data, { outcome: 'config-error', error: /^secret "secretless-secret": missing required key RESTIC_PASSWORD$/ });
  });

  it('the bystander still backs up and checks clean after every fault', async () => {
    await bystanderUntouched();
    expect((await ws.stash(['backup', 'bystander'])).code).toBe(0);
    expect((await ws.stash(['check', 'bystander'])).code).toBe(0);
    expect(await statusOf('bystander')).toMatchObject({ lastOutcome: 'succeeded', backupCount: 2 });
  });
});

describe('the bad-input corpus on a scheduler tick', () => {
  it('runs the valid spec beside it, launches none of the bad ones, and names every problem', async () => {
    const ws = await workspace('stash-faults-corpus-');
    try {
      const corpus = fileURLToPath(new URL('../fixtures/bad', import.meta.url));
      await cp(join(corpus, 'specs'), ws.specs, { recursive: true });
      await writeFile(join(ws.data, 'file.txt'), 'still backed up\n');
      await ws.writeSpec('still-runs.yaml', specFor('still-runs', ws.data, localBackend(join(ws.repo, 'still-runs'))));
      await ws.writeSecret('still-runs-secret', { RESTIC_PASSWORD: PASSWORD });
      // Every secret the bad specs name exists, so only validation can keep them from running.
      for (const name of ['local-secret', 's3-secret', 'azure-secret', 'rest-secret']) await ws.writeSecret(name, { RESTIC_PASSWORD: PASSWORD });
      const expected = JSON.parse(await readFile(join(corpus, 'expected.json'), 'utf8')) as { specs: Record<string, { errors: string[] }> };
      const lines = Object.values(expected.specs).flatMap((s) => s.errors.map((l) => `skipped: ${l.split('test/fixtures/bad/specs/').join(`${ws.specs}/`)}`));

      const r = await ws.stash(['run', '--once']);
      expect(r.io.err).toEqual(expect.arrayContaining(lines));
      expect(r.io.err).toHaveLength(lines.length);
      expect(r.io.text()).toContain('still-runs: backup succeeded (');
      expect(r.code).toBe(0);
      // Only the valid spec has a status, a log and a repository.
      expect(await readdir(join(ws.state, 'status'))).toEqual(['still-runs.json']);
      expect(await readdir(join(ws.state, 'logs'))).toEqual(['still-runs.jsonl']);
      expect(await readdir(ws.repo)).toEqual(['still-runs']);
      const status = JSON.parse((await ws.stash(['status', '--json'])).io.out.join('')) as { name: string; lastOutcome?: string }[];
      expect(status).toEqual([expect.objectContaining({ name: 'still-runs', lastOutcome: 'succeeded' })]);
    } finally {
      await ws.cleanup();
    }
  });
});

// ---- a small disk ----------------------------------------------------------------------------------

interface SmallDisk {
  /** What restic says when the disk is full. */
  readonly error: RegExp;
  grow(mib: number): Promise<void>;
  remove(): Promise<void>;
}

/**
 * A small filesystem at `dir`: a tmpfs of `mib` MiB (needs root, as CI runs), else a
 * loop-mounted ext4 image. Where neither can be mounted, restic runs under a file-size limit
 * (`ulimit -f`) instead: its writes fail with "file too large" rather than "no space left on
 * device", which proves the same recovery (a write refused mid-backup) but not ENOSPC itself.
 */
async function smallDisk(dir: string, mib: number): Promise<SmallDisk> {
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'pipe' });
  const unmount = async () => {
    run('umount', [dir]);
  };
  try {
    run('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0700`, 'tmpfs', dir]);
    return {
      error: /no space left on device/,
      grow: async (to) => void run('mount', ['-o', `remount,size=${to}m`, dir]),
      remove: unmount,
    };
  } catch {
    // tmpfs refused: try a loop-mounted ext4 image.
  }
  const image = `${dir}.img`;
  try {
    run('truncate', ['-s', `${mib}M`, image]);
    run('mkfs.ext4', ['-q', '-F', image]);
    run('mount', ['-o', 'loop', image, dir]);
    return {
      error: /no space left on device/,
      grow: async (to) => {
        run('truncate', ['-s', `${to}M`, image]);
        const device = execFileSync('findmnt', ['-n', '-o', 'SOURCE', dir], { encoding: 'utf8' }).trim();
        run('losetup', ['-c', device]);
        run('resize2fs', [device]);
      },
      remove: async () => {
        await unmount();
        await rm(image, { force: true });
      },
    };
  } catch {
    await rm(image, { force: true });
  }
  const wrapper = join(dir, '..', 'restic-file-size-limit');
  const limit = join(dir, '..', 'restic-file-size-limit.blocks');
  // Smaller than one restic pack, so the first pack written fails.
  await writeFile(limit, '2048');
  await writeFile(wrapper, `#!/bin/sh\nulimit -f "$(cat '${limit}')"\nexec restic "$@"\n`, { mode: 0o755 });
  process.env.STASH_RESTIC_BINARY = wrapper;
  return {
    error: /file too large/,
    grow: async () => writeFile(limit, 'unlimited'),
    remove: async () => {
      delete process.env.STASH_RESTIC_BINARY;
    },
  };
}
