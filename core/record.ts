/**
 * What a stopped task means: the record step turns an ECS task's exit code, `stopCode` and
 * `stoppedReason` into the run's outcome, applies it to the spec's status and tells which
 * specs are overdue. Pure, apart from {@link recordStoppedTask}, which reads and writes
 * through the ports it is given.
 *
 * A task that never ran the backup (image pull failure, EFS mount failure), ran out of
 * memory or was reclaimed (Fargate Spot) is never "backup succeeded", whatever its exit code.
 */
import { OUTCOME_EXIT_CODES, type Outcome, type RunResult, type SpecStatus } from '../schemas/status';
import { taskRunOf, type TaskRun } from '../schemas/task-env';
import { errorMessage, StashError } from './errors';
import type { LoadedSpec, RunStore, SpecDocument, StatusStore } from './ports';
import type { SpecLoadResult } from './spec';
import { checkRunId } from './run-id';
import { parseSchedule } from './schedule';
import { applyRunResult } from './status';

/** One container of a stopped task, as ECS reports it. */
export interface StoppedContainer {
  readonly name: string;
  readonly exitCode?: number | null;
  /** ECS's reason for the container stopping, e.g. `OutOfMemoryError: Container killed due to memory usage`. */
  readonly reason?: string | null;
  readonly lastStatus?: string;
}

/**
 * The parts of an ECS task that decide a run's outcome: the `detail` of an EventBridge
 * "ECS Task State Change" event, or an element of DescribeTasks' `tasks`.
 */
export interface StoppedTask {
  readonly taskArn: string;
  readonly clusterArn?: string;
  readonly group?: string;
  readonly startedBy?: string;
  readonly lastStatus?: string;
  /** `TaskFailedToStart`, `EssentialContainerExited`, `UserInitiated`, `SpotInterruption`, ... */
  readonly stopCode?: string;
  readonly stoppedReason?: string;
  readonly createdAt?: string;
  readonly startedAt?: string;
  readonly stoppingAt?: string;
  readonly stoppedAt?: string;
  readonly containers?: readonly StoppedContainer[];
  readonly overrides?: {
    readonly containerOverrides?: readonly {
      readonly name?: string;
      readonly environment?: readonly { readonly name?: string; readonly value?: string }[];
    }[];
  };
}

/** How a task ended, in our terms; `reason` is for people (status `lastError`, log lines). */
export interface TaskOutcome {
  readonly outcome: Outcome;
  readonly reason?: string;
}

const OUTCOME_BY_EXIT_CODE = new Map<number, Outcome>(
  Object.entries(OUTCOME_EXIT_CODES).map(([outcome, code]) => [code, outcome as Outcome]),
);

const EXIT_REASONS: Partial<Record<Outcome, string>> = {
  failed: 'the runner reported a failed run (see its log)',
  'config-error': 'the runner could not use the spec, its secret or its volumes (see its log)',
  partial: 'some files could not be read (restic exit 3): the snapshot is incomplete',
  interrupted: 'the runner was interrupted before the run finished',
  'timed-out': "the runner stopped the run at the spec's time limit (spec.timeout)",
};

const join = (...parts: (string | null | undefined)[]) => parts.filter((p): p is string => !!p && p.trim() !== '').join(': ');

/**
 * Maps a stopped task to the run's outcome.
 *
 * ```
 * stopCode / reason                               outcome
 * TaskFailedToStart + CannotPullContainerError -> failed ("image pull failed")
 * ResourceInitializationError (EFS, secrets)   -> failed ("task could not start")
 * OutOfMemoryError (any exit code)             -> failed ("out of memory")
 * SpotInterruption / TerminationNotice         -> interrupted
 * stopped by the dispatcher after spec.timeout -> timed-out
 * UserInitiated / ServiceSchedulerInitiated    -> interrupted
 * EssentialContainerExited, exit 0..5          -> OUTCOME_EXIT_CODES
 * exit 137 / 143 (killed, terminated)          -> interrupted
 * any other exit code, or none                 -> failed
 * ```
 */
export function taskOutcome(task: StoppedTask, containerName = 'runner'): TaskOutcome {
  const containers = task.containers ?? [];
  const container = containers.find((c) => c.name === containerName) ?? containers[0];
  const stopCode = task.stopCode ?? '';
  const stopped = task.stoppedReason ?? '';
  const containerReason = container?.reason ?? '';
  const reasons = `${stopped}\n${containerReason}`;

  if (/CannotPullContainer|pull image|ImagePull|manifest unknown/i.test(reasons)) {
    return { outcome: 'failed', reason: join('image pull failed', containerReason || stopped) };
  }
  if (/ResourceInitializationError/i.test(reasons)) {
    return { outcome: 'failed', reason: join('task could not start (EFS mount, secret or network)', stopped || containerReason) };
  }
  if (/OutOfMemory/i.test(reasons)) {
    return { outcome: 'failed', reason: join('out of memory: raise spec.resources.limits.memory', containerReason || stopped) };
  }
  if (stopCode === 'TaskFailedToStart') {
    return { outcome: 'failed', reason: join('task failed to start', stopped || containerReason) };
  }
  if (stopCode === 'SpotInterruption' || stopCode === 'TerminationNotice') {
    return { outcome: 'interrupted', reason: join('capacity reclaimed (spot interruption)', stopped) };
  }
  if (stopped.includes(TIMED_OUT_REASON)) {
    return { outcome: 'timed-out', reason: join('the task outlived its time limit and was stopped', stopped) };
  }
  if (stopCode === 'UserInitiated' || stopCode === 'ServiceSchedulerInitiated') {
    return { outcome: 'interrupted', reason: join('task stopped before the run finished', stopped) };
  }
  const exitCode = container?.exitCode;
  if (exitCode === undefined || exitCode === null) {
    return { outcome: 'failed', reason: join('task stopped without an exit code', stopped || containerReason || stopCode) };
  }
  const mapped = OUTCOME_BY_EXIT_CODE.get(exitCode);
  if (mapped === 'succeeded') {
    // A clean exit only counts when the container ended the task, not when the task was ended around it.
    return stopCode === '' || stopCode === 'EssentialContainerExited'
      ? { outcome: 'succeeded' }
      : { outcome: 'interrupted', reason: join(`task stopped (${stopCode})`, stopped) };
  }
  if (mapped) return { outcome: mapped, reason: EXIT_REASONS[mapped] };
  if (exitCode === 137) return { outcome: 'interrupted', reason: join('runner killed (exit 137, SIGKILL)', stopped) };
  if (exitCode === 143) return { outcome: 'interrupted', reason: join('runner terminated (exit 143, SIGTERM)', stopped) };
  return { outcome: 'failed', reason: join(`runner exited with code ${exitCode}`, containerReason || stopped) };
}

/** What the dispatcher says when it stops a task that outlived its spec's timeout; the record step knows it by this. */
export const TIMED_OUT_REASON = 'stash: the run outlived spec.timeout';

/** The group the dispatcher gives every task of a spec. */
export const taskGroup = (spec: string) => `stash:${spec}`;

/**
 * Which run a task was: the references in its `runner` container overrides, falling back
 * on the `stash:<spec>` group. Undefined when the task is not one of ours.
 */
export function taskRun(task: StoppedTask, containerName = 'runner'): TaskRun | undefined {
  const overrides = task.overrides?.containerOverrides ?? [];
  const env = new Map<string, string>();
  for (const o of overrides.filter((o) => o.name === containerName)) {
    for (const e of o.environment ?? []) if (e.name && e.value !== undefined) env.set(e.name, e.value);
  }
  const described = taskRunOf(env);
  const spec = described.spec ?? (task.group?.startsWith('stash:') ? task.group.slice('stash:'.length) : undefined);
  if (!spec) return undefined;
  const taskId = task.taskArn.split('/').pop() ?? task.taskArn;
  return { ...described, spec, run: described.run ?? `${spec}-task-${taskId}`, kind: described.kind ?? 'backup' };
}

/** The run result a stopped task stands for; times fall back on `now` when ECS gave none. */
export function runResultOf(task: StoppedTask, run: TaskRun, now: Date, containerName = 'runner'): RunResult {
  const { outcome, reason } = taskOutcome(task, containerName);
  const startedAt = task.startedAt ?? task.createdAt ?? task.stoppedAt ?? now.toISOString();
  const finishedAt = task.stoppedAt ?? now.toISOString();
  const durationMs = Math.max(0, Date.parse(finishedAt) - Date.parse(startedAt)) || 0;
  return {
    spec: run.spec,
    run: run.run,
    ...(run.slot ? { slot: run.slot } : {}),
    kind: run.kind,
    outcome,
    startedAt,
    finishedAt,
    durationMs,
    fileGroups: [],
    ...(reason && outcome !== 'succeeded' ? { error: reason } : {}),
  };
}

// ---- overdue ------------------------------------------------------------------------------

/** A spec with no successful backup within twice its schedule's interval. */
export interface OverdueSpec {
  readonly spec: string;
  /** The last success, or when the spec appeared if it never succeeded. */
  readonly since: string;
  /** `since` plus twice the interval, or the second slot after `since` if that is later. */
  readonly dueBy: string;
}

/**
 * Specs that are overdue at `now`: not paused, and no success within twice the schedule's
 * interval of their reference time (the last success, or when the spec was created or last
 * changed, whichever is later).
 *
 * ```
 * since            slot 1            slot 2     since + 2 x interval = dueBy     now
 *   |----------------|-----------------|--------------|---------------------------|
 *                                                      overdue: now > dueBy, no success
 * ```
 *
 * `dueBy` is never before the second slot after `since`, so for an irregular cron (weekdays
 * only) the weekend gap counts as one interval and a Sunday is not a false alarm.
 *
 * @param appeared when each spec was created or last changed (S3 LastModified, file mtime);
 *   a spec that never succeeded and has no entry here is not judged.
 */
export function findOverdue(
  specs: readonly LoadedSpec[],
  statuses: ReadonlyMap<string, SpecStatus>,
  now: Date,
  appeared: ReadonlyMap<string, Date> = new Map(),
): OverdueSpec[] {
  const overdue: OverdueSpec[] = [];
  for (const { spec } of specs) {
    if (spec.spec.paused) continue;
    const name = spec.metadata.name;
    const success = statuses.get(name)?.lastSuccessfulBackupTime;
    const candidates = [success ? Date.parse(success) : NaN, appeared.get(name)?.getTime() ?? NaN].filter((t) => !Number.isNaN(t));
    if (!candidates.length) continue;
    const since = new Date(Math.max(...candidates));
    let schedule;
    try {
      schedule = parseSchedule(spec.spec.schedule);
    } catch {
      continue; // an invalid schedule is reported by validation, not as overdue
    }
    const first = schedule.next(since);
    const second = first ? schedule.next(first) : undefined;
    if (!second) continue;
    const dueBy = Math.max(second.getTime(), since.getTime() + 2 * schedule.minIntervalMs);
    if (now.getTime() > dueBy) overdue.push({ spec: name, since: since.toISOString(), dueBy: new Date(dueBy).toISOString() });
  }
  return overdue;
}

/** When each spec was created or last changed, where the store knows it (for overdue specs). */
export function appearedAt(documents: readonly SpecDocument[], loaded: Pick<SpecLoadResult, 'specs'>): Map<string, Date> {
  const modified = new Map(documents.map((d) => [d.source, d.modifiedAt]));
  const appeared = new Map<string, Date>();
  for (const s of loaded.specs) {
    const at = modified.get(s.source.replace(/#\d+$/, ''));
    if (at) appeared.set(s.spec.metadata.name, at);
  }
  return appeared;
}


// ---- recording -------------------------------------------------------------------------------

/** Raised when a stopped task's outcome cannot be stored. */
export class RecordError extends StashError {}

/** What {@link recordStoppedTask} did, for the handler's log line and metrics. */
export interface RecordReport {
  /** False when the task was not one of ours (no `stash:` group, no overrides). */
  readonly recorded: boolean;
  readonly run?: TaskRun;
  /** The result of the run the task was launched for. */
  readonly result?: RunResult;
  /** The check that rode along with a backup, when it reported or the task died during it. */
  readonly check?: RunResult;
  readonly status?: SpecStatus;
}

/** Ports the record step needs. */
export interface RecordDeps {
  readonly statuses: StatusStore;
  /** The results the task reported before it exited; without it, the exit code alone tells. */
  readonly runs?: RunStore;
  /** Stores a restore run's outcome in its Recovery's status; restores are ignored without it. */
  readonly recordRestore?: (run: TaskRun, result: RunResult) => Promise<void>;
  /** The container that runs the runner (default `runner`). */
  readonly containerName?: string;
}

/**
 * Records a stopped task: its results as the task reported them (`runs/`), or as its exit
 * code tells when it reported none, applied to `status/<spec>.json` (or, for a restore, to
 * its Recovery's status): the backup first, then the check that rode along with it. A result
 * derived from the exit code is stored in `runs/` too, so a spec's history has every run.
 * Idempotent: a redelivered event is recognised by its run id and finish time and skipped.
 */
export async function recordStoppedTask(deps: RecordDeps, task: StoppedTask, now: Date): Promise<RecordReport> {
  const containerName = deps.containerName ?? 'runner';
  const run = taskRun(task, containerName);
  if (!run) return { recorded: false };
  const fromTask = runResultOf(task, run, now, containerName);
  try {
    if (run.kind === 'restore') {
      await deps.recordRestore?.(run, fromTask);
      const status = await deps.statuses.update(run.spec, (current) => applyRunResult(current, fromTask));
      return { recorded: true, run, result: fromTask, status };
    }
    const { result, check, reported } = await reportedResults(deps.runs, run, fromTask);
    const status = await deps.statuses.update(run.spec, (current) => {
      const seen = run.kind === 'check' ? undefined : current.lastRun;
      if (seen && seen.run === result.run && seen.finishedAt === result.finishedAt) return current; // redelivered event
      const next = applyRunResult(current, result);
      return check ? applyRunResult(next, check) : next;
    });
    if (!reported) await deps.runs?.put(result, { ifAbsent: true });
    return { recorded: true, run, result, check, status };
  } catch (err) {
    throw new RecordError(`failed to record ${run.kind} ${run.run} of ${run.spec}: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * The task's own results where it reported them (with its fileGroups, snapshots and bytes),
 * else the one its exit code stands for. A check that was due with the backup and did not
 * report is recorded only when the task did not end cleanly (it died during the check).
 */
async function reportedResults(runs: RunStore | undefined, run: TaskRun, fromTask: RunResult): Promise<{ result: RunResult; check?: RunResult; reported: boolean }> {
  const reported = await runs?.get(run.spec, run.run);
  if (!reported) return { result: fromTask, reported: false };
  if (!run.alsoCheck || run.kind !== 'backup') return { result: reported, reported: true };
  const checkRun = checkRunId(run.run);
  const check =
    (await runs?.get(run.spec, checkRun)) ??
    (fromTask.outcome === 'succeeded' ? undefined : { ...fromTask, run: checkRun, kind: 'check' as const, fileGroups: [], error: fromTask.error ?? 'the check did not finish' });
  return { result: reported, check, reported: true };
}
