/**
 * How a run changes a spec's status, the same way in local mode and in the record Lambda.
 * Pure: the stores read and write, this only computes.
 */
import { SpecStatusSchema, type RunResult, type SpecStatus } from '../schemas/status';
import { formatGoDuration } from './duration';
import { compareNames } from './names';
import type { LoadedSpec } from './ports';
import { parseSchedule } from './schedule';

/** A status for a spec that has never run. */
export function emptyStatus(name: string): SpecStatus {
  return SpecStatusSchema.parse({ name });
}

/**
 * The status after a finished run. Backups: `firstBackupTime`, `lastBackupTime` and
 * `lastBackupDuration` follow every backup; `backupCount` counts the backups that made
 * snapshots (succeeded or partial); `lastSuccessfulBackupTime` (a run's start, like
 * `lastBackupTime`) only moves on success;
 * `lastError` is the newest failure's message and is cleared by a success. Checks keep
 * their own time and outcome. The run in progress is cleared when it is this run.
 */
export function applyRunResult(status: SpecStatus, result: RunResult): SpecStatus {
  const next: SpecStatus = { ...status, name: result.spec };
  if (next.running?.run === result.run) delete next.running;
  const failed = result.outcome !== 'succeeded';
  if (result.kind === 'check') {
    next.lastCheckTime = result.startedAt;
    next.lastCheckOutcome = result.outcome;
    if (failed) next.lastError = `check ${result.outcome}: ${result.error ?? 'no detail'}`;
    return next;
  }
  if (result.kind === 'restore') {
    if (failed) next.lastError = `restore ${result.outcome}: ${result.error ?? 'no detail'}`;
    return next;
  }
  next.firstBackupTime ??= result.startedAt;
  next.lastBackupTime = result.startedAt;
  next.lastBackupDuration = formatGoDuration(result.durationMs);
  next.lastOutcome = result.outcome;
  next.lastRun = result;
  if (result.outcome === 'succeeded' || result.outcome === 'partial') next.backupCount = (next.backupCount ?? 0) + 1;
  if (result.outcome === 'succeeded') {
    // A run's start, as Stash set it: equal to lastBackupTime when the last backup succeeded.
    next.lastSuccessfulBackupTime = result.startedAt;
    delete next.lastError;
  } else {
    next.lastError = result.error ?? `backup ${result.outcome}`;
  }
  return next;
}

/** Runs sorted newest first by start (then by id, for a stable order), as a history lists them. */
export function newestFirst(runs: RunResult[]): RunResult[] {
  return runs.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || b.run.localeCompare(a.run));
}

/** One line of `stash status`: a spec (or a status whose spec is gone) and its next backup. */
export interface StatusRow {
  readonly name: string;
  readonly status: SpecStatus | undefined;
  readonly nextRun?: string;
  readonly paused?: boolean;
  /** Why the spec's status could not be read (it names the file); `status` is then undefined. */
  readonly statusError?: string;
  /** Set when the spec has had no successful backup in twice its interval (see findOverdue). */
  readonly overdue?: { readonly since: string; readonly dueBy: string };
}

/**
 * What needs a person's attention in a row, or undefined: the status cannot be read, the
 * last backup or check did not succeed, the spec is overdue. `stash status` exits 1 on any.
 */
export function rowProblem(row: StatusRow): string | undefined {
  const problems: string[] = [];
  if (row.statusError) problems.push('status unreadable');
  const s = row.status;
  if (s?.lastOutcome && s.lastOutcome !== 'succeeded') problems.push(`last backup ${s.lastOutcome}`);
  if (s?.lastCheckOutcome && s.lastCheckOutcome !== 'succeeded') problems.push(`last check ${s.lastCheckOutcome}`);
  if (row.overdue) problems.push(`overdue since ${row.overdue.since}`);
  return problems.length ? problems.join(', ') : undefined;
}

/** The spec's snapshots after its last backup, where every fileGroup's retention counted them. */
export function snapshotCount(status: SpecStatus | undefined): number | undefined {
  const groups = status?.lastRun?.fileGroups ?? [];
  if (!groups.length || groups.some((g) => g.snapshots === undefined)) return undefined;
  return groups.reduce((n, g) => n + (g.snapshots ?? 0), 0);
}

/**
 * The rows of `stash status` at `now`: every valid spec with its status and next backup,
 * then the statuses whose spec is gone (deleted or now invalid), by name. A status that
 * could not be read (`unreadable`, by name) shows as its spec's `statusError`.
 */
export function statusRows(
  specs: readonly LoadedSpec[],
  statuses: readonly SpecStatus[],
  now: Date,
  unreadable: ReadonlyMap<string, string> = new Map(),
): StatusRow[] {
  const byName = new Map(statuses.map((s) => [s.name, s]));
  const rows: StatusRow[] = specs.map(({ spec }) => {
    const name = spec.metadata.name;
    let nextRun: string | undefined;
    if (!spec.spec.paused) {
      try {
        nextRun = parseSchedule(spec.spec.schedule).next(now)?.toISOString();
      } catch {
        nextRun = undefined;
      }
    }
    return { name, status: byName.get(name), nextRun, paused: spec.spec.paused, statusError: unreadable.get(name) };
  });
  const named = new Set(rows.map((r) => r.name));
  for (const [name, status] of byName) if (!named.has(name)) rows.push({ name, status });
  for (const [name, statusError] of unreadable) if (!named.has(name) && !byName.has(name)) rows.push({ name, status: undefined, statusError });
  return rows.sort((a, b) => compareNames(a.name, b.name));
}
