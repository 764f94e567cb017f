/**
 * `stash logs NAME [--run ID] [-f]`: a spec's run logs. Locally `<state>/logs/<name>.jsonl`;
 * on a deployed stack the CloudWatch Logs of the runner and of the functions, filtered by spec
 * (and run). `-f` follows: new records as they come, until Ctrl-C.
 */
import type { Command } from 'commander';
import { parseGoDuration } from '../../core/duration';
import { examples, usageError, type CommandContext } from '../command';
import { openStash, withStores, type StoreOptions } from '../mode';
import { paint } from '../output';
import { humanLine } from '../present';
import type { LogRecord } from '../stash';

/** `logs`' options as commander gives them. */
export interface LogsOptions extends StoreOptions {
  readonly run?: string;
  readonly since?: string;
  readonly follow?: boolean;
  readonly json?: boolean;
}

/** Adds `logs` to the program. */
export function registerLogs(program: Command, ctx: CommandContext): void {
  withStores(program.command('logs'))
    .description("print a spec's run logs (on AWS: the runner's and the functions' CloudWatch logs of that spec)")
    .argument('<name>', 'the spec (metadata.name)')
    .option('--run <id>', 'only this run (as stash history lists it) and the check that rode along with it')
    .option('--since <when>', 'only records since a duration ago (90m, 24h, 7d) or an ISO 8601 time; default: all here, 24h on AWS')
    .option('-f, --follow', 'keep printing new records until Ctrl-C')
    .option('--json', 'print the records as JSON lines')
    .addHelpText(
      'after',
      examples(
        ["home's last day", 'stash logs home --since 24h'],
        ['one run, as stash history lists it', 'stash logs home --run home-20260101T020000'],
        ['follow a run on AWS as it goes', 'stash logs home -f --specs s3://my-stash-config/specs'],
      ),
    )
    .action((name: string, o: LogsOptions) => runLogs(ctx, name, o));
}

/** `--since`: a duration ago (Go's units, and `d` for days) or an ISO 8601 time. */
export function parseSince(text: string, now: Date): Date {
  const days = /^(\d+(?:\.\d+)?)d$/.exec(text);
  const ms = days ? Number(days[1]) * 24 * 3600_000 : parseGoDuration(text);
  if (ms !== undefined) return new Date(now.getTime() - ms);
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw usageError(`--since: not a duration (90m, 24h, 7d) nor an ISO 8601 time: "${text}"`);
  return at;
}

/** One record as a line: `TIME  spec: LEVEL: message (details)`, with where a function logged it. */
export function recordLine(r: LogRecord): string {
  const { timestamp, level, message, source, ...rest } = r;
  const from = source ? ` [${source}]` : '';
  // The keys a log line carries for machines, not for this view.
  const { service, sampling_rate, xray_trace_id, function_request_id, cold_start, function_arn, function_memory_size, function_name, ...extra } = rest as Record<string, unknown>;
  void [service, sampling_rate, xray_trace_id, function_request_id, cold_start, function_arn, function_memory_size, function_name];
  return `${timestamp.slice(0, 19).replace('T', ' ')}${from}  ${humanLine(level ?? 'INFO', message, extra)}`;
}

/** Prints the records the options want; following, until Ctrl-C or stdout's reader goes. */
export async function runLogs({ io, signal }: CommandContext, name: string, o: LogsOptions): Promise<void> {
  const since = o.since ? parseSince(o.since, new Date()) : undefined;
  let printed = 0;
  await (await openStash(o, io)).logs(name, { run: o.run, since, follow: o.follow, signal, stop: () => io.closed }, (r) => {
    printed++;
    if (o.json) io.write(`${JSON.stringify(r)}\n`);
    else if (r.level === 'ERROR') io.line(paint('red', recordLine(r), io.color?.stdout));
    else if (r.level === 'WARN') io.line(paint('yellow', recordLine(r), io.color?.stdout));
    else io.line(recordLine(r));
  });
  if (!printed && !o.follow && !o.json) io.info(`${name}: no log records${o.run ? ` of run ${o.run}` : ''}${o.since ? ` since ${since?.toISOString()}` : ''}`);
}
