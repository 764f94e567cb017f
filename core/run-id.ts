/**
 * Run identities. A scheduled slot's run has one id, the same in local mode and on AWS
 * (where RunTask's `clientToken` is derived from it), so launching it twice starts it once.
 */
import { randomBytes } from 'node:crypto';
import type { RunKind } from '../schemas/status';

const compact = (d: Date) => d.toISOString().replace(/[-:.]/g, '').slice(0, 15);

/**
 * The run id of a scheduled slot: the same (spec, slot, kind) always gives the same id.
 *
 * @example slotRunId('s3-restic', new Date('2026-01-01T02:00:00Z')) // 's3-restic-20260101T020000'
 */
export function slotRunId(name: string, slot: Date, kind: RunKind = 'backup'): string {
  return `${name}-${kind === 'backup' ? '' : `${kind}-`}${compact(slot)}`;
}

/** The run id of a run started by hand: unique, and says when. */
export function manualRunId(name: string, now: Date, kind: RunKind = 'backup'): string {
  return `${name}-${kind === 'backup' ? '' : `${kind}-`}${compact(now)}-${randomBytes(3).toString('hex')}`;
}

/** The run id of the check that rides along with backup run `run` (a check due in the same tick). */
export function checkRunId(run: string): string {
  return `${run}-check`;
}
