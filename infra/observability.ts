import { Duration, Stack } from 'aws-cdk-lib';
import type * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { Functions } from './functions';
import { StashMetrics } from './metrics';
import { RunnerQueries } from './queries';
import { StashAlarm } from './stash-alarm';
import { StashDashboard } from './stash-dashboard';

/** Properties of {@link Observability}. */
export interface ObservabilityProps {
  /** The three functions: the dispatcher's errors raise an alarm. */
  readonly functions: Functions;
  /** The rules' and functions' dead-letter queue: anything in it raises an alarm. */
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
 * What a user watches: an SNS topic (KMS-encrypted, TLS-only) with the alarms on it, the
 * dashboard ({@link StashDashboard}) and the saved Logs Insights queries ({@link RunnerQueries}).
 *
 * Alarms: a failed run; a spec overdue; a dispatch error; anything in the dead-letter queue.
 */
export class Observability extends Construct {
  public readonly metrics: StashMetrics;
  public readonly topic: sns.Topic;
  public readonly topicKey: kms.Key;
  public readonly failedRunsAlarm: cw.Alarm;
  public readonly overdueSpecsAlarm: cw.Alarm;
  public readonly dispatchErrorsAlarm: cw.Alarm;
  public readonly deadLettersAlarm: cw.Alarm;
  public readonly dashboard: StashDashboard;
  public readonly queries: RunnerQueries;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    if (props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
      throw new Error(`Observability: alarmEmail "${props.alarmEmail}" is not an e-mail address`);
    }
    this.metrics = new StashMetrics(props.metricsNamespace);
    const stack = Stack.of(this);

    // SNS server-side encryption needs a customer managed key: CloudWatch cannot use the
    // AWS managed alias/aws/sns key to publish alarms.
    this.topicKey = new kms.Key(this, 'TopicKey', { description: 'Stash alarm topic encryption', enableKeyRotation: true });
    this.topicKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Stash alarms', masterKey: this.topicKey, enforceSSL: true });
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const topic = this.topic;
    this.failedRunsAlarm = new StashAlarm(this, 'FailedRuns', {
      topic,
      metric: this.metrics.metric('BackupFailed', 'Sum'),
      description: 'A backup run failed (restic error, unreadable files, bad config or interrupted). Run the "failed runs, last 24 h" query.',
    });
    this.overdueSpecsAlarm = new StashAlarm(this, 'OverdueSpecs', {
      topic,
      metric: this.metrics.metric('OverdueSpecs', 'Maximum'),
      description: 'A spec has not had a successful backup within its schedule. See status/<name>.json and the "one spec\'s runs" query.',
    });
    this.dispatchErrorsAlarm = new StashAlarm(this, 'DispatchErrors', {
      topic,
      metric: props.functions.dispatch.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      description: 'The dispatcher failed: no backup starts while it does. See its log group.',
    });
    this.deadLettersAlarm = new StashAlarm(this, 'DeadLetters', {
      topic,
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      description: 'An event could not be handled after retries (a task result not recorded, or a spec not validated). Read the dead-letter queue.',
    });

    const fns = props.functions;
    this.queries = new RunnerQueries(this, 'Queries', {
      runnerLogGroup: props.runnerLogGroup,
      functionLogGroups: [fns.dispatch.logGroup, fns.record.logGroup, fns.validate.logGroup],
      folder: stack.stackName,
    });
    this.dashboard = new StashDashboard(this, 'Dashboard', {
      metrics: this.metrics,
      alarms: [this.failedRunsAlarm, this.overdueSpecsAlarm, this.dispatchErrorsAlarm, this.deadLettersAlarm],
      functions: fns,
      deadLetterQueue: props.deadLetterQueue,
      runnerLogGroup: props.runnerLogGroup,
      failedRunsQuery: this.queries.failedRuns.queryString,
      dashboardName: props.dashboardName,
    });
  }
}
