/** `stash status`: per spec, the backups so far, the last outcome and error, and the next run. */
import type { Command } from 'commander';
import type { CommandContext } from '../command';
import { openStash, withStores, type StoreOptions } from '../mode';

/** `status`' options as commander gives them. */
export interface StatusOptions extends StoreOptions {
  readonly json?: boolean;
}

/** Adds `status` to the program. */
export function registerStatus(program: Command, ctx: CommandContext): void {
  withStores(program.command('status'))
    .description('per spec: backups so far, the last error and the next run')
    .option('--json', 'print JSON')
    .action((o: StatusOptions) => runStatus(ctx, o));
}

/** Prints a few lines per spec, or one JSON object per spec (its status, next run and whether it is paused). */
export async function runStatus({ io, signal }: CommandContext, o: StatusOptions): Promise<void> {
  const rows = await (await openStash(o, io)).status(signal);
  if (o.json) {
    io.write(`${JSON.stringify(rows.map((r) => ({ name: r.name, nextRun: r.nextRun, paused: r.paused ?? false, statusError: r.statusError, ...r.status })), null, 2)}\n`);
    return;
  }
  if (!rows.length) io.line('no specs');
  for (const r of rows) {
    const s = r.status;
    io.line(`${r.name}${r.paused ? ' (paused)' : ''}`);
    if (r.statusError) {
      io.line(`  status unreadable: ${r.statusError}`);
      io.line(`  next run: ${r.nextRun ?? (r.paused ? 'paused' : 'none')}`);
      continue;
    }
    io.line(`  backups: ${s?.backupCount ?? 0}, last: ${s?.lastBackupTime ?? 'never'} (${s?.lastOutcome ?? '-'}${s?.lastBackupDuration ? `, ${s.lastBackupDuration}` : ''})`);
    io.line(`  first: ${s?.firstBackupTime ?? 'never'}, last successful: ${s?.lastSuccessfulBackupTime ?? 'never'}`);
    if (s?.running) io.line(`  running: ${s.running.run} since ${s.running.startedAt}`);
    if (s?.lastError) io.line(`  last error: ${s.lastError}`);
    if (s?.lastSkipped) io.line(`  last skipped: ${s.lastSkipped.slot}: ${s.lastSkipped.reason}`);
    io.line(`  next run: ${r.nextRun ?? (r.paused ? 'paused' : 'none')}`);
  }
}
