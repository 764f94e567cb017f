import { Duration } from 'aws-cdk-lib';
import * as cw from 'aws-cdk-lib/aws-cloudwatch';
import { ConfigError } from '../core/errors';

/** The EMF metrics the record and dispatch functions and the runner publish (dimension `service=stash`). */
export const METRIC_NAMES = [
  'BackupSucceeded',
  'BackupFailed',
  'BackupDuration',
  'BytesAdded',
  'SpecsInvalid',
  'LaunchesThrottled',
  'LaunchesFailed',
  'ChecksFailed',
  'OverdueSpecs',
  'Ticks',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** What a metrics namespace must be, as error messages say it. */
export const METRICS_NAMESPACE_RULE = 'a CloudWatch namespace (letters, digits and ._/#:-), not starting with "AWS/"';

/** Whether `namespace` is a custom CloudWatch namespace (see {@link METRICS_NAMESPACE_RULE}). */
export function isMetricsNamespace(namespace: string): boolean {
  return /^[A-Za-z0-9._/#:-]{1,255}$/.test(namespace) && !namespace.startsWith('AWS/');
}

/**
 * Stash's EMF metrics in one CloudWatch namespace, as alarms and the dashboard read them.
 *
 * @example new StashMetrics('Stash').metric('BackupFailed', 'Sum')
 */
export class StashMetrics {
  /**
   * @param namespace the namespace the functions and the runner publish to (their
   *   `POWERTOOLS_METRICS_NAMESPACE`).
   */
  constructor(readonly namespace = 'Stash') {
    if (!isMetricsNamespace(namespace)) {
      throw new ConfigError(`StashMetrics: namespace ${JSON.stringify(namespace)} must be ${METRICS_NAMESPACE_RULE}`);
    }
  }

  /** One of Stash's EMF metrics, with the `service=stash` dimension Powertools adds. */
  public metric(name: MetricName, statistic: string, period: Duration = Duration.minutes(5)): cw.Metric {
    return new cw.Metric({ namespace: this.namespace, metricName: name, dimensionsMap: { service: 'stash' }, statistic, period });
  }
}
