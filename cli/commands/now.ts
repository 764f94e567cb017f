/**
 * What `stash backup` and `stash check` share: one run of a spec now, on this machine (waiting
 * for it; exit 1 unless it succeeded) or, with `--remote`, launched as a Fargate task of the
 * deployed stack through the tick's launch path; with `--wait`, followed to its end.
 */
import type { RunResult } from '../../schemas/status';
import { usageError, type CommandContext } from '../command';
import { openStash, type StoreOptions } from '../mode';
import { outcomeLine } from '../present';

/** The options `backup` and `check` both have. */
export interface RunNowOptions extends StoreOptions {
  readonly remote?: boolean;
  /** With `--remote`: follow the task until it stops and exit with the run's outcome. */
  readonly wait?: boolean;
  /** Print the run's result (or the launched task) as JSON. */
  readonly json?: boolean;
  /** `backup --init`: a repository that has vanished may be created anew. */
  readonly init?: boolean;
}

/** Runs or launches the spec's `kind` of run now and reports it. */
export async function runSpecNow(
  { io, setExit, signal }: CommandContext,
  name: string,
  kind: 'backup' | 'check',
  o: RunNowOptions,
  readDataSubset?: string,
): Promise<void> {
  if (o.wait && !o.remote) throw usageError('--wait follows a task of the deployed stack: it goes with --remote (a run here is always waited for)');
  if (o.remote) {
    const remote = await openStash(o, io, 'remote');
    const started = await remote.backupNow(name, kind, { init: o.init });
    if (!o.wait) {
      if (o.json) io.write(`${JSON.stringify(started, null, 2)}\n`);
      else io.line(`${name}: ${kind} launched: run ${started.run}, task ${started.taskArn}`);
      return;
    }
    io.info(`${name}: ${kind} launched: run ${started.run}, task ${started.taskArn}; following it (Ctrl-C stops following, not the task)`);
    const followed = await remote.follow(name, started, { signal, onStatus: (status) => io.info(`${name}: task ${status.toLowerCase()}`) });
    report(io, followed.result, o.json);
    if (followed.status) {
      const s = followed.status;
      if (!o.json) io.info(`${name}: backups: ${s.backupCount}, last: ${s.lastBackupTime ?? 'never'} (${s.lastOutcome ?? '-'}), last successful: ${s.lastSuccessfulBackupTime ?? 'never'}`);
    }
    setExit(followed.result.outcome === 'succeeded' ? 0 : 1);
    return;
  }
  const result = await (await openStash(o, io, 'local')).runNow(name, { kind, readDataSubset, signal, init: o.init });
  // The run log has said how it ended (the output shows its last record); JSON gives the whole result.
  if (o.json) io.write(`${JSON.stringify(result, null, 2)}\n`);
  setExit(result.outcome === 'succeeded' ? 0 : 1);
}

/** A followed remote run's result, as a line or JSON. */
function report(io: CommandContext['io'], result: RunResult, json?: boolean): void {
  if (json) io.write(`${JSON.stringify(result, null, 2)}\n`);
  else if (result.outcome === 'succeeded') io.line(outcomeLine(result as unknown as Record<string, unknown>));
  else io.error(outcomeLine(result as unknown as Record<string, unknown>));
}
