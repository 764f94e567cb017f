/**
 * A restore only adds: with the real restic and a local repository, `stash restore` into
 * targets that hold the user's files, folders and links where the snapshot has something else.
 *
 *   snapshot of /source/data:  conflict (file)  folder/inner.txt  plain.txt  big/ (48 MB, for the abort)
 *   target:                    TARGET/source/data/... as each case sets it up
 *
 * Nothing the restore was not told to replace is deleted, nothing is written outside the
 * target, and an interrupted restore leaves the target as it was.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../servers';
import { localSpec, tree, workspace, type Workspace } from './helpers';

const PASSWORD = 'restore-safety-password-5c1d';
const run = promisify(execFile);

/** Every path below `dir` whose name starts with `.stash-restore-` (staging folders). */
async function stagingFolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.filter((e) => e.split('/').some((part) => part.startsWith('.stash-restore-')));
}

describe('restore into a target that is not empty', () => {
  let ws: Workspace;
  let target: string;
  let outside: string;
  let dest: string;

  beforeAll(async () => {
    ws = await workspace('stash-restore-safety-');
    await writeFile(join(ws.data, 'conflict'), 'a file in the snapshot\n');
    await mkdir(join(ws.data, 'folder'));
    await writeFile(join(ws.data, 'folder/inner.txt'), 'inside a folder of the snapshot\n');
    await writeFile(join(ws.data, 'plain.txt'), 'plain\n');
    await ws.writeSpec('home.yaml', localSpec(ws, 'home'));
    await ws.writeSecret('home-secret', { RESTIC_PASSWORD: PASSWORD });
    expect((await ws.stash(['backup', 'home'])).code).toBe(0);
  });
  afterAll(() => ws.cleanup());

  beforeEach(async () => {
    target = join(ws.root, `target-${randomBytes(4).toString('hex')}`);
    dest = join(target, 'source/data');
    outside = join(ws.root, `outside-${randomBytes(4).toString('hex')}`);
    await mkdir(outside);
    await writeFile(join(outside, 'theirs.txt'), 'not part of the target\n');
  });

  const conflicts: [string, string, (dest: string, outside: string) => Promise<void>][] = [
    [
      'conflict',
      'a file would replace a folder',
      async (d) => {
        await mkdir(join(d, 'conflict'), { recursive: true });
        await writeFile(join(d, 'conflict/keep.txt'), "the user's file\n");
      },
    ],
    [
      'folder',
      'a folder would replace a file',
      async (d) => {
        await mkdir(d, { recursive: true });
        await writeFile(join(d, 'folder'), "the user's file named folder\n");
      },
    ],
    [
      'plain.txt',
      'a file would replace a symbolic link',
      async (d, out) => {
        await mkdir(d, { recursive: true });
        await symlink(join(out, 'theirs.txt'), join(d, 'plain.txt'));
      },
    ],
  ];

  it.each(conflicts)('stops at %s (%s), names it and changes nothing', async (entry, what, setUp) => {
    await setUp(dest, outside);
    await writeFile(join(dest, 'mine.txt'), 'mine\n');
    const before = await tree(target);
    const beforeOutside = await tree(outside);

    const r = await ws.stash(['restore', 'home', '--target', target]);

    expect(await tree(target)).toEqual(before);
    expect(await tree(outside)).toEqual(beforeOutside);
    // The destination holds the user's files: refused, with what would change (the conflict by name).
    expect(r.io.err).toHaveLength(1);
    const lines = r.io.err[0].split('\n');
    expect(lines[0]).toBe(`restore of home refused: ${dest} is not empty. Restoring would change:`);
    expect(lines).toContain(`  ${join(dest, entry)}: ${what}`);
    expect(lines.at(-1)).toBe('Nothing was changed. Restore into an empty folder, see every change with --dry-run, or make them with --overwrite.');
    expect(r.code).toBe(1);
  });

  it.each(conflicts)('with --overwrite replaces %s (%s) and keeps the rest', async (_entry, _what, setUp) => {
    await setUp(dest, outside);
    await writeFile(join(dest, 'mine.txt'), 'mine\n');
    const { 'mine.txt': mine } = await tree(dest);
    const beforeOutside = await tree(outside);

    const r = await ws.stash(['restore', 'home', '--target', target, '--overwrite']);

    expect(r.io.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(await tree(dest)).toEqual({ ...(await tree(ws.data)), 'mine.txt': mine });
    expect(await tree(outside)).toEqual(beforeOutside);
  });

  it.each([
    ['TARGET/source', 'source'],
    ['TARGET/source/data', 'source/data'],
  ])('refuses a symbolic link at %s that leaves the target, keeps it and writes nothing outside', async (_name, at) => {
    const link = join(target, at);
    await mkdir(join(link, '..'), { recursive: true });
    await symlink(outside, link);
    const before = await tree(target);
    const beforeOutside = await tree(outside);

    const r = await ws.stash(['restore', 'home', '--target', target]);

    expect(await tree(outside)).toEqual(beforeOutside);
    expect(await readlink(link)).toBe(outside);
    expect(await tree(target)).toEqual(before);
    expect(r.io.err).toEqual([
      `${link} is a symbolic link (to ${outside}): a restore never writes through a link, it could leave the target. Restore into the folder it points to, or remove the link.`,
    ]);
    expect(r.code).toBe(1);
  });

  it('refuses a symbolic link at TARGET/source even with --overwrite', async () => {
    await mkdir(target);
    await symlink(outside, join(target, 'source'));
    const beforeOutside = await tree(outside);

    const r = await ws.stash(['restore', 'home', '--target', target, '--overwrite']);

    expect(await tree(outside)).toEqual(beforeOutside);
    expect(await readlink(join(target, 'source'))).toBe(outside);
    expect(r.io.err[0]).toMatch(new RegExp(`^${join(target, 'source')} is a symbolic link`));
    expect(r.code).toBe(1);
  });

  it('stops at a file where the path needs a folder (TARGET/source a file) and keeps it', async () => {
    await mkdir(target);
    await writeFile(join(target, 'source'), "the user's file named source\n");
    const before = await tree(target);

    const r = await ws.stash(['restore', 'home', '--target', target]);

    expect(await tree(target)).toEqual(before);
    expect(r.io.err[0]).toContain(`  ${join(target, 'source')}: a folder would replace a file\n`);
    expect(r.code).toBe(1);
  });

  it('with --overwrite replaces a file at TARGET/source by the folders the restore needs', async () => {
    await mkdir(target);
    await writeFile(join(target, 'source'), "the user's file named source\n");

    const r = await ws.stash(['restore', 'home', '--target', target, '--overwrite']);

    expect(r.io.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(await tree(dest)).toEqual(await tree(ws.data));
  });
});

describe('restore interrupted while restic writes', () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace('stash-restore-abort-');
    await mkdir(join(ws.data, 'big'));
    for (let i = 0; i < 12; i++) await writeFile(join(ws.data, `big/${i}.bin`), randomBytes(4 * 1024 * 1024));
    await ws.writeSpec('home.yaml', localSpec(ws, 'home'));
    await ws.writeSecret('home-secret', { RESTIC_PASSWORD: PASSWORD });
    expect((await ws.stash(['backup', 'home'])).code).toBe(0);
  });
  afterAll(() => ws.cleanup());

  it.each([
    [
      'holds the user\'s files in the destination',
      async (target: string) => {
        await mkdir(join(target, 'source/data'), { recursive: true });
        await writeFile(join(target, 'source/data/mine.txt'), 'mine\n');
        return tree(target);
      },
    ],
    ['did not exist', async () => undefined],
  ])('leaves a target that %s as it was, with no staging folder behind', async (_case, setUp) => {
    const target = join(ws.root, `target-${randomBytes(4).toString('hex')}`);
    const before = await setUp(target);
    const controller = new AbortController();

    const restore = ws.stash(['restore', 'home', '--target', target], { signal: controller.signal });
    // restic has started writing into the staging folder (inside the target): stop it.
    await waitFor('restic writing into the staging folder', async () => ((await stagingFolders(target)).some((p) => p.endsWith('.bin')) ? true : undefined), {
      intervalMs: 5,
    });
    controller.abort();
    const r = await restore;

    if (before) {
      const after = await tree(target);
      expect(Object.keys(after)).toEqual(Object.keys(before));
      expect(after).toEqual(before);
      expect(await stagingFolders(target)).toEqual([]);
    } else await expect(lstat(target)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(r.io.err).toEqual([`restore of home was interrupted: nothing in ${target} was changed`]);
    expect(r.code).toBe(1);
  });
});

describe('restore latest', () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace('stash-restore-latest-');
    await ws.writeSpec('home.yaml', localSpec(ws, 'home'));
    await ws.writeSecret('home-secret', { RESTIC_PASSWORD: PASSWORD });
  });
  afterAll(() => ws.cleanup());

  it('restores the newest snapshot by time, not by its time string', async () => {
    const restic = (args: string[], tz: string) =>
      run('restic', ['-r', join(ws.repo, 'home'), ...args], { env: { PATH: process.env.PATH, RESTIC_PASSWORD: PASSWORD, TZ: tz } });
    await restic(['init'], 'UTC');
    // 10:00 UTC, then 12:00 in Tokyo (03:00 UTC): the older one's time string sorts last.
    await writeFile(join(ws.data, 'which.txt'), 'newest\n');
    await restic(['backup', '--host', 'home', '--time', '2026-01-01 10:00:00', ws.data], 'UTC');
    await writeFile(join(ws.data, 'which.txt'), 'older\n');
    await restic(['backup', '--host', 'home', '--time', '2026-01-01 12:00:00', ws.data], 'Asia/Tokyo');
    const listed = JSON.parse((await ws.stash(['snapshots', 'home', '--json'])).io.out.join('')) as { time: string }[];
    expect(listed.map((s) => s.time).sort()).toEqual(['2026-01-01T10:00:00Z', '2026-01-01T12:00:00+09:00']);

    const target = join(ws.root, 'restored');
    const r = await ws.stash(['restore', 'home', '--target', target]);

    expect(r.code).toBe(0);
    expect(await readFile(join(target, 'source/data/which.txt'), 'utf8')).toBe('newest\n');
  });
});

describe('what restic runs for a restore', () => {
  let ws: Workspace;

  beforeAll(async () => {
    ws = await workspace('stash-restore-commands-');
    await writeFile(join(ws.data, 'file.txt'), 'data\n');
    await ws.writeSpec('home.yaml', localSpec(ws, 'home'));
    await ws.writeSecret('home-secret', { RESTIC_PASSWORD: PASSWORD });
    expect((await ws.stash(['backup', 'home'])).code).toBe(0);
  });
  afterAll(() => ws.cleanup());

  it('lists the snapshots without a lock, then restores the one it picked (restic restore locks the repository itself)', async () => {
    const log = join(ws.root, 'restic-calls.log');
    const recording = join(ws.root, 'restic-recording');
    await writeFile(recording, `#!/bin/sh\necho "$@" >> '${log}'\nexec restic "$@"\n`);
    await chmod(recording, 0o755);
    const [snapshot] = JSON.parse((await ws.stash(['snapshots', 'home', '--json'])).io.out.join('')) as { id: string }[];
    const target = join(ws.root, 'restored');

    process.env.STASH_RESTIC_BINARY = recording;
    const r = await ws.stash(['restore', 'home', '--target', target]).finally(() => delete process.env.STASH_RESTIC_BINARY);

    expect(r.code).toBe(0);
    const calls = (await readFile(log, 'utf8')).trim().split('\n');
    expect(calls.map((c) => c.replace(/--target \S+$/, '--target STAGING'))).toEqual([
      'version',
      'snapshots --json --no-lock --host home',
      `restore --json ${snapshot.id} --target STAGING`,
    ]);
    expect(calls[2]).toMatch(new RegExp(`--target ${target}/\\.stash-restore-\\w+$`));
  });
});
