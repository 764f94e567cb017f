import { Duration, Stack } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { Functions } from './functions';
import type { StashMetrics } from './metrics';

/** Properties of {@link StashDashboard}. */
export interface StashDashboardProps {
  /** Stash's EMF metrics. */
  readonly metrics: StashMetrics;
  /** The alarms shown in the top row. */
  readonly alarms: readonly cw.IAlarm[];
  /** The three functions, for their errors and throttles. */
  readonly functions: Functions;
  /** The rules' and functions' dead-letter queue. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The runner's log group, where the failed runs are found. */
  readonly runnerLogGroup: logs.ILogGroup;
  /** The Logs Insights query that lists failed runs (see {@link RunnerQueries}). */
  readonly failedRunsQuery: logs.QueryString;
  /**
   * Name of the dashboard.
   * @default `${stackName}`
   */
  readonly dashboardName?: string;
}

/**
 * What a user looks at first, over a week: the alarms; runs by outcome, their duration and the
 * bytes added; overdue specs, launches throttled and specs invalid; the functions' errors and
 * the dead-letter queue; the latest failed runs.
 */
export class StashDashboard extends cw.Dashboard {
  constructor(scope: Construct, id: string, props: StashDashboardProps) {
    super(scope, id, {
      dashboardName: props.dashboardName ?? Stack.of(scope).stackName,
      defaultInterval: Duration.days(7),
    });
    this.addWidgets(new cw.AlarmStatusWidget({ title: 'Alarms', width: 24, height: 3, alarms: [...props.alarms] }));
    this.addWidgets(...runWidgets(props.metrics));
    this.addWidgets(...healthWidgets(props));
    this.addWidgets(
      new cw.LogQueryWidget({
        title: 'Failed runs',
        width: 24,
        height: 6,
        logGroupNames: [props.runnerLogGroup.logGroupName],
        queryString: props.failedRunsQuery.toString(),
      }),
    );
  }
}

/** Runs by outcome, their duration, and the bytes they added, hour by hour. */
function runWidgets(metrics: StashMetrics): cw.IWidget[] {
  const hourly = Duration.hours(1);
  return [
    new cw.GraphWidget({
      title: 'Runs by outcome',
      width: 8,
      stacked: true,
      left: [
        metrics.metric('BackupSucceeded', 'Sum', hourly).with({ label: 'succeeded', color: cw.Color.GREEN }),
        metrics.metric('BackupFailed', 'Sum', hourly).with({ label: 'failed', color: cw.Color.RED }),
      ],
    }),
    new cw.GraphWidget({
      title: 'Run duration (ms)',
      width: 8,
      left: [
        metrics.metric('BackupDuration', 'Average', hourly).with({ label: 'average' }),
        metrics.metric('BackupDuration', 'Maximum', hourly).with({ label: 'maximum' }),
      ],
    }),
    new cw.GraphWidget({
      title: 'Bytes added',
      width: 8,
      left: [metrics.metric('BytesAdded', 'Sum', hourly).with({ label: 'bytes added' })],
    }),
  ];
}

/** What keeps backups from running: overdue and invalid specs, throttled launches, failing functions, dead letters. */
function healthWidgets(props: StashDashboardProps): cw.IWidget[] {
  const { metrics, functions: fns } = props;
  return [
    new cw.GraphWidget({
      title: 'Overdue specs',
      width: 8,
      left: [metrics.metric('OverdueSpecs', 'Maximum').with({ label: 'overdue' })],
    }),
    new cw.GraphWidget({
      title: 'Launches throttled or failed, checks failed, specs invalid',
      width: 8,
      left: [
        metrics.metric('LaunchesThrottled', 'Sum').with({ label: 'launches throttled' }),
        metrics.metric('LaunchesFailed', 'Sum').with({ label: 'launches failed', color: cw.Color.RED }),
        metrics.metric('ChecksFailed', 'Sum').with({ label: 'checks failed', color: cw.Color.ORANGE }),
        metrics.metric('SpecsInvalid', 'Maximum').with({ label: 'specs invalid' }),
      ],
    }),
    new cw.GraphWidget({
      title: 'Functions and dead letters',
      width: 8,
      left: [
        fns.dispatch.function.metricErrors({ label: 'dispatch errors' }),
        fns.dispatch.function.metricThrottles({ label: 'dispatch throttles' }),
        fns.record.function.metricErrors({ label: 'record errors' }),
        fns.validate.function.metricErrors({ label: 'validate errors' }),
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'dead letters', statistic: 'Maximum' }),
      ],
    }),
  ];
}
