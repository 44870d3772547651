import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { WEBHOOK_METRICS } from '../shared/defaults';
import { CAPACITY_DIMENSIONS } from '../shared/metrics';
import { METRIC, type MetricName, runnerMetric, SERVICE } from './runner-metrics';
import { SystemPart } from './system-part';

/**
 * The operator's one page: time to runner (from the ledger: queued → task RUNNING, queued → job
 * started, p50 and p95, as the webhook and the reconciler publish them), and the job counts. With
 * owned capacity also its own row: queued → instance ready and → job started per profile and
 * path (hot, warm, cold pool), idle instance minutes, jobs per instance, instances launched and
 * terminated.
 */
export class RunnersDashboard extends SystemPart {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(
    scope: Construct,
    id: string,
    props: { readonly name: string; readonly ownedCapacity: boolean },
  ) {
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
    if (props.ownedCapacity) this.addOwnedCapacity(period);
  }

  /**
   * Owned capacity's metrics, found by search: their `Profile` and `Path` values (and whichever
   * function publishes them, its `service`) are known only once jobs ran.
   */
  private addOwnedCapacity(period: Duration): void {
    const namespace = WEBHOOK_METRICS.namespace;
    const { profile, path } = CAPACITY_DIMENSIONS;
    const seconds = period.toSeconds();
    const timings = (title: string, metricName: MetricName) =>
      new cloudwatch.GraphWidget({
        title,
        width: 12,
        left: ['p50', 'p95'].map(
          (statistic) =>
            new cloudwatch.SearchExpression({
              expression: `SEARCH('{${namespace},${path},${profile},service} MetricName="${metricName}"', '${statistic}', ${seconds})`,
              label: statistic,
              period,
            }),
        ),
      });
    const totals = (metricName: MetricName, statistic: string) =>
      new cloudwatch.GraphWidget({
        title: `${metricName} (${statistic})`,
        width: 6,
        left: [
          new cloudwatch.SearchExpression({
            expression: `SEARCH('${namespace} MetricName="${metricName}"', '${statistic}', ${seconds})`,
            label: '',
            period,
          }),
        ],
      });
    this.dashboard.addWidgets(
      timings(
        'Owned capacity: queued to instance ready (ms), per profile and path',
        METRIC.timeToInstanceReady,
      ),
      timings('Owned capacity: queued to job started (ms), per profile and path', METRIC.timeToJobStarted),
    );
    this.dashboard.addWidgets(
      totals(METRIC.idleInstanceMinutes, 'Sum'),
      totals(METRIC.jobsPerInstance, 'Average'),
      totals(METRIC.instancesLaunched, 'Sum'),
      totals(METRIC.instancesTerminated, 'Sum'),
    );
  }
}
