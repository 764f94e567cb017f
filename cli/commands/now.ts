/**
 * What `stash backup` and `stash check` share: one run of a spec now, on this machine (waiting
 * for it; exit 1 unless it succeeded) or, with `--remote`, launched as a Fargate task of the
 * deployed stack through the tick's launch path.
 */
import type { CommandContext } from '../command';
import { openStash, type StoreOptions } from '../mode';

/** The options `backup` and `check` both have. */
export interface RunNowOptions extends StoreOptions {
  readonly remote?: boolean;
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
  if (o.remote) {
    const started = await (await openStash(o, io, 'remote')).backupNow(name, kind, { init: o.init });
    io.line(`${name}: ${kind} launched: run ${started.run}, task ${started.taskArn}`);
    return;
  }
  const result = await (await openStash(o, io, 'local')).runNow(name, { kind, readDataSubset, signal, init: o.init });
  io.line(`${name}: ${kind} ${result.outcome}${result.error ? `: ${result.error}` : ''}`);
  setExit(result.outcome === 'succeeded' ? 0 : 1);
}
