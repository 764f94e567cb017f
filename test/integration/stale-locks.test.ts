/**
 * A lock left by a run killed on another host (every Fargate task has a host name of its own):
 * restic's own `unlock` keeps such a lock for 30 minutes, and the next run's `forget --prune`
 * (an exclusive lock) failed with "repository is already locked". One run per repository at a
 * time makes such a lock a dead run's, and it is removed; a repository the spec says is shared
 * keeps it, and the run says whose lock it is.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../servers';
import { localSpec, workspace, type Workspace } from './helpers';

const PASSWORD = 'stale-locks-6d0c';
const env = (repo: string) => ({ PATH: process.env.PATH, HOME: process.env.HOME, RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: repo });

/**
 * A backup on host `elsewhere` that holds the repository's lock (it reads stdin, which never
 * ends) until it is killed with SIGKILL, leaving its lock behind.
 */
async function lockFromElsewhere(repo: string): Promise<void> {
  const child: ChildProcess = spawn('unshare', ['--uts', 'sh', '-c', 'hostname elsewhere && exec restic backup --stdin --stdin-filename held'], {
    env: env(repo),
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  await waitFor('the lock of the backup on host elsewhere', async () => ((await readdir(join(repo, 'locks'))).length ? true : undefined), { timeoutMs: 30_000 });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  expect((await readdir(join(repo, 'locks'))).length).toBe(1);
}

describe('a lock left by a run killed on another host', () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace('stash-stale-locks-');
    await writeFile(join(ws.data, 'file.txt'), 'data\n');
  });
  afterAll(() => ws.cleanup());

  async function specWith(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const spec = localSpec(ws, name, { retention: { keepLast: 1, prune: true } });
    Object.assign(spec.spec, extra);
    await ws.writeSpec(`${name}.yaml`, spec);
    await ws.writeSecret(`${name}-secret`, { RESTIC_PASSWORD: PASSWORD });
    expect((await ws.stash(['backup', name])).code).toBe(0);
    return join(ws.repo, name);
  }

  it('does not fail the next run with retention and prune: the lock is removed, the repository checks clean', async () => {
    const repo = await specWith('pruned');
    await lockFromElsewhere(repo);
    const r = await ws.stash(['backup', 'pruned']);
    expect(r.io.text()).toContain('pruned: backup succeeded');
    expect(r.io.text()).toContain('repository is still locked by a run that is gone (one run per repository at a time); removing every lock');
    expect(await readdir(join(repo, 'locks'))).toEqual([]);
    const check = spawnSync('restic', ['check'], { env: env(repo), encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
  });

  it('of a repository the spec says is shared: left alone, and the run names whose lock it is', async () => {
    const repo = await specWith('shared', { sharedRepository: true });
    await lockFromElsewhere(repo);
    const r = await ws.stash(['backup', 'shared']);
    expect(r.code).toBe(1);
    expect(r.io.text()).toMatch(/shared: backup failed: .*repository is already locked .*on elsewhere/);
    expect((await readdir(join(repo, 'locks'))).length).toBe(1);
  });
});
