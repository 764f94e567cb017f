/**
 * `stash restore NAME`: restores the spec's fileGroups on this machine under `--target DIR`
 * (from local or the stack's stores), or with `--remote` on AWS into EFS volumes, as a
 * Recovery the stack runs.
 */
import type { Command } from 'commander';
import { usageError, type CommandContext } from '../command';
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
}

/** Adds `restore` to the program. */
export function registerRestore(program: Command, ctx: CommandContext): void {
  withStores(program.command('restore'))
    .description("restore the spec's fileGroups under DIR: fileGroup /data lands in DIR/data")
    .argument('<name>', 'the spec (metadata.name)')
    .option('--target <dir>', 'folder to restore into (on this machine)')
    .option('--snapshot <id>', 'a snapshot id, or latest', 'latest')
    .option('--overwrite', 'replace what is in the way (a folder where the snapshot has a file, a file where it has a folder) instead of stopping')
    .option('--remote', 'restore on AWS into EFS volumes (needs --specs s3://... and --volume)')
    .option('--volume <mount=source>', 'with --remote: MOUNTPATH=efs:fs-...[:/dir][@fsap-...], repeatable', (v: string, all: string[] = []) => [...all, v])
    .option('--name <name>', 'with --remote: the Recovery name (default <spec>-<time>)')
    .action((name: string, o: RestoreOptions) => runRestore(ctx, name, o));
}

/** Where to restore: `--target DIR` here, or `--remote` into the `--volume`s; a usage error when the options name neither. */
export function verifyRestoreOptions(o: RestoreOptions): { readonly target: string } | { readonly volumes: readonly string[] } {
  if (o.remote) {
    if (o.overwrite) throw usageError('--overwrite is for a restore on this machine (--target DIR); a remote restore stops at a conflict');
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
  const restored = await (await openStash(o, io)).restore(name, { targetDir: where.target, snapshot: o.snapshot, overwrite: o.overwrite }, { signal });
  for (const r of restored) io.line(`${name}: restored ${r.path} from ${r.snapshot} to ${r.restoredTo}`);
}
