import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/** Properties of {@link StashAlarm}. */
export interface StashAlarmProps {
  /** What is counted: the alarm fires when it reaches 1 in one period. */
  readonly metric: cw.IMetric;
  /** What happened and where to look, as the notification says it. */
  readonly description: string;
  /** Where the alarm and its return to OK are sent. */
  readonly topic: sns.ITopic;
}

/**
 * An alarm on something that should not happen at all: it fires when its metric reaches 1 in
 * one period, treats missing data as nothing having happened, and notifies the topic on alarm
 * and again on OK.
 */
export class StashAlarm extends cw.Alarm {
  constructor(scope: Construct, id: string, props: StashAlarmProps) {
    super(scope, id, {
      metric: props.metric,
      alarmDescription: props.description,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    const notify = new cwActions.SnsAction(props.topic);
    this.addAlarmAction(notify);
    this.addOkAction(notify);
  }
}
