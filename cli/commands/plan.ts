/**
 * `stash plan [--from ISO] [--until ISO]`: the scheduled backups in the window [from, until)
 * (by default the next 24 hours), as lines or JSON; invalid specs are reported and left out
 * (exit 1).
 */
import type { Command } from 'commander';
import { formatProblem } from '../../core/errors';
import { plan } from '../../core/plan';
import { examples, usageError, type CommandContext } from '../command';
import { openStash, withStores, type StoreOptions } from '../mode';

/** `plan`'s options as commander gives them. */
export interface PlanOptions extends StoreOptions {
  /** @default now */
  readonly from?: string;
  /** @default from + 24 h */
  readonly until?: string;
  readonly json?: boolean;
}

/** Adds `plan` to the program. */
export function registerPlan(program: Command, ctx: CommandContext): void {
  withStores(program.command('plan'))
    .description('list the scheduled backups in the window [from, until), by default the next 24 hours')
    .option('--from <iso>', 'start of the window (included); default now')
    .option('--until <iso>', 'end of the window (excluded); default 24 hours after --from')
    .option('--json', 'print a JSON array of {"spec", "at"}')
    .addHelpText(
      'after',
      examples(
        ['what runs in the next 24 hours', 'stash plan'],
        ['what ran (or should have) on the 1st of January, as JSON', 'stash plan --from 2026-01-01T00:00:00Z --until 2026-01-02T00:00:00Z --json'],
      ),
    )
    .action((o: PlanOptions) => runPlan(ctx, o));
}

const DAY_MS = 24 * 3600 * 1000;

function isoDate(value: string, flag: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw usageError(`${flag}: not an ISO 8601 date: "${value}"`);
  return d;
}

/** The window of `--from` and `--until`; a usage error when either is not a date or it runs backwards. */
export function verifyPlanOptions(o: PlanOptions, now: Date = new Date()): { from: Date; until: Date } {
  const from = o.from === undefined ? now : isoDate(o.from, '--from');
  const until = o.until === undefined ? new Date(from.getTime() + DAY_MS) : isoDate(o.until, '--until');
  if (until < from) throw usageError('--until must not be before --from');
  return { from, until };
}

/** Prints the runs the specs schedule in the window. */
export async function runPlan({ io, setExit, signal }: CommandContext, o: PlanOptions): Promise<void> {
  const { from, until } = verifyPlanOptions(o);
  const result = await (await openStash(o, io)).load(signal);
  for (const p of result.problems) io.error(formatProblem(p));
  const runs = plan(result.specs.map((s) => s.spec), from, until);
  if (o.json) io.write(`${JSON.stringify(runs.map((r) => ({ spec: r.spec, at: r.at.toISOString() })), null, 2)}\n`);
  else for (const r of runs) io.line(`${r.at.toISOString()}  ${r.spec}`);
  setExit(result.problems.length ? 1 : 0);
}
