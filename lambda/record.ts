/**
 * The record Lambda, for EventBridge "ECS Task State Change" events (STOPPED, our cluster):
 * maps the task's exit code, stopCode and stoppedReason to the run's outcome, updates
 * `status/<spec>.json` (or the Recovery's status), emits BackupSucceeded / BackupFailed /
 * BackupDuration, ChecksFailed for a check that failed (a corrupt repository), and
 * OverdueSpecs over every spec.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { errorMessage } from '../core/errors';
import { appearedAt, findOverdue, recordStoppedTask, type RecordReport } from '../core/record';
import { composeRecord, restoreCompiledSpecs, type RecordRuntime } from './compose';
import type { LambdaContext } from './dispatch';
import { RecordEnvSchema, readEnv } from './env';
import { EcsTaskStateChangeSchema, parseEvent } from './events';

/** What the handler did with an event. */
export interface RecordResult {
  readonly recorded: boolean;
  /** Why an event was left alone (another cluster, not stopped, not our task). */
  readonly ignored?: string;
  readonly spec?: string;
  readonly run?: string;
  readonly outcome?: string;
  readonly overdue?: readonly string[];
}

/** A record handler over a composed runtime. */
export function createRecordHandler(rt: RecordRuntime): (event: unknown, context?: LambdaContext) => Promise<RecordResult> {
  return async (event) => {
    const { logger, metrics, env } = rt;
    const { detail } = parseEvent(EcsTaskStateChangeSchema, event, 'an ECS Task State Change event');
    if (detail.clusterArn && detail.clusterArn !== env.CLUSTER_ARN) return { recorded: false, ignored: `task of another cluster (${detail.clusterArn})` };
    if (detail.lastStatus !== 'STOPPED') return { recorded: false, ignored: `task is ${detail.lastStatus ?? 'in an unknown state'}, not STOPPED` };
    const now = rt.clock.now();
    let report: RecordReport;
    try {
      report = await recordStoppedTask({ statuses: rt.statuses, runs: rt.runs, recordRestore: rt.recordRestore, containerName: env.CONTAINER_NAME }, detail, now);
    } catch (err) {
      logger.error('could not record a stopped task', { taskArn: detail.taskArn, error: errorMessage(err) });
      throw err;
    }
    try {
      if (!report.recorded || !report.run || !report.result) return { recorded: false, ignored: 'not a stash task' };
      const { run, result } = report;
      const keys = { spec: run.spec, run: run.run, slot: run.slot, kind: run.kind, outcome: result.outcome, taskArn: detail.taskArn, durationMs: result.durationMs };
      if (result.outcome === 'succeeded') logger.info(`${run.kind} succeeded`, keys);
      else logger.error(`${run.kind} ${result.outcome} for ${run.spec}: ${result.error ?? ''}`, { ...keys, reason: result.error });
      const checks = [run.kind === 'check' ? result : undefined, report.check].filter((c) => c !== undefined);
      for (const check of report.check ? [report.check] : []) {
        const checkKeys = { ...keys, run: check.run, kind: check.kind, outcome: check.outcome, durationMs: check.durationMs };
        if (check.outcome === 'succeeded') logger.info('check succeeded', checkKeys);
        else logger.error(`check ${check.outcome} for ${run.spec}: ${check.error ?? ''}`, { ...checkKeys, reason: check.error });
      }
      if (run.kind === 'backup') {
        metrics.addMetric(result.outcome === 'succeeded' ? 'BackupSucceeded' : 'BackupFailed', MetricUnit.Count, 1);
        metrics.addMetric('BackupDuration', MetricUnit.Seconds, result.durationMs / 1000);
      }
      if (checks.length) metrics.addMetric('ChecksFailed', MetricUnit.Count, checks.filter((c) => c.outcome !== 'succeeded').length);
      const overdue = await overdueSpecs(rt, now);
      return { recorded: true, spec: run.spec, run: run.run, outcome: result.outcome, overdue };
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/** OverdueSpecs over every valid spec; a failure here is logged, never fails the record. */
async function overdueSpecs(rt: RecordRuntime, now: Date): Promise<string[] | undefined> {
  try {
    // The dispatcher's compiled specs spare a cold container a GET and a parse per document.
    await restoreCompiledSpecs(rt);
    const documents = await rt.specs.documents();
    const loaded = rt.cache.load(documents);
    const statuses = new Map((await rt.statuses.list()).map((s) => [s.name, s]));
    const overdue = findOverdue(loaded.specs, statuses, now, appearedAt(documents, loaded));
    for (const o of overdue) rt.logger.warn('spec overdue: no successful backup within twice its interval', { spec: o.spec, since: o.since, dueBy: o.dueBy });
    rt.metrics.addMetric('OverdueSpecs', MetricUnit.Count, overdue.length);
    return overdue.map((o) => o.spec);
  } catch (err) {
    rt.logger.warn('could not check for overdue specs', { error: errorMessage(err) });
    return undefined;
  }
}

let warm: ((event: unknown, context?: LambdaContext) => Promise<RecordResult>) | undefined;

/** The Lambda entry point; reads its environment on a container's first invocation. */
export const handler = async (event: unknown, context?: LambdaContext): Promise<RecordResult> => {
  warm ??= createRecordHandler(composeRecord(readEnv(RecordEnvSchema)));
  return warm(event, context);
};
