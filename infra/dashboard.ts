import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { METRIC, type MetricName, runnerMetric, SERVICE } from './runner-metrics';
import { SystemPart } from './system-part';

/**
 * The operator's one page: time to runner (from the ledger: queued → task RUNNING, queued → job
 * started, p50 and p95, as the webhook and the reconciler publish them), and the job counts.
 */
export class RunnersDashboard extends SystemPart {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: { readonly name: string }) {
    super(scope, id);
    const period = Duration.minutes(5);
    const percentiles = (metricName: MetricName) =>
      (['webhook', 'reconciler'] as const).flatMap((service) =>
        ['p50', 'p95'].map((statistic) =>
          runnerMetric(metricName, service, {
            statistic,
            period,
            label: `${statistic} (${SERVICE[service]})`,
          }),
        ),
      );
    const counts = (metricName: MetricName, services: readonly (keyof typeof SERVICE)[]) =>
      new cloudwatch.GraphWidget({
        title: metricName,
        width: 8,
        left: services.map((service) =>
          runnerMetric(metricName, service, { period, label: SERVICE[service] }),
        ),
      });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.name,
      defaultInterval: Duration.hours(24),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Time from queued to task RUNNING (ms)',
        width: 12,
        left: percentiles(METRIC.timeToTaskRunning),
      }),
      new cloudwatch.GraphWidget({
        title: 'Time from queued to job started (ms)',
        width: 12,
        left: percentiles(METRIC.timeToJobStarted),
      }),
    );
    this.dashboard.addWidgets(
      counts(METRIC.served, ['webhook', 'launcher', 'reconciler']),
      counts(METRIC.queued, ['webhook']),
      counts(METRIC.stuck, ['reconciler']),
    );
    this.dashboard.addWidgets(
      counts(METRIC.runnersStopped, ['reconciler']),
      counts(METRIC.setupErrors, ['webhook', 'launcher']),
      counts(METRIC.relaunched, ['reconciler']),
    );
  }
}
