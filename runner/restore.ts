/**
 * Restoring a spec's fileGroups from restic snapshots into a folder on this machine (or the
 * task's EFS volumes). A restore only adds: it never deletes what it was not told to replace
 * and never writes outside the target.
 *
 *   snapshots  restic snapshots --no-lock --host <spec>; one snapshot per fileGroup (pickSnapshots)
 *   stage      per fileGroup: restic restore <id> --target <staging>, the staging folder made
 *              in the deepest folder of <target>/<fileGroup path> that exists, so it is on the
 *              destination's file system (an EFS mount) and every move is a rename
 *   plan       every change, found with lstat only (links are never followed): a symbolic link
 *              on the way to a destination is refused; a file where a folder is, a folder
 *              where a file is, or a link where either would go is a conflict
 *   apply      only when every fileGroup is staged, the plan has no conflict (or overwrite was
 *              asked for) and the restore was not interrupted
 *   cleanup    the staging folders, on every way out; a target folder the restore created is
 *              removed again when nothing was applied
 */
import type { Stats } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, readlink, realpath, rename, rm, rmdir, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { StashError } from '../core/errors';
import { resticHost } from '../core/host';
import { isUnder } from '../core/spec';
import { resolvePath } from '../core/volumes';
import { runRestic } from './restic';
import { openTarget, resticFailure, type RunContext, type Snapshot } from './run';

/** What a restore did (or, as a dry run, would do) for one fileGroup. */
export interface RestoredGroup {
  readonly path: string;
  readonly snapshot: string;
  /** Where the fileGroup's tree now is: `<target>/<fileGroup path>`. */
  readonly restoredTo: string;
  /** How many entries were added, replaced (and of those, unchanged) and how many conflicts were replaced. */
  readonly counts: ChangeCounts;
  /** A dry run's changes, every one; absent after a real restore. */
  readonly changes?: readonly RestoreChange[];
}

/** A restore's changes, counted. */
export interface ChangeCounts {
  /** Entries (files, links, whole folders) added where nothing was, and folders created on the way. */
  readonly added: number;
  /** Files and links replaced by different ones. */
  readonly replaced: number;
  /** Files replaced by the same file (size, modification time and mode). */
  readonly unchanged: number;
  /** What was (or would be) removed to make room: a folder where a file goes, ... */
  readonly conflicts: number;
}

/** What to restore, and where. */
export interface RestoreRequest {
  /** The folder the fileGroups are restored under (created when missing). */
  readonly targetDir: string;
  /** A snapshot id (or its prefix), or `latest`. @default latest */
  readonly snapshot?: string;
  /**
   * Replace what conflicts with the snapshot (a folder where it has a file, a file or link
   * where it has a folder, a link where it has a file) instead of stopping.
   * @default false
   */
  readonly overwrite?: boolean;
  /**
   * Refuse (unless `overwrite`) to restore into a fileGroup destination that is not empty,
   * listing what would change. Without it a restore merges into what is there.
   * @default false
   */
  readonly refuseNonEmpty?: boolean;
  /**
   * restic's `--include` / `--exclude` patterns: only part of the snapshot. A pattern that
   * starts with a fileGroup path (`/source/data/notes.txt`) names the snapshot's path of it,
   * wherever the data was read from on the machine that backed it up.
   */
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  /** Stage and plan, list every change, change nothing. */
  readonly dryRun?: boolean;
}

/** A restore that would delete, or write outside its target: nothing was changed. */
export class RestoreRefusedError extends StashError {
  constructor(
    message: string,
    /** The paths in the way. */
    readonly paths: readonly string[],
  ) {
    super(message);
  }
}

/** One change a restore makes to the target. */
export interface RestoreChange {
  /**
   * - `folder`: a missing folder on the way to a fileGroup's destination is created, empty;
   * - `add`: nothing is at `path`; `from` (a staged file, link or whole tree) is moved there;
   * - `replace`: `from` replaces the file or link at `path`;
   * - `merge`: the folder at `path` gets `from`'s entries (the changes that follow) and its mode.
   */
  readonly action: 'folder' | 'add' | 'replace' | 'merge';
  /** The destination, under the target. */
  readonly path: string;
  /** The staged entry moved to `path`; absent for `folder`. */
  readonly from?: string;
  /** The mode a merged folder gets. */
  readonly mode?: number;
  /** Set when what is at `path` would be removed, e.g. `a file would replace a folder`. */
  readonly conflict?: string;
  /** A `replace` of a file by the same file: size, modification time and mode are equal. */
  readonly unchanged?: boolean;
}

/** A fileGroup and the snapshot it is restored from. */
export interface SnapshotPick {
  /** The fileGroup path, as written in the spec. */
  readonly path: string;
  readonly snapshot: Snapshot;
}

/**
 * Which snapshot restores which fileGroup. A fileGroup's snapshots are those of its one path,
 * as backed up (`source`, where the path was read on that machine) or as written. `wanted`
 * (an id, a prefix of one, or a short id) restores only the fileGroup it belongs to; without
 * it every fileGroup gets its newest snapshot by parsed time: restic writes a snapshot's time
 * with the UTC offset of the machine that took it, so the strings do not sort by time.
 *
 * @example pickSnapshots('db', [{ path: '/data', source: '/data' }], snapshots) // [{ path: '/data', snapshot: <newest of /data> }]
 */
export function pickSnapshots(
  spec: string,
  groups: readonly { readonly path: string; readonly source: string }[],
  snapshots: readonly Snapshot[],
  wanted?: string,
): SnapshotPick[] {
  const picks: SnapshotPick[] = [];
  for (const group of groups) {
    const mine = snapshots.filter((s) => s.paths.length === 1 && (s.paths[0] === group.source || s.paths[0] === group.path));
    const snapshot = wanted
      ? mine.find((s) => s.id.startsWith(wanted) || s.short_id === wanted)
      : mine.reduce<Snapshot | undefined>((newest, s) => (!newest || Date.parse(s.time) >= Date.parse(newest.time) ? s : newest), undefined);
    if (snapshot) picks.push({ path: group.path, snapshot });
    else if (!wanted) throw new StashError(`no snapshot of ${group.path} for ${spec}`);
  }
  if (wanted && !picks.length) throw new StashError(`snapshot ${wanted} is not a snapshot of ${spec}'s fileGroups`);
  return picks;
}

/**
 * Restores the spec's fileGroups under `targetDir`, each at `<targetDir>/<fileGroup path>`
 * (so `/source/data/a.txt` lands at `<targetDir>/source/data/a.txt`, wherever the data was
 * read from on the machine that backed it up), merging into folders that are there. Files
 * keep their modes; links are restored as links.
 *
 * Nothing in the target changes until every fileGroup is staged and the plan
 * ({@link planRestore}) has no conflict: a conflict throws {@link RestoreRefusedError}
 * listing the paths (unless `overwrite`), as does a symbolic link on the way to a
 * destination (always: the restore would write through it). An interrupted restore
 * (`signal`) leaves the target as it was.
 */
export async function restoreSpec(ctx: Omit<RunContext, 'run'> & RestoreRequest): Promise<RestoredGroup[]> {
  const name = ctx.spec.metadata.name;
  const interrupted = () => new StashError(`restore of ${name} was interrupted: nothing in ${ctx.targetDir} was changed`);
  const target = await openTarget(ctx.spec, ctx.secret, ctx.mode);
  const root = posix.resolve(ctx.targetDir);
  const stagings: string[] = [];
  let createdRoot: string | undefined;
  let applying = false;
  // A dry run lists conflicts instead of stopping at them.
  const stopAtConflicts = !ctx.overwrite && !ctx.dryRun;
  try {
    // Read without a lock: restic's lock costs a write and a 200 ms wait for rival locks, and
    // guards nothing here, since `restic restore` takes its own (a snapshot forgotten between
    // the two fails the restore before anything in the target changes).
    const r = await runRestic(target, ['snapshots', '--json', '--no-lock', '--host', resticHost(ctx.spec)], { binary: ctx.binary, signal: ctx.signal });
    if (r.aborted) throw interrupted();
    if (r.ending !== 'succeeded') throw resticFailure(ctx.spec, target, `restic snapshots failed for ${name}`, r);
    const groups = ctx.spec.spec.fileGroups.map((g) => ({ path: g.path, source: resolvePath(ctx.spec, g.path, ctx.mode) }));
    const wanted = ctx.snapshot && ctx.snapshot !== 'latest' ? ctx.snapshot : undefined;
    const picks = pickSnapshots(name, groups, (r.json.find(Array.isArray) ?? []) as Snapshot[], wanted);

    if ((await stat(root).catch(() => undefined))?.isDirectory() === false) throw new StashError(`the restore target ${ctx.targetDir} is not a folder`);
    createdRoot = await mkdir(root, { recursive: true });
    const staged: { pick: SnapshotPick; dest: string; from: string }[] = [];
    for (const pick of picks) {
      const dest = posix.join(root, pick.path);
      const { changes, deepest } = await planParents(root, dest);
      const inTheWay = changes.filter((c) => c.conflict);
      if (inTheWay.length && stopAtConflicts) throw conflictError(name, ctx.targetDir, inTheWay);
      const staging = await mkdtemp(posix.join(deepest, '.stash-restore-'));
      stagings.push(staging);
      const filters = [
        ...(ctx.include ?? []).flatMap((p) => ['--include', snapshotPattern(p, pick)]),
        ...(ctx.exclude ?? []).flatMap((p) => ['--exclude', snapshotPattern(p, pick)]),
      ];
      const res = await runRestic(target, ['restore', '--json', pick.snapshot.id, '--target', staging, ...filters], {
        binary: ctx.binary,
        signal: ctx.signal,
        onJson: (m) => {
          if (m.message_type === 'status') ctx.onProgress?.({ action: 'restore', fileGroup: pick.path, status: m });
        },
      });
      if (res.aborted) throw interrupted();
      if (res.ending !== 'succeeded') throw resticFailure(ctx.spec, target, `restic restore of ${pick.snapshot.short_id} failed`, res);
      const from = posix.join(staging, pick.snapshot.paths[0]);
      // --include may match nothing of this fileGroup: restic then restores nothing at all.
      if (await lstatOrUndefined(from)) staged.push({ pick, dest, from });
    }
    if (!staged.length) throw new StashError(`nothing in ${picks.map((p) => p.snapshot.short_id).join(', ')} matches ${[...(ctx.include ?? []).map((p) => `--include ${p}`), ...(ctx.exclude ?? []).map((p) => `--exclude ${p}`)].join(' ')}: nothing to restore`);

    const plans = await Promise.all(staged.map((s) => planRestore(root, s.dest, s.from)));
    const changes = plans.flat();
    if (ctx.dryRun) {
      return staged.map((s, i) => ({ path: s.pick.path, snapshot: s.pick.snapshot.short_id, restoredTo: s.dest, counts: countChanges(plans[i]), changes: plans[i] }));
    }
    const conflicts = changes.filter((c) => c.conflict);
    if (ctx.refuseNonEmpty && !ctx.overwrite) {
      const full = (await Promise.all(staged.map((s) => notEmpty(s.dest)))).flatMap((f, i) => (f ? [staged[i].dest] : []));
      if (full.length) throw nonEmptyError(name, full, changes);
    }
    if (conflicts.length && stopAtConflicts) throw conflictError(name, ctx.targetDir, conflicts);
    if (ctx.signal?.aborted) throw interrupted();

    applying = true;
    const restored: RestoredGroup[] = [];
    for (const [i, s] of staged.entries()) {
      // Planned again: an earlier fileGroup may have filled in a folder this one restores into.
      const plan = staged.length > 1 ? await planRestore(root, s.dest, s.from) : plans[i];
      const late = plan.filter((c) => c.conflict);
      if (late.length && stopAtConflicts) throw conflictError(name, ctx.targetDir, late, restored);
      await applyChanges(plan);
      const counts = countChanges(plan);
      restored.push({ path: s.pick.path, snapshot: s.pick.snapshot.short_id, restoredTo: s.dest, counts });
      ctx.log.info('fileGroup restored', { spec: name, fileGroup: s.pick.path, snapshot: s.pick.snapshot.short_id, restoredTo: s.dest, ...counts });
    }
    return restored;
  } finally {
    for (const staging of stagings) await rm(staging, { recursive: true, force: true });
    if (createdRoot && !applying) await removeEmptyFolders(root, createdRoot);
    await target.cleanup();
  }
}

/**
 * A `--include`/`--exclude` pattern in the snapshot's terms: a fileGroup path at its start
 * becomes the path the snapshot holds (where the data was read from); any other pattern
 * (`*.txt`, `notes.txt`) is restic's as it is.
 *
 * @example snapshotPattern('/source/data/notes.txt', { path: '/source/data', snapshot: { paths: ['/home/me/docs'], ... } }) // '/home/me/docs/notes.txt'
 */
export function snapshotPattern(pattern: string, pick: SnapshotPick): string {
  const group = pick.path.replace(/\/+$/, '');
  const source = pick.snapshot.paths[0];
  if (pattern === group) return source;
  return pattern.startsWith(`${group}/`) ? `${source}${pattern.slice(group.length)}` : pattern;
}

/** Counts a plan's changes (a merged folder is no change of its own). */
export function countChanges(changes: readonly RestoreChange[]): ChangeCounts {
  let added = 0;
  let replaced = 0;
  let unchanged = 0;
  let conflicts = 0;
  for (const c of changes) {
    if (c.conflict) conflicts++;
    else if (c.action === 'add' || c.action === 'folder') added++;
    else if (c.action === 'replace') {
      if (c.unchanged) unchanged++;
      else replaced++;
    }
  }
  return { added, replaced, unchanged, conflicts };
}

/** Whether there is anything at `path` but an empty folder (never following a link). */
async function notEmpty(path: string): Promise<boolean> {
  const there = await lstatOrUndefined(path);
  if (!there) return false;
  if (!there.isDirectory()) return true;
  return (await readdir(path)).length > 0;
}

/**
 * The error for a restore into destinations that hold something: what would change there
 * (replaced files and conflicts by path, the first 20; additions and unchanged files counted).
 */
function nonEmptyError(spec: string, destinations: readonly string[], changes: readonly RestoreChange[]): RestoreRefusedError {
  const listed = changes.filter((c) => c.conflict || (c.action === 'replace' && !c.unchanged));
  const shown = listed.slice(0, 20).map((c) => `  ${c.path}: ${c.conflict ?? 'would be replaced'}`);
  if (listed.length > shown.length) shown.push(`  and ${listed.length - shown.length} more`);
  const counts = countChanges(changes);
  const rest = [counts.added ? `add ${counts.added} entr${counts.added === 1 ? 'y' : 'ies'}` : '', counts.unchanged ? `leave ${counts.unchanged} unchanged` : ''].filter(Boolean);
  if (rest.length) shown.push(`  ${listed.length ? 'and ' : ''}${rest.join(', ')}`);
  return new RestoreRefusedError(
    [
      `restore of ${spec} refused: ${destinations.join(', ')} ${destinations.length > 1 ? 'are' : 'is'} not empty. Restoring would change:`,
      ...shown,
      'Nothing was changed. Restore into an empty folder, see every change with --dry-run, or make them with --overwrite.',
    ].join('\n'),
    listed.map((c) => c.path),
  );
}

/**
 * The error for conflicts: every path (the first 20), what is in the way, and how to proceed.
 * `restored`: the fileGroups already restored when a later one met a conflict (only fileGroups
 * nested in each other can do that).
 */
function conflictError(spec: string, targetDir: string, conflicts: readonly RestoreChange[], restored: readonly RestoredGroup[] = []): RestoreRefusedError {
  const shown = conflicts.slice(0, 20).map((c) => `  ${c.path}: ${c.conflict}`);
  if (conflicts.length > shown.length) shown.push(`  and ${conflicts.length - shown.length} more`);
  const stopped = restored.length ? `after restoring ${restored.map((r) => r.path).join(', ')}` : 'before changing anything';
  return new RestoreRefusedError(
    [
      `restore of ${spec} stopped ${stopped} in ${targetDir}: ${conflicts.length} path(s) conflict with the snapshot:`,
      ...shown,
      'Restore into another folder, or overwrite (stash restore --overwrite) to replace them.',
    ].join('\n'),
    conflicts.map((c) => c.path),
  );
}

/**
 * Every change that restoring the staged tree `from` to `dest` (under `root`) makes, in the
 * order they are applied: the folders to create on the way, then the tree, entry by entry
 * where folders merge. Reads only; never follows a link.
 */
export async function planRestore(root: string, dest: string, from: string): Promise<RestoreChange[]> {
  const { changes } = await planParents(root, dest);
  await planTree(from, dest, changes);
  return changes;
}

/**
 * The folders from `root` down to `dest`, each lstat'ed: a missing one is a `folder` change, a
 * file in the way a conflicting one. A symbolic link there (including at `dest`), or a folder
 * whose real path is outside the root's, is refused. `deepest` is the deepest folder that is
 * there: where a fileGroup is staged.
 */
async function planParents(root: string, dest: string): Promise<{ changes: RestoreChange[]; deepest: string }> {
  const changes: RestoreChange[] = [];
  let deepest = root;
  let missing = false;
  const parts = posix.relative(root, dest).split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const path = posix.join(root, ...parts.slice(0, i + 1));
    const isDest = i === parts.length - 1;
    const there = missing ? undefined : await lstatOrUndefined(path);
    if (there?.isSymbolicLink()) {
      throw new RestoreRefusedError(
        `${path} is a symbolic link (to ${await readlink(path)}): a restore never writes through a link, it could leave the target. Restore into the folder it points to, or remove the link.`,
        [path],
      );
    }
    if (isDest) break;
    if (!there) {
      missing = true;
      changes.push({ action: 'folder', path });
    } else if (!there.isDirectory()) {
      missing = true;
      changes.push({ action: 'folder', path, conflict: `a folder would replace ${kindOf(there)}` });
    } else deepest = path;
  }
  const [realRoot, realDeepest] = await Promise.all([realpath(root), realpath(deepest)]);
  if (!isUnder(realDeepest, realRoot)) {
    throw new RestoreRefusedError(`${deepest} is ${realDeepest}, outside the target ${realRoot}: a restore never writes outside its target`, [deepest]);
  }
  return { changes, deepest: !missing && (await lstatOrUndefined(dest))?.isDirectory() ? dest : deepest };
}

/** What the plan needs to know of an entry: a `Stats` from lstat, or a `Dirent` from its folder's listing (neither follows a link). */
type Entry = Pick<Stats, 'isDirectory' | 'isSymbolicLink' | 'isFile'>;

/** Whether two files look alike as restic would judge them: size, modification time and mode. */
async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([lstat(a), lstat(b)]);
  return x.size === y.size && Math.abs(x.mtimeMs - y.mtimeMs) < 1 && x.mode === y.mode;
}

/** Adds the changes that move the staged entry `from` to `path`, merging into folders. */
async function planTree(from: string, path: string, changes: RestoreChange[]): Promise<void> {
  const [source, there] = await Promise.all([lstat(from), lstatOrUndefined(path)]);
  await planEntry(from, source, path, there, changes);
}

/**
 * {@link planTree} for an entry whose kind (and what is at `path`) is already known. A merged
 * folder's entries and the destination folder's are each read with one listing, not one lstat
 * per entry; only a file restored over a file is looked at (both lstat'ed) to tell whether it
 * is unchanged.
 */
async function planEntry(from: string, source: Entry, path: string, there: Entry | undefined, changes: RestoreChange[]): Promise<void> {
  if (!there) {
    changes.push({ action: 'add', path, from });
    return;
  }
  if (source.isDirectory() && there.isDirectory()) {
    const [{ mode }, staged, present] = await Promise.all([lstat(from), readdir(from, { withFileTypes: true }), readdir(path, { withFileTypes: true })]);
    changes.push({ action: 'merge', path, from, mode: mode & 0o7777 });
    const existing = new Map(present.map((e) => [e.name, e]));
    for (const entry of staged.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      await planEntry(posix.join(from, entry.name), entry, posix.join(path, entry.name), existing.get(entry.name), changes);
    }
    return;
  }
  const conflict = source.isDirectory() || there.isDirectory() || (there.isSymbolicLink() && !source.isSymbolicLink());
  const same = source.isFile() && there.isFile() && (await sameFile(from, path));
  changes.push({ action: 'replace', path, from, ...(conflict ? { conflict: `${kindOf(source)} would replace ${kindOf(there)}` } : {}), ...(same ? { unchanged: true } : {}) });
}

/**
 * How many entries are moved into place at once. A rename over a file frees the old file's
 * blocks, and the call waits on the disk for that rather than using the CPU: moved one at a
 * time, 20,000 replaced files took 7-16 s of waiting on the benchmark machine, eight at a time 4-9 s.
 */
const MOVES_AT_ONCE = 8;

/**
 * Applies planned changes: folders made, entries renamed into place (a conflicting entry is
 * removed first), then merged folders given their restored modes, deepest first. The
 * entries of a plan are independent of each other (an added folder moves as one, its
 * contents are not listed), so they are moved {@link MOVES_AT_ONCE} at a time; after a
 * failure no new move starts, and the ones under way finish before it is thrown.
 */
async function applyChanges(changes: readonly RestoreChange[]): Promise<void> {
  const moves: RestoreChange[] = [];
  for (const c of changes) {
    if (c.action === 'folder') {
      if (c.conflict) await rm(c.path, { recursive: true, force: true });
      await mkdirHere(c.path);
    } else if (c.action !== 'merge') moves.push(c);
  }
  let next = 0;
  let failed = false;
  const mover = async () => {
    while (!failed && next < moves.length) {
      const c = moves[next++];
      try {
        if (c.conflict) await rm(c.path, { recursive: true, force: true });
        if (c.action === 'add' && (await lstatOrUndefined(c.path))) throw new StashError(`${c.path} appeared while the restore ran: not replaced`);
        await rename(c.from!, c.path);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const moved = await Promise.allSettled(Array.from({ length: Math.min(MOVES_AT_ONCE, moves.length) }, mover));
  const failure = moved.find((m) => m.status === 'rejected');
  if (failure) throw failure.reason;
  for (const c of [...changes].reverse()) if (c.action === 'merge') await chmod(c.path, c.mode!);
}

/** Creates one folder; one that is there must be a real folder, not a link to one. */
async function mkdirHere(path: string): Promise<void> {
  try {
    await mkdir(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await lstat(path)).isDirectory()) throw err;
  }
}

/** Removes `dir` and its parents up to `top` while they are empty (folders this restore created). */
async function removeEmptyFolders(dir: string, top: string): Promise<void> {
  for (let d = dir; isUnder(d, top); d = posix.dirname(d)) {
    const removed = await rmdir(d).then(
      () => true,
      () => false,
    );
    if (!removed || d === top) return;
  }
}

function kindOf(s: Entry): string {
  if (s.isDirectory()) return 'a folder';
  if (s.isSymbolicLink()) return 'a symbolic link';
  return 'a file';
}

/** What is at `path`, not following a link; undefined when nothing is (or a parent is a file). */
async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
