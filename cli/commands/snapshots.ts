/**
 * `stash snapshots NAME`: the spec's snapshots, read by restic on this machine (from local or
 * the stack's stores), and a warning for snapshots in its repository of hosts no spec claims
 * (a spec renamed without keeping its host).
 */
import type { Command } from 'commander';
import { examples, type CommandContext } from '../command';
import { openStash, withStores, type StoreOptions } from '../mode';
import { unclaimedWarning } from '../stash';

/** `snapshots`' options as commander gives them. */
export interface SnapshotsOptions extends StoreOptions {
  readonly json?: boolean;
}

/** Adds `snapshots` to the program. */
export function registerSnapshots(program: Command, ctx: CommandContext): void {
  withStores(program.command('snapshots'))
    .description("list the spec's snapshots (and warn of snapshots in its repository that no spec claims)")
    .argument('<name>', 'the spec (metadata.name)')
    .option('--json', "print restic's snapshot objects")
    .addHelpText(
      'after',
      examples(
        ["home's snapshots", 'stash snapshots home'],
        ['the newest snapshot id, for a script', "stash snapshots home --json | jq -r '.[-1].id'"],
      ),
    )
    .action((name: string, o: SnapshotsOptions) => runSnapshots(ctx, name, o));
}

/** Prints one line per snapshot (id, time, paths, tags), or restic's objects as JSON. */
export async function runSnapshots({ io, signal }: CommandContext, name: string, o: SnapshotsOptions): Promise<void> {
  const { snapshots, unclaimed } = await (await openStash(o, io)).repositorySnapshots(name, signal);
  for (const u of unclaimed) io.warn(unclaimedWarning(name, u));
  if (o.json) {
    io.write(`${JSON.stringify(snapshots, null, 2)}\n`);
    return;
  }
  if (!snapshots.length) io.line(`${name}: no snapshots`);
  for (const s of snapshots) io.line(`${s.short_id}  ${s.time.slice(0, 19).replace('T', ' ')}  ${s.paths.join(', ')}${s.tags?.length ? `  [${s.tags.join(', ')}]` : ''}`);
}
