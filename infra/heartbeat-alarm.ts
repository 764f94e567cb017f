import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/** Properties of {@link HeartbeatAlarm}. */
export interface HeartbeatAlarmProps {
  /** Something that happens once a period while all is well (a completed tick). */
  readonly metric: cw.IMetric;
  /** What stopped and where to look, as the notification says it. */
  readonly description: string;
  /** Where the alarm and its return to OK are sent. */
  readonly topic: sns.ITopic;
  /**
   * Periods in a row without the metric before the alarm fires: more than one, so one
   * late or skipped tick is not an alarm.
   * @default 3
   */
  readonly periods?: number;
}

/**
 * An alarm on something that should happen every period: it fires when the metric stays
 * below 1 for `periods` periods in a row, and treats missing data as breaching, since a
 * heartbeat that stopped publishes nothing at all. Notifies the topic on alarm and on OK.
 */
export class HeartbeatAlarm extends cw.Alarm {
  constructor(scope: Construct, id: string, props: HeartbeatAlarmProps) {
    const periods = props.periods ?? 3;
    if (!Number.isInteger(periods) || periods < 1) throw new Error(`HeartbeatAlarm ${id}: periods ${periods} must be a whole number, at least 1`);
    super(scope, id, {
      metric: props.metric,
      alarmDescription: props.description,
      threshold: 1,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      comparisonOperator: cw.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cw.TreatMissingData.BREACHING,
    });
    const notify = new cwActions.SnsAction(props.topic);
    this.addAlarmAction(notify);
    this.addOkAction(notify);
  }
}
