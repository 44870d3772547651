import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { WEBHOOK_METRICS } from '../shared/defaults';
import { METRIC } from '../shared/metrics';

export { METRIC };

/** The `service` dimension each function publishes its metrics under (Powertools' service name). */
export const SERVICE = {
  webhook: WEBHOOK_METRICS.service,
  launcher: 'github-runners-launcher',
  reconciler: 'github-runners-reconciler',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** One of our functions' EMF metrics, in the `GitHubRunners` namespace. */
export function runnerMetric(
  metricName: MetricName,
  service: keyof typeof SERVICE,
  options: { readonly statistic?: string; readonly period?: Duration; readonly label?: string } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: WEBHOOK_METRICS.namespace,
    metricName,
    dimensionsMap: { service: SERVICE[service] },
    statistic: options.statistic ?? 'Sum',
    period: options.period ?? Duration.minutes(5),
    ...(options.label !== undefined && { label: options.label }),
  });
}
