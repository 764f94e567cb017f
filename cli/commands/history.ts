/**
 * `stash history NAME`: every run of a spec, newest first: when, kind, outcome, duration, the
 * bytes added and the snapshots made. Local mode keeps them in `<state>/runs/<spec>/`, a
 * deployed stack in `runs/<spec>/` of its config bucket (expired with the logs).
 */
import type { Command } from 'commander';
import { DEFAULT_HISTORY_LIMIT } from '../../core/ports';
import type { RunResult } from '../../schemas/status';
import { examples, usageError, type CommandContext } from '../command';
import { openStash, withStores, type StoreOptions } from '../mode';
import { formatBytes, formatDuration } from '../units';

/** `history`'s options as commander gives them. */
export interface HistoryOptions extends StoreOptions {
  readonly limit: string;
  readonly json?: boolean;
}

/** Adds `history` to the program. */
export function registerHistory(program: Command, ctx: CommandContext): void {
  withStores(program.command('history'))
    .description('list the runs of a spec, newest first: when, kind, outcome, duration, bytes added, snapshots')
    .argument('<name>', 'the spec (metadata.name); a renamed or deleted spec keeps its history under its old name')
    .option('--limit <n>', 'at most this many runs', String(DEFAULT_HISTORY_LIMIT))
    .option('--json', 'print the run results as JSON')
    .addHelpText(
      'after',
      examples(
        ["home's runs", 'stash history home'],
        ['the failed ones of the last 200, as JSON', "stash history home --limit 200 --json | jq '.[] | select(.outcome != \"succeeded\")'"],
        ['on AWS', 'stash history home --specs s3://my-stash-config/specs'],
      ),
    )
    .action((name: string, o: HistoryOptions) => runHistory(ctx, name, o));
}

/** One run as a table row. */
export function historyRow(r: RunResult): string[] {
  const added = r.kind === 'backup' && r.fileGroups.some((g) => g.dataAdded !== undefined) ? formatBytes(r.fileGroups.reduce((n, g) => n + (g.dataAdded ?? 0), 0)) : '-';
  const snapshots = r.fileGroups.flatMap((g) => (g.snapshotId ? [g.snapshotId.slice(0, 8)] : [])).join(',') || '-';
  return [r.startedAt.slice(0, 19).replace('T', ' '), r.kind, r.outcome, formatDuration(r.durationMs), added, snapshots, r.run];
}

/** Rows in columns, each as wide as its widest cell. */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i].length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '));
}

/** Prints the spec's runs as a table (a failed run's error below it), or as JSON. */
export async function runHistory({ io }: CommandContext, name: string, o: HistoryOptions): Promise<void> {
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1) throw usageError(`--limit must be a whole number of runs, at least 1: "${o.limit}"`);
  const runs = await (await openStash(o, io)).history(name, limit);
  if (o.json) {
    io.write(`${JSON.stringify(runs, null, 2)}\n`);
    return;
  }
  if (!runs.length) {
    io.line(`${name}: no runs yet`);
    return;
  }
  const lines = columns([['STARTED (UTC)', 'KIND', 'OUTCOME', 'DURATION', 'ADDED', 'SNAPSHOTS', 'RUN'], ...runs.map(historyRow)]);
  io.line(lines[0]);
  runs.forEach((r, i) => {
    io.line(r.outcome === 'succeeded' ? lines[i + 1] : io.bad(lines[i + 1]));
    if (r.error) io.line(`    ${r.error}`);
  });
}
