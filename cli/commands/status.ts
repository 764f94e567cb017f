/**
 * `stash status`: per spec, the backups so far, the last outcome and error, the last check, the
 * snapshots and the next run. Exits 1 when a spec needs attention (its last backup or check
 * did not succeed, it is overdue, its status cannot be read, a spec file is invalid), so that
 * it can drive a health check; `--exit-zero` reports the same and exits 0.
 */
import type { Command } from 'commander';
import { formatProblem } from '../../core/errors';
import { rowProblem, snapshotCount, type StatusRow } from '../../core/status';
import { examples, type CommandContext } from '../command';
import { openStash, withStores, type StoreOptions } from '../mode';
import type { Output } from '../output';

/** `status`' options as commander gives them. */
export interface StatusOptions extends StoreOptions {
  readonly json?: boolean;
  /** Report problems, but exit 0. */
  readonly exitZero?: boolean;
}

/** Adds `status` to the program. */
export function registerStatus(program: Command, ctx: CommandContext): void {
  withStores(program.command('status'))
    .description('per spec: backups so far, the last error, the last check, the snapshots and the next run; exit 1 when one needs attention')
    .option('--json', 'print JSON')
    .option('--exit-zero', 'exit 0 even when a spec failed, is overdue or cannot be read (they are still reported)')
    .addHelpText(
      'after',
      examples(
        ['every spec at a glance', 'stash status'],
        ['a health check: exit 1 when a last run failed or a spec is overdue', 'stash status --quiet > /dev/null || notify-send "backups need attention"'],
        ['the same on AWS, as JSON', 'stash status --json --specs s3://my-stash-config/specs'],
      ),
    )
    .action((o: StatusOptions) => runStatus(ctx, o));
}

/** Prints a few lines per spec, or one JSON object per spec (its status, next run, whether it is paused or overdue, what needs attention). */
export async function runStatus({ io, setExit, signal }: CommandContext, o: StatusOptions): Promise<void> {
  const { rows, problems } = await (await openStash(o, io)).statusReport(signal);
  const attention = rows.flatMap((r) => {
    const p = rowProblem(r);
    return p ? [{ name: r.name, problem: p }] : [];
  });
  const invalidFiles = new Set(problems.map((p) => p.source)).size;
  if (o.json) {
    const json = rows.map((r) => ({ name: r.name, nextRun: r.nextRun, paused: r.paused ?? false, statusError: r.statusError, overdue: r.overdue, problem: rowProblem(r), snapshots: snapshotCount(r.status), ...r.status }));
    io.write(`${JSON.stringify(json, null, 2)}\n`);
  } else {
    if (!rows.length) io.line('no specs');
    for (const r of rows) printRow(io, r);
  }
  for (const p of problems) io.error(formatProblem(p));
  if (attention.length || invalidFiles) {
    const parts = [...attention.map((a) => `${a.name} (${a.problem})`), ...(invalidFiles ? [`${invalidFiles} spec file(s) with errors`] : [])];
    if (!o.json) io.error(`needs attention: ${parts.join('; ')}`);
    if (!o.exitZero) setExit(1);
  }
}

function printRow(io: Output, r: StatusRow): void {
  const s = r.status;
  io.line(`${r.name}${r.paused ? ' (paused)' : ''}`);
  if (r.statusError) {
    io.line(`  status unreadable: ${r.statusError}`);
    io.line(`  next run: ${r.nextRun ?? (r.paused ? 'paused' : 'none')}`);
    return;
  }
  const outcome = (o: string | undefined) => (o === undefined ? '-' : o === 'succeeded' ? io.good(o) : io.bad(o));
  io.line(`  backups: ${s?.backupCount ?? 0}, last: ${s?.lastBackupTime ?? 'never'} (${outcome(s?.lastOutcome)}${s?.lastBackupDuration ? `, ${s.lastBackupDuration}` : ''})`);
  io.line(`  first: ${s?.firstBackupTime ?? 'never'}, last successful: ${s?.lastSuccessfulBackupTime ?? 'never'}`);
  io.line(`  last check: ${s?.lastCheckTime ? `${s.lastCheckTime} (${outcome(s.lastCheckOutcome)})` : 'never'}`);
  const count = snapshotCount(s);
  if (count !== undefined) io.line(`  snapshots: ${count} (after the last backup)`);
  else if (s?.lastRun) io.line(`  snapshots: not counted (no retention policy counts them: stash snapshots ${r.name})`);
  if (s?.running) io.line(`  running: ${s.running.run} since ${s.running.startedAt}`);
  if (s?.lastError) io.line(`  last error: ${s.lastError}`);
  if (s?.lastSkipped) io.line(`  last skipped: ${s.lastSkipped.slot}: ${s.lastSkipped.reason}`);
  if (r.overdue) io.line(`  ${io.bad('overdue')}: no successful backup since ${r.overdue.since} (due by ${r.overdue.dueBy})`);
  io.line(`  next run: ${r.nextRun ?? (r.paused ? 'paused' : 'none')}`);
}
