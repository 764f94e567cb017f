/**
 * What one tick does with the runs that fell due: launch, skip (the spec is still running)
 * or record as missed (too late for its start window, or superseded by a later slot).
 * Pure; the local scheduler uses it directly.
 *
 *   watermark (last tick)                         now
 *        |----- slot A ----- slot B ------------- |
 *   A: superseded by B (one run per spec and kind per tick, the newest slot)
 *   B: launched if now - B <= startWindow, else missed
 */
import type { Restic } from '../schemas/restic';
import type { SpecStatus } from '../schemas/status';
import { parseGoDuration } from './duration';
import { compareNames } from './names';
import type { PlannedRun } from './plan';

/** Default `spec.startWindow`: a slot not started within an hour is missed. */
export const DEFAULT_START_WINDOW_MS = 3_600_000;

export interface TickInput {
  readonly specs: readonly Restic[];
  /** Runs planned for the window, e.g. `plan()` and `planChecks()` together. */
  readonly due: readonly PlannedRun[];
  readonly statuses: ReadonlyMap<string, SpecStatus>;
  readonly now: Date;
  /** Whether the run recorded in a status is still going (a live pid, a task not yet stopped). */
  readonly isRunning: (status: SpecStatus) => boolean;
}

/** A run to start; a backup may carry the spec's check when both fell due together. */
export interface Launch extends PlannedRun {
  /** Run `restic check` after the backup (a check was due in the same tick). */
  readonly alsoCheck?: boolean;
}

export interface TickDecision {
  readonly launch: Launch[];
  readonly skipped: { readonly run: PlannedRun; readonly reason: string }[];
  readonly missed: { readonly run: PlannedRun; readonly reason: string }[];
}

/** The start window of a spec in milliseconds. */
export function startWindowMs(spec: Restic): number {
  const ms = spec.spec.startWindow ? parseGoDuration(spec.spec.startWindow) : undefined;
  return ms && ms > 0 ? ms : DEFAULT_START_WINDOW_MS;
}

/** Decides launches for one tick. */
export function decideTick(input: TickInput): TickDecision {
  const byName = new Map(input.specs.map((s) => [s.metadata.name, s]));
  const newest = new Map<string, Launch>();
  const decision: TickDecision = { launch: [], skipped: [], missed: [] };
  for (const run of input.due) {
    const key = `${run.spec}\0${run.kind}`;
    const prev = newest.get(key);
    if (!prev || prev.at < run.at) {
      if (prev) decision.missed.push({ run: prev, reason: `superseded by the slot at ${run.at.toISOString()}` });
      newest.set(key, run);
    } else {
      decision.missed.push({ run, reason: `superseded by the slot at ${prev.at.toISOString()}` });
    }
  }
  // A check due together with a backup rides along with it instead of waiting behind it.
  for (const [key, run] of newest) {
    if (run.kind !== 'check') continue;
    const backup = newest.get(`${run.spec}\0backup`);
    if (backup) {
      newest.delete(key);
      newest.set(`${run.spec}\0backup`, { ...backup, alsoCheck: true } as Launch);
    }
  }
  const busy = new Set<string>();
  for (const run of [...newest.values()].sort((a, b) => a.at.getTime() - b.at.getTime() || compareNames(a.spec, b.spec))) {
    const spec = byName.get(run.spec);
    if (!spec) continue;
    const late = input.now.getTime() - run.at.getTime();
    if (late > startWindowMs(spec)) {
      decision.missed.push({ run, reason: `not started within the start window (${spec.spec.startWindow ?? '1h'}); ${Math.round(late / 60_000)} min late` });
      continue;
    }
    const status = input.statuses.get(run.spec);
    if (busy.has(run.spec) || (status?.running && input.isRunning(status))) {
      decision.skipped.push({ run, reason: `the previous run ${status?.running?.run ?? ''} is still running`.replace('  ', ' ') });
      continue;
    }
    busy.add(run.spec);
    decision.launch.push(run);
  }
  return decision;
}
