/**
 * `stash restore NAME`: restores the spec's fileGroups on this machine under `--target DIR`
 * (from local or the stack's stores), or with `--remote` on AWS into EFS volumes, as a
 * Recovery the stack runs.
 */
import type { Command } from 'commander';
import type { RestoredGroup, RestoreChange } from '../../runner/restore';
import { examples, usageError, type CommandContext } from '../command';
import { openStash, withStores, type StoreOptions } from '../mode';

/** `restore`'s options as commander gives them. */
export interface RestoreOptions extends StoreOptions {
  readonly target?: string;
  /** A snapshot id, or `latest`. */
  readonly snapshot: string;
  /** Replace what conflicts with the snapshot (a folder where it has a file, ...) instead of stopping. */
  readonly overwrite?: boolean;
  readonly remote?: boolean;
  /** With `--remote`: `MOUNTPATH=efs:fs-...[:/dir][@fsap-...]` or `MOUNTPATH=emptyDir`, one a flag. */
  readonly volume?: string[];
  /** With `--remote`: the Recovery's name. */
  readonly name?: string;
  /** restic patterns: restore only what they match (`--include`), or all but that (`--exclude`). */
  readonly include?: string[];
  readonly exclude?: string[];
  /** List every change, change nothing. */
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

const repeatable = (v: string, all: string[] = []) => [...all, v];

/** Adds `restore` to the program. */
export function registerRestore(program: Command, ctx: CommandContext): void {
  withStores(program.command('restore'))
    .description("restore the spec's fileGroups under DIR: fileGroup /data lands in DIR/data")
    .argument('<name>', 'the spec (metadata.name)')
    .option('--target <dir>', 'folder to restore into (on this machine)')
    .option('--snapshot <id>', 'a snapshot id, or latest', 'latest')
    .option('--overwrite', 'restore into folders that are not empty, replacing their files and what is in the way (a folder where the snapshot has a file, ...)')
    .option('--include <pattern>', 'restore only what matches (restic pattern; /fileGroup/path/... or *.txt), repeatable', repeatable)
    .option('--exclude <pattern>', 'restore all but what matches, repeatable', repeatable)
    .option('--dry-run', 'list what the restore would add and replace, and change nothing')
    .option('--json', 'print what was restored (with --dry-run: every change) as JSON')
    .option('--remote', 'restore on AWS into EFS volumes (needs --specs s3://... and --volume)')
    .option('--volume <mount=source>', 'with --remote: MOUNTPATH=efs:fs-...[:/dir][@fsap-...], repeatable', repeatable)
    .option('--name <name>', 'with --remote: the Recovery name (default <spec>-<time>)')
    .addHelpText(
      'after',
      examples(
        ["home's latest snapshot into an empty folder", 'stash restore home --target ./restored'],
        ['see what restoring over the original would change', 'stash restore home --target / --dry-run'],
        ['one file back where it was, replacing what is there', 'stash restore home --target / --include /source/data/notes.txt --overwrite'],
        ['on AWS, into an EFS folder', 'stash restore home --remote --volume /source/data=efs:fs-0123abcd:/restored --specs s3://my-stash-config/specs'],
      ),
    )
    .action((name: string, o: RestoreOptions) => runRestore(ctx, name, o));
}

/** Where to restore: `--target DIR` here, or `--remote` into the `--volume`s; a usage error when the options name neither. */
export function verifyRestoreOptions(o: RestoreOptions): { readonly target: string } | { readonly volumes: readonly string[] } {
  if (o.remote) {
    if (o.overwrite) throw usageError('--overwrite is for a restore on this machine (--target DIR); a remote restore stops at a conflict');
    if (o.include?.length || o.exclude?.length || o.dryRun) throw usageError('--include, --exclude and --dry-run are for a restore on this machine (--target DIR); a remote restore restores whole fileGroups');
    if (!o.volume?.length) throw usageError('restore --remote needs at least one --volume MOUNTPATH=efs:fs-...');
    return { volumes: o.volume };
  }
  if (!o.target) throw usageError('restore needs --target DIR (or --remote with --volume)');
  return { target: o.target };
}

/** Restores here and prints each fileGroup restored, or starts the Recovery on AWS and prints its phase (exit 1 when it failed). */
export async function runRestore({ io, setExit, signal }: CommandContext, name: string, o: RestoreOptions): Promise<void> {
  const where = verifyRestoreOptions(o);
  if ('volumes' in where) {
    const remote = await openStash(o, io, 'remote');
    const { parseVolumeFlag } = await import('../remote');
    const started = await remote.restoreNow(name, { volumes: where.volumes.map(parseVolumeFlag), snapshot: o.snapshot === 'latest' ? undefined : o.snapshot, name: o.name });
    io.line(`${name}: Recovery ${started.recovery} ${started.phase}${started.taskArn ? `: task ${started.taskArn}` : ''}${started.reason ? `: ${started.reason}` : ''}`);
    setExit(started.phase === 'Failed' ? 1 : 0);
    return;
  }
  // Interrupted, the restore says so itself, and that nothing in the target was changed.
  const restored = await (await openStash(o, io)).restore(
    name,
    { targetDir: where.target, snapshot: o.snapshot, overwrite: o.overwrite, refuseNonEmpty: true, include: o.include, exclude: o.exclude, dryRun: o.dryRun },
    { signal },
  );
  if (o.json) {
    io.write(`${JSON.stringify(o.dryRun ? restored : restored.map(({ changes, ...r }) => (void changes, r)), null, 2)}\n`);
    return;
  }
  if (o.dryRun) {
    for (const r of restored) printChanges(io, r);
    io.line(`${name}: dry run: nothing in ${where.target} was changed`);
    return;
  }
  for (const r of restored) io.line(`${name}: restored ${r.path} from ${r.snapshot} to ${r.restoredTo} (${countsText(r.counts)})`);
}

/** `3 added, 1 replaced, 5 unchanged, 1 conflict replaced`. */
function countsText(c: RestoredGroup['counts']): string {
  const parts = [`${c.added} added`, `${c.replaced} replaced`, `${c.unchanged} unchanged`];
  if (c.conflicts) parts.push(`${c.conflicts} in the way replaced`);
  return parts.join(', ');
}

/** A dry run's changes, one line each (unchanged files only with --verbose). */
function printChanges(io: CommandContext['io'], r: RestoredGroup): void {
  io.line(`${r.path} from ${r.snapshot} to ${r.restoredTo}: would ${countsText(r.counts).replace(/ added/, ' add').replace(/ replaced/g, ' replace').replace(/ unchanged/, ' stay unchanged')}`);
  for (const c of r.changes ?? []) {
    const line = changeLine(c);
    if (!line) continue;
    if (c.unchanged) io.debug(line);
    else io.line(line);
  }
}

function changeLine(c: RestoreChange): string | undefined {
  if (c.conflict) return `  replace  ${c.path}  (${c.conflict})`;
  if (c.action === 'folder') return `  add      ${c.path}/`;
  if (c.action === 'add') return `  add      ${c.path}`;
  if (c.action === 'replace') return `  ${c.unchanged ? 'same   ' : 'replace'}  ${c.path}`;
  return undefined;
}
