/**
 * The dispatcher's time budget, shared by the handler, the stack and the fan-out benchmark so
 * that they cannot disagree.
 *
 *   tick t                                                    tick t + interval
 *   |---- launching (20 RunTask a second) ----|-- margin --|-|
 *                                   deadline ^    timeout ^
 */
import type { Restic } from '../schemas/restic';
import { parseGoDuration } from './duration';
import { ConfigError } from './errors';

/**
 * The tick lengths the stack accepts, in minutes: EventBridge schedules in whole minutes, and
 * a schedule is checked at most an hour late.
 */
export const TICK_MINUTES = { min: 1, max: 60 } as const;

/** What {@link checkTickMinutes} requires, as error messages say it. */
export const TICK_MINUTES_RULE = `a whole number of minutes from ${TICK_MINUTES.min} to ${TICK_MINUTES.max}`;

/** Whether `tickMinutes` is a tick length the stack accepts. */
export function isTickMinutes(tickMinutes: unknown): tickMinutes is number {
  return Number.isInteger(tickMinutes) && (tickMinutes as number) >= TICK_MINUTES.min && (tickMinutes as number) <= TICK_MINUTES.max;
}

/** `tickMinutes`, or a ConfigError when it is not {@link TICK_MINUTES_RULE}. */
export function checkTickMinutes(tickMinutes: number): number {
  if (!isTickMinutes(tickMinutes)) throw new ConfigError(`tickMinutes ${tickMinutes} must be ${TICK_MINUTES_RULE}`);
  return tickMinutes;
}

/** Time kept back from the Lambda's deadline for the watermark commit and metrics. */
export const DISPATCH_DEADLINE_MARGIN_MS = 5_000;

/**
 * The dispatch function's timeout: it ends before the next tick starts (at most Lambda's
 * useful 300 s here). Throws ConfigError for a tick length the stack does not accept.
 */
export function dispatchTimeoutSeconds(tickMinutes: number): number {
  return Math.min(60 * checkTickMinutes(tickMinutes) - 2, 300);
}

/**
 * A run's time limit when its spec sets none (`spec.timeout`): long enough for a large first
 * backup (12 h at restic's 50 to 100 MB/s is 2 to 4 TB), short enough that a hung restic does not
 * hold its task, and every later slot of its spec, for days.
 */
export const DEFAULT_RUN_TIMEOUT_MS = 12 * 3_600_000;

/**
 * What the dispatcher allows a task beyond its spec's timeout before it stops the task: the
 * runner stops restic itself at the limit; this covers starting the task (image pull, EFS
 * mounts) and the runner's own ending.
 */
export const STOP_TASK_MARGIN_MS = 10 * 60_000;

/** A spec's run time limit in milliseconds. */
export function runTimeoutMs(spec: Restic): number {
  const ms = spec.spec.timeout ? parseGoDuration(spec.spec.timeout) : undefined;
  return ms && ms > 0 ? ms : DEFAULT_RUN_TIMEOUT_MS;
}
