/**
 * What is due when: the pure planner the dispatcher and the local mode share. It reads only the
 * specs and the window, so the same inputs always give the same runs.
 *
 * ```
 *  from                                   until
 *   [━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━)
 *   ↑ a run exactly at `from` is planned   ↑ a run exactly at `until` belongs to the next window
 * ```
 */
import type { Restic } from '../schemas/restic';
import { DEFAULT_CHECK_SCHEDULE, parseSchedule, ScheduleError, type Schedule } from './schedule';

/** One scheduled run of one spec: its identity is the spec name and the scheduled time. */
export interface PlannedRun {
  readonly spec: string;
  readonly at: Date;
  readonly kind: 'backup' | 'check';
}

/**
 * Every backup run in the half-open window [from, until), paused specs have none; sorted by
 * time, then spec name. Pure. A spec whose schedule does not parse is skipped (validation
 * reports it); a window in which one spec fires more than 100,000 times throws ScheduleError.
 */
export function plan(specs: readonly Restic[], from: Date, until: Date): PlannedRun[] {
  return planRuns(specs, from, until, 'backup', (restic) => (restic.spec.paused ? undefined : restic.spec.schedule));
}

/**
 * Every scheduled `restic check` in [from, until): spec.check.schedule or
 * DEFAULT_CHECK_SCHEDULE; none when spec.paused or spec.check.paused. Sorted and pure as
 * {@link plan}.
 */
export function planChecks(specs: readonly Restic[], from: Date, until: Date): PlannedRun[] {
  return planRuns(specs, from, until, 'check', ({ spec }) =>
    spec.paused || spec.check?.paused ? undefined : (spec.check?.schedule ?? DEFAULT_CHECK_SCHEDULE),
  );
}

function planRuns(
  specs: readonly Restic[],
  from: Date,
  until: Date,
  kind: PlannedRun['kind'],
  scheduleOf: (restic: Restic) => string | undefined,
): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const restic of specs) {
    const expression = scheduleOf(restic);
    if (expression === undefined) continue;
    let schedule: Schedule;
    try {
      schedule = parseSchedule(expression);
    } catch (err) {
      if (err instanceof ScheduleError) continue;
      throw err;
    }
    for (const at of schedule.between(from, until)) runs.push({ spec: restic.metadata.name, at, kind });
  }
  return runs.sort(byTimeThenSpec);
}

function byTimeThenSpec(a: PlannedRun, b: PlannedRun): number {
  return a.at.getTime() - b.at.getTime() || (a.spec < b.spec ? -1 : a.spec > b.spec ? 1 : 0);
}
