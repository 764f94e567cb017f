/**
 * A repository that was there and is not any more (a backup disk unmounted, its folder moved,
 * a bucket deleted) is an error, never a new, empty repository that hides the history; and a
 * backup counts only when its snapshot is in the repository.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolderStatusStore } from '../../cli/local/stores';
import { localSpec, workspace, type Workspace } from './helpers';

const PASSWORD = 'vanished-repository-8b1e';

function snapshotCount(repo: string): number {
  const r = spawnSync('restic', ['-r', repo, 'snapshots', '--json', '--no-lock'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, RESTIC_PASSWORD: PASSWORD }, encoding: 'utf8' });
  return (JSON.parse(r.stdout) as unknown[]).length;
}

describe('a repository that vanished', () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace('stash-vanished-');
    await writeFile(join(ws.data, 'file.txt'), 'important\n');
  });
  afterAll(() => ws.cleanup());

  async function specOn(name: string, repo: string, retention?: Record<string, unknown>): Promise<void> {
    const spec = localSpec(ws, name, retention ? { retention } : {});
    spec.spec.backend.local.volumeSource.hostPath.path = repo;
    await ws.writeSpec(`${name}.yaml`, spec);
    await ws.writeSecret(`${name}-secret`, { RESTIC_PASSWORD: PASSWORD });
  }

  it('moved away (an unmounted disk): the backup fails saying where it looked, and creates nothing there; --init makes a new one; back, the history is whole', async () => {
    const disk = join(ws.root, 'disk');
    const repo = join(disk, 'repo');
    await specOn('moved', repo);
    expect((await ws.stash(['backup', 'moved'])).code).toBe(0);

    await rename(disk, `${disk}.unmounted`);
    const gone = await ws.stash(['backup', 'moved']);
    expect(gone.code).toBe(1);
    expect(gone.io.text()).toContain(
      `moved: backup failed: /source/data: the repository at ${repo} does not exist, but moved backed up to it 1 time, last at `,
    );
    expect(gone.io.text()).toContain('is a disk unmounted, a mount missing or a bucket deleted? If it is gone for good, start a new, empty repository with: stash backup moved --init');
    expect(gone.io.text()).not.toContain('initialising the repository at');
    await expect(readdir(disk)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await new FolderStatusStore(ws.state).get('moved'))?.lastError).toMatch(/does not exist, but moved backed up to it/);

    // Back in place: the next backup adds to the same history.
    await rename(`${disk}.unmounted`, disk);
    expect((await ws.stash(['backup', 'moved'])).code).toBe(0);
    expect(snapshotCount(repo)).toBe(2);

    // Gone for good, and the operator says so.
    await rm(disk, { recursive: true, force: true });
    const renewed = await ws.stash(['backup', 'moved', '--init']);
    expect(renewed.io.text()).toContain('initialising the repository at');
    expect(renewed.code).toBe(0);
    expect(snapshotCount(repo)).toBe(1);
  });

  it('a bind mount gone (its empty mount point left): the backup fails and writes nothing into the mount point', async () => {
    const device = join(ws.root, 'device');
    const mountPoint = join(ws.root, 'mnt');
    await mkdir(device);
    await mkdir(mountPoint);
    const bind = spawnSync('mount', ['--bind', device, mountPoint]);
    if (bind.status !== 0) {
      // Without privileges to mount, the moved-folder case above stands for it.
      expect(bind.stderr.toString()).toMatch(/permission|only root|not permitted/i);
      return;
    }
    try {
      await specOn('bound', join(mountPoint, 'repo'));
      expect((await ws.stash(['backup', 'bound'])).code).toBe(0);
    } finally {
      expect(spawnSync('umount', [mountPoint]).status).toBe(0);
    }
    const gone = await ws.stash(['backup', 'bound']);
    expect(gone.code).toBe(1);
    expect(gone.io.text()).toContain('does not exist, but bound backed up to it 1 time');
    expect(await readdir(mountPoint)).toEqual([]);
    expect(snapshotCount(join(device, 'repo'))).toBe(1);
  });

  it('a new spec on a repository another spec has backed up to is not allowed to create it either', async () => {
    const repo = join(ws.root, 'shared-disk', 'repo');
    await specOn('first', repo);
    expect((await ws.stash(['backup', 'first'])).code).toBe(0);
    await rm(join(ws.root, 'shared-disk'), { recursive: true, force: true });
    await specOn('second', repo);
    const r = await ws.stash(['backup', 'second']);
    expect(r.code).toBe(1);
    expect(r.io.text()).toContain('does not exist, but first backed up to it 1 time');
  });
});

describe('a backup counts only with its snapshot in the repository', () => {
  let ws: Workspace;
  let restic: string;

  beforeAll(async () => {
    ws = await workspace('stash-confirm-');
    await writeFile(join(ws.data, 'file.txt'), 'data\n');
    // restic, except that right after a backup its snapshot is taken out of the repository, as a
    // repository damaged under the backup would lose it.
    restic = join(ws.root, 'restic-losing-snapshots');
    await writeFile(
      restic,
      ['#!/bin/sh', 'restic "$@"', 'code=$?', 'if [ "$1" = backup ] || [ "$3" = backup ]; then rm -f "$RESTIC_REPOSITORY"/snapshots/*; fi', 'exit $code', ''].join('\n'),
    );
    await chmod(restic, 0o755);
  });
  afterAll(() => ws.cleanup());

  it.each([
    ['without a retention policy (restic snapshots <id>)', undefined],
    ['with a retention policy (what forget lists)', { keepLast: 3, prune: true }],
  ])('%s: restic reports a snapshot the repository does not list, and the run fails', async (_, retention) => {
    const name = retention ? 'with-policy' : 'no-policy';
    const spec = localSpec(ws, name, retention ? { retention } : {});
    await ws.writeSpec(`${name}.yaml`, spec);
    await ws.writeSecret(`${name}-secret`, { RESTIC_PASSWORD: PASSWORD });
    const previous = process.env.STASH_RESTIC_BINARY;
    process.env.STASH_RESTIC_BINARY = restic;
    let r;
    try {
      r = await ws.stash(['backup', name]);
    } finally {
      if (previous === undefined) delete process.env.STASH_RESTIC_BINARY;
      else process.env.STASH_RESTIC_BINARY = previous;
    }
    expect(r.code).toBe(1);
    expect(r.io.text()).toMatch(new RegExp(`${name}: backup failed: /source/data: restic reported snapshot [0-9a-f]{8}, but the repository at \\S+ does not list it: run stash check ${name}`));
    const status = await new FolderStatusStore(ws.state).get(name);
    expect(status).toMatchObject({ backupCount: 0, lastOutcome: 'failed' });
    expect(status?.lastSuccessfulBackupTime).toBeUndefined();
  });
});
