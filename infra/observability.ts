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
import { EmailSchema } from './config';
import { StashMetrics } from './metrics';
import { RunnerQueries } from './queries';
import { HeartbeatAlarm } from './heartbeat-alarm';
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
   * Minutes between two dispatcher ticks: the heartbeat and the launch and check failures
   * are judged per tick.
   * @default 1
   */
  readonly tickMinutes?: number;
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
 * Alarms: a failed run; a spec overdue; a dispatch error; anything in the dead-letter queue;
 * a launch that failed or a check that failed (within one tick); and the heartbeat, when the
 * tick stops running. The topic's policy lets CloudWatch publish, for these alarms of this
 * account only (a topic policy replaces SNS's default one), and the key lets it encrypt.
 */
export class Observability extends Construct {
  public readonly metrics: StashMetrics;
  public readonly topic: sns.Topic;
  public readonly topicKey: kms.Key;
  public readonly failedRunsAlarm: cw.Alarm;
  public readonly overdueSpecsAlarm: cw.Alarm;
  public readonly dispatchErrorsAlarm: cw.Alarm;
  public readonly deadLettersAlarm: cw.Alarm;
  public readonly launchFailuresAlarm: cw.Alarm;
  public readonly checkFailuresAlarm: cw.Alarm;
  public readonly heartbeatAlarm: cw.Alarm;
  public readonly dashboard: StashDashboard;
  public readonly queries: RunnerQueries;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    if (props.alarmEmail !== undefined && !EmailSchema.safeParse(props.alarmEmail).success) {
      throw new Error(`Observability: alarmEmail "${props.alarmEmail}" is not an e-mail address`);
    }
    this.metrics = new StashMetrics(props.metricsNamespace);
    const stack = Stack.of(this);

    // SNS server-side encryption needs a customer managed key: CloudWatch cannot use the
    // AWS managed alias/aws/sns key to publish alarms.
    this.topicKey = new kms.Key(this, 'TopicKey', { description: 'Stash alarm topic encryption', enableKeyRotation: true });
    this.topicKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    // Control Tower's CT.KMS.PR.3: only AWS services may create grants on the key.
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'GrantsForAwsServicesOnly',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
      }),
    );
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

    const tick = Duration.minutes(props.tickMinutes ?? 1);
    this.launchFailuresAlarm = new StashAlarm(this, 'LaunchFailures', {
      topic,
      metric: this.metrics.metric('LaunchesFailed', 'Sum', tick),
      description: 'A run could not be launched (its secret is missing or lacks keys, RunTask refused, a volume the stack does not allow). The dispatcher\'s log line names the spec and the reason; so does status/<name>.json.',
    });
    this.checkFailuresAlarm = new StashAlarm(this, 'CheckFailures', {
      topic,
      metric: this.metrics.metric('ChecksFailed', 'Sum', tick),
      description: 'A repository check failed: the repository may be damaged. The record function\'s log line names the spec and the reason; run restic check on it.',
    });
    this.heartbeatAlarm = new HeartbeatAlarm(this, 'Heartbeat', {
      topic,
      metric: this.metrics.metric('Ticks', 'Sum', tick),
      description: 'The dispatcher has not completed a tick for 3 ticks: no backup starts. Check the tick rule (enabled?), the dispatch function\'s errors and throttles, and its log group.',
    });
    const alarms = [
      this.failedRunsAlarm,
      this.overdueSpecsAlarm,
      this.dispatchErrorsAlarm,
      this.deadLettersAlarm,
      this.launchFailuresAlarm,
      this.checkFailuresAlarm,
      this.heartbeatAlarm,
    ];
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': alarms.map((a) => a.alarmArn) },
        },
      }),
    );

    const fns = props.functions;
    this.queries = new RunnerQueries(this, 'Queries', {
      runnerLogGroup: props.runnerLogGroup,
      functionLogGroups: [fns.dispatch.logGroup, fns.record.logGroup, fns.validate.logGroup],
      folder: stack.stackName,
    });
    this.dashboard = new StashDashboard(this, 'Dashboard', {
      metrics: this.metrics,
      alarms,
      functions: fns,
      deadLetterQueue: props.deadLetterQueue,
      runnerLogGroup: props.runnerLogGroup,
      failedRunsQuery: this.queries.failedRuns.queryString,
      dashboardName: props.dashboardName,
    });
  }
}
