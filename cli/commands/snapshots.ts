/** `stash snapshots NAME`: the spec's snapshots, read by restic on this machine (from local or the stack's stores). */
import type { Command } from 'commander';
import type { CommandContext } from '../command';
import { openStash, withStores, type StoreOptions } from '../mode';

/** `snapshots`' options as commander gives them. */
export interface SnapshotsOptions extends StoreOptions {
  readonly json?: boolean;
}

/** Adds `snapshots` to the program. */
export function registerSnapshots(program: Command, ctx: CommandContext): void {
  withStores(program.command('snapshots'))
    .description("list the spec's snapshots")
    .argument('<name>', 'the spec (metadata.name)')
    .option('--json', "print restic's snapshot objects")
    .action((name: string, o: SnapshotsOptions) => runSnapshots(ctx, name, o));
}

/** Prints one line per snapshot (id, time, paths, tags), or restic's objects as JSON. */
export async function runSnapshots({ io, signal }: CommandContext, name: string, o: SnapshotsOptions): Promise<void> {
  const snapshots = await (await openStash(o, io)).snapshots(name, signal);
  if (o.json) {
    io.write(`${JSON.stringify(snapshots, null, 2)}\n`);
    return;
  }
  if (!snapshots.length) io.line(`${name}: no snapshots`);
  for (const s of snapshots) io.line(`${s.short_id}  ${s.time.slice(0, 19).replace('T', ' ')}  ${s.paths.join(', ')}${s.tags?.length ? `  [${s.tags.join(', ')}]` : ''}`);
}
