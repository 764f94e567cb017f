import { Duration, Stack } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Functions } from './functions';
import { RunnerQueries } from './queries';

/** The EMF metrics the record and dispatch functions publish (dimension `service=stash`). */
export const METRIC_NAMES = [
  'BackupSucceeded',
  'BackupFailed',
  'BackupDuration',
  'BytesAdded',
  'SpecsInvalid',
  'LaunchesThrottled',
  'OverdueSpecs',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** Properties of {@link Observability}. */
export interface ObservabilityProps {
  readonly functions: Functions;
  readonly deadLetterQueue: sqs.IQueue;
  /** The runner's log group (JSON lines with spec, run, fileGroup, outcome, dataAdded, duration). */
  readonly runnerLogGroup: logs.ILogGroup;
  /**
   * CloudWatch namespace of the EMF metrics.
   * @default 'Stash'
   */
  readonly metricsNamespace?: string;
  /**
   * An address subscribed to the alarm topic (it must confirm the subscription).
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Name of the dashboard.
   * @default `${stackName}`
   */
  readonly dashboardName?: string;
}

/**
 * What a user watches: an SNS topic (KMS-encrypted, TLS-only) with the alarms, a dashboard,
 * and saved Logs Insights queries.
 *
 * Alarms: a failed run; a spec overdue; a dispatch error; anything in the dead-letter queue.
 * Dashboard: runs by outcome, duration, bytes added, overdue specs, launches throttled, the
 * functions' errors and the dead-letter queue, and the latest failed runs.
 */
export class Observability extends Construct {
  public readonly topic: sns.Topic;
  public readonly topicKey: kms.Key;
  public readonly failedRunsAlarm: cw.Alarm;
  public readonly overdueSpecsAlarm: cw.Alarm;
  public readonly dispatchErrorsAlarm: cw.Alarm;
  public readonly deadLettersAlarm: cw.Alarm;
  public readonly dashboard: cw.Dashboard;
  public readonly queries: RunnerQueries;
  private readonly namespace: string;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const namespace = props.metricsNamespace ?? 'Stash';
    if (!/^[A-Za-z0-9._/#:-]{1,255}$/.test(namespace) || namespace.startsWith('AWS/')) {
      throw new Error(`Observability: metricsNamespace "${namespace}" is not a custom CloudWatch namespace`);
    }
    if (props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
      throw new Error(`Observability: alarmEmail "${props.alarmEmail}" is not an e-mail address`);
    }
    this.namespace = namespace;
    const stack = Stack.of(this);

    // SNS server-side encryption needs a customer managed key: CloudWatch cannot use the
    // AWS managed alias/aws/sns key to publish alarms.
    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'Stash alarm topic encryption',
      enableKeyRotation: true,
    });
    this.topicKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Stash alarms',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    const notify = new cwActions.SnsAction(this.topic);

    const alarm = (alarmId: string, metric: cw.IMetric, description: string): cw.Alarm => {
      const a = new cw.Alarm(this, alarmId, {
        metric,
        alarmDescription: description,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(notify);
      a.addOkAction(notify);
      return a;
    };
    this.failedRunsAlarm = alarm(
      'FailedRuns',
      this.metric('BackupFailed', 'Sum'),
      'A backup run failed (restic error, unreadable files, bad config or interrupted). Run the "failed runs, last 24 h" query.',
    );
    this.overdueSpecsAlarm = alarm(
      'OverdueSpecs',
      this.metric('OverdueSpecs', 'Maximum'),
      'A spec has not had a successful backup within its schedule. See status/<name>.json and the "one spec\'s runs" query.',
    );
    this.dispatchErrorsAlarm = alarm(
      'DispatchErrors',
      props.functions.dispatch.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      'The dispatcher failed: no backup starts while it does. See its log group.',
    );
    this.deadLettersAlarm = alarm(
      'DeadLetters',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      'An event could not be handled after retries (a task result not recorded, or a spec not validated). Read the dead-letter queue.',
    );

    this.queries = new RunnerQueries(this, 'Queries', {
      runnerLogGroup: props.runnerLogGroup,
      functionLogGroups: [props.functions.dispatch.logGroup, props.functions.record.logGroup, props.functions.validate.logGroup],
      folder: stack.stackName,
    });

    this.dashboard = new cw.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? stack.stackName,
      defaultInterval: Duration.days(7),
    });
    const fns = props.functions;
    this.dashboard.addWidgets(
      new cw.AlarmStatusWidget({
        title: 'Alarms',
        width: 24,
        height: 3,
        alarms: [this.failedRunsAlarm, this.overdueSpecsAlarm, this.dispatchErrorsAlarm, this.deadLettersAlarm],
      }),
    );
    this.dashboard.addWidgets(
      new cw.GraphWidget({
        title: 'Runs by outcome',
        width: 8,
        stacked: true,
        left: [
          this.metric('BackupSucceeded', 'Sum', Duration.hours(1)).with({ label: 'succeeded', color: cw.Color.GREEN }),
          this.metric('BackupFailed', 'Sum', Duration.hours(1)).with({ label: 'failed', color: cw.Color.RED }),
        ],
      }),
      new cw.GraphWidget({
        title: 'Run duration (ms)',
        width: 8,
        left: [
          this.metric('BackupDuration', 'Average', Duration.hours(1)).with({ label: 'average' }),
          this.metric('BackupDuration', 'Maximum', Duration.hours(1)).with({ label: 'maximum' }),
        ],
      }),
      new cw.GraphWidget({
        title: 'Bytes added',
        width: 8,
        left: [this.metric('BytesAdded', 'Sum', Duration.hours(1)).with({ label: 'bytes added' })],
      }),
    );
    this.dashboard.addWidgets(
      new cw.GraphWidget({
        title: 'Overdue specs',
        width: 8,
        left: [this.metric('OverdueSpecs', 'Maximum').with({ label: 'overdue' })],
      }),
      new cw.GraphWidget({
        title: 'Launches throttled, specs invalid',
        width: 8,
        left: [
          this.metric('LaunchesThrottled', 'Sum').with({ label: 'launches throttled' }),
          this.metric('SpecsInvalid', 'Maximum').with({ label: 'specs invalid' }),
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
    );
    this.dashboard.addWidgets(
      new cw.LogQueryWidget({
        title: 'Failed runs',
        width: 24,
        height: 6,
        logGroupNames: [props.runnerLogGroup.logGroupName],
        queryString: this.queries.failedRuns.queryString.toString(),
      }),
    );
  }

  /** One of Stash's EMF metrics, with the `service=stash` dimension Powertools adds. */
  public metric(name: MetricName, statistic: string, period: Duration = Duration.minutes(5)): cw.Metric {
    return new cw.Metric({ namespace: this.namespace, metricName: name, dimensionsMap: { service: 'stash' }, statistic, period });
  }
}
