/**
 * Restoring a spec's fileGroups from restic snapshots into a folder on this machine (or the
 * task's EFS volumes): restic restores each snapshot into a staging folder on the target's
 * file system, then the tree is moved into place.
 */
import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { ResticError, StashError } from '../core/errors';
import { resolvePath } from '../core/volumes';
import { outputTail, runRestic } from './restic';
import { openTarget, type RunContext, type Snapshot } from './run';

/** What a restore did for one fileGroup. */
export interface RestoredGroup {
  readonly path: string;
  readonly snapshot: string;
  /** Where the fileGroup's tree now is: `<target>/<fileGroup path>`. */
  readonly restoredTo: string;
}

/**
 * Restores the spec's fileGroups under `targetDir`, each at `<targetDir>/<fileGroup path>`
 * (so `/source/data/a.txt` lands at `<targetDir>/source/data/a.txt`, wherever the data was
 * read from on the machine that backed it up). `snapshot` is an id (restoring only the
 * fileGroup it belongs to) or `latest` (each fileGroup's newest snapshot).
 */
export async function restoreSpec(
  ctx: Omit<RunContext, 'run'> & { readonly targetDir: string; readonly snapshot?: string },
): Promise<RestoredGroup[]> {
  const name = ctx.spec.metadata.name;
  const target = await openTarget(ctx.spec, ctx.secret, ctx.mode);
  try {
    const r = await runRestic(target, ['snapshots', '--json', '--host', name], { binary: ctx.binary, signal: ctx.signal });
    if (r.exitCode !== 0) throw new ResticError(`restic snapshots failed for ${name}: ${outputTail(r)}`, r.exitCode, r.output);
    const snapshots = (r.json.find(Array.isArray) ?? []) as Snapshot[];
    const wanted = ctx.snapshot && ctx.snapshot !== 'latest' ? ctx.snapshot : undefined;
    const restored: RestoredGroup[] = [];
    for (const group of ctx.spec.spec.fileGroups) {
      const source = resolvePath(ctx.spec, group.path, ctx.mode);
      const mine = snapshots.filter((s) => s.paths.length === 1 && (s.paths[0] === source || s.paths[0] === group.path));
      const snap = wanted ? mine.find((s) => s.id.startsWith(wanted) || s.short_id === wanted) : mine.sort((a, b) => a.time.localeCompare(b.time)).at(-1);
      if (!snap) {
        if (wanted) continue;
        throw new StashError(`no snapshot of ${group.path} for ${name}`);
      }
      const root = posix.resolve(ctx.targetDir);
      const dest = posix.join(root, group.path);
      await mkdir(dest, { recursive: true });
      // Staged inside the destination, on its file system (an EFS mount, say), so that moving
      // the tree into place is a rename.
      const staging = await mkdtemp(posix.join(dest, '.stash-restore-'));
      try {
        const res = await runRestic(target, ['restore', snap.id, '--target', staging], { binary: ctx.binary, signal: ctx.signal });
        if (res.exitCode !== 0) throw new ResticError(`restic restore of ${snap.short_id} failed: ${outputTail(res)}`, res.exitCode, res.output);
        await moveInto(posix.join(staging, snap.paths[0]), dest);
        restored.push({ path: group.path, snapshot: snap.short_id, restoredTo: dest });
        ctx.log.info('fileGroup restored', { spec: name, fileGroup: group.path, snapshot: snap.short_id, restoredTo: dest });
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    }
    if (wanted && restored.length === 0) throw new StashError(`snapshot ${wanted} is not a snapshot of ${name}'s fileGroups`);
    return restored;
  } finally {
    await target.cleanup();
  }
}

/**
 * Moves a tree to `dest`, merging into folders that already exist there (their mode becomes
 * the restored one). Links are moved as links, never followed.
 */
async function moveInto(src: string, dest: string): Promise<void> {
  const existing = await lstat(dest).catch(() => undefined);
  if (!existing) {
    await mkdir(posix.dirname(dest), { recursive: true });
    await rename(src, dest);
    return;
  }
  const srcStat = await lstat(src);
  if (!existing.isDirectory() || !srcStat.isDirectory()) {
    await rm(dest, { recursive: true, force: true });
    await rename(src, dest);
    return;
  }
  for (const entry of await readdir(src)) await moveInto(posix.join(src, entry), posix.join(dest, entry));
  await chmod(dest, srcStat.mode & 0o7777);
}
