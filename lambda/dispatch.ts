/**
 * The dispatch Lambda, woken by EventBridge `rate(1 minute)`: one tick of the core
 * dispatcher (`core/dispatch.ts`) on the S3, Secrets Manager and ECS adapters, then
 * log lines (keys spec, run, slot, and reason for what did not launch) and EMF metrics:
 * Ticks (1 per completed tick: the heartbeat alarm fires when they stop), LaunchesFailed
 * (a secret missing, RunTask refused, a volume the stack does not allow), SpecsInvalid,
 * LaunchesThrottled, OverdueSpecs.
 *
 * A container's first tick also writes `state/launcher.json` for the CLI and deregisters the
 * task definitions a new base revision superseded.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { dispatchTick, type TickReport } from '../core/dispatch';
import type { SlotReport } from '../core/launch';
import { errorMessage, formatProblem } from '../core/errors';
import { composeDispatch, restoreCompiledSpecs, type DispatchRuntime } from './compose';
import { DispatchEnvSchema, readEnv } from './env';
import { parseEvent, ScheduledEventSchema } from './events';
import { DISPATCH_DEADLINE_MARGIN_MS } from '../core/limits';

/** The part of the Lambda context the handlers use. */
export interface LambdaContext {
  readonly awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}

/** Clock skew allowed between two invocations judging one claim. */
const LEASE_SLACK_MS = 5_000;

/** What a tick returns (also visible in the Lambda console's test output). */
export interface DispatchResult {
  readonly lostRace: boolean;
  readonly specs: number;
  readonly invalid: number;
  readonly launched: number;
  readonly skipped: number;
  readonly missed: number;
  readonly failed: number;
  readonly deferred: number;
  readonly overdue: readonly string[];
}

const count = (slots: readonly SlotReport[], result: SlotReport['result']) => slots.filter((s) => s.result === result).length;

/** A dispatch handler over a composed runtime (tests pass their own clients and clock). */
export function createDispatchHandler(rt: DispatchRuntime): (event: unknown, context?: LambdaContext) => Promise<DispatchResult> {
  let launcherConfigWritten = false;
  let supersededRetired = false;
  const reported = new Set<string>();
  return async (event, context) => {
    const { logger, metrics } = rt;
    parseEvent(ScheduledEventSchema, event, 'a scheduled event');
    const now = rt.clock.now();
    const remaining = context?.getRemainingTimeInMillis?.();
    const deadline = remaining === undefined ? undefined : new Date(now.getTime() + Math.max(0, remaining - DISPATCH_DEADLINE_MARGIN_MS));
    if (!launcherConfigWritten) {
      try {
        await rt.launcherConfig.ensure(rt.launcherSettings);
        launcherConfigWritten = true;
      } catch (err) {
        logger.warn('could not write the launcher configuration for remote launches', { error: errorMessage(err) });
      }
    }
    if (!supersededRetired) {
      try {
        const retired = await rt.launcher.taskDefinitions.deregisterSuperseded();
        if (retired.length) logger.info('deregistered task definitions of an earlier runner revision', { taskDefinitions: retired });
        supersededRetired = true;
      } catch (err) {
        logger.warn('could not deregister superseded task definitions; the next container tries again', { error: errorMessage(err) });
      }
    }
    await restoreCompiledSpecs(rt);
    let report: TickReport;
    try {
      // A tick that dies holds its slots no longer than a Lambda of this function can live.
      const leaseMs = remaining === undefined ? rt.deps.options?.leaseMs : remaining + LEASE_SLACK_MS;
      report = await dispatchTick({ ...rt.deps, options: { ...rt.deps.options, deadline, ...(leaseMs ? { leaseMs } : {}) } }, now);
    } catch (err) {
      logger.error('tick failed; the watermark is unchanged, the next tick plans this window again', { error: errorMessage(err) });
      throw err;
    }
    try {
      await rt.compiled.save();
    } catch (err) {
      logger.warn('could not write the compiled specs; a cold start will parse every spec document', { error: errorMessage(err) });
    }
    try {
      return summarise(rt, report, reported);
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

function summarise(rt: DispatchRuntime, report: TickReport, reported: Set<string>): DispatchResult {
  const { logger, metrics } = rt;
  if (report.lostRace) {
    logger.info('another tick holds this window; nothing launched', { from: report.from, until: report.until });
  }
  for (const p of report.problems) {
    const line = formatProblem(p);
    if (reported.has(line)) continue; // once per warm container, not every minute
    reported.add(line);
    logger.warn('invalid spec skipped', { source: p.source, problem: line });
  }
  for (const s of report.slots) {
    const keys = { spec: s.spec, run: s.run, slot: s.slot, kind: s.kind, result: s.result, ...(s.reason ? { reason: s.reason } : {}), ...(s.taskArn ? { taskArn: s.taskArn } : {}) };
    if (s.result === 'failed') logger.error(`${s.spec}: ${s.kind} ${s.reason ?? 'launch failed'}`, keys);
    else if (s.result === 'launched' || s.result === 'already-running') logger.info(`${s.kind} ${s.result}`, keys);
    else logger.warn(`${s.kind} ${s.result}: ${s.reason ?? ''}`, keys);
  }
  for (const t of report.stopped) logger.error(`task stopped: ${t.reason}`, { spec: t.spec, run: t.run, taskArn: t.taskArn });
  for (const o of report.overdue) logger.warn('spec overdue: no successful backup within twice its interval', { spec: o.spec, since: o.since, dueBy: o.dueBy });
  for (const e of report.errors) logger.error(e);
  const invalid = new Set(report.problems.map((p) => p.source)).size;
  metrics.addMetric('Ticks', MetricUnit.Count, 1);
  metrics.addMetric('LaunchesFailed', MetricUnit.Count, count(report.slots, 'failed'));
  metrics.addMetric('SpecsInvalid', MetricUnit.Count, invalid);
  metrics.addMetric('LaunchesThrottled', MetricUnit.Count, report.throttled);
  metrics.addMetric('OverdueSpecs', MetricUnit.Count, report.overdue.length);
  if (report.stopped.length) metrics.addMetric('TasksStopped', MetricUnit.Count, report.stopped.length);
  return {
    lostRace: report.lostRace,
    specs: report.specs,
    invalid,
    launched: count(report.slots, 'launched'),
    skipped: count(report.slots, 'skipped'),
    missed: count(report.slots, 'missed'),
    failed: count(report.slots, 'failed'),
    deferred: count(report.slots, 'deferred'),
    overdue: report.overdue.map((o) => o.spec),
  };
}

let warm: ((event: unknown, context?: LambdaContext) => Promise<DispatchResult>) | undefined;

/**
 * The Lambda entry point. The environment is read and the clients built on the first
 * invocation of a container; a missing variable fails it with the variable's name.
 */
export const handler = async (event: unknown, context?: LambdaContext): Promise<DispatchResult> => {
  warm ??= createDispatchHandler(composeDispatch(readEnv(DispatchEnvSchema)));
  return warm(event, context);
};
