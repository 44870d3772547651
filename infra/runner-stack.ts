import { Annotations, type CfnElement, Duration, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { parseConfig } from '../shared/config';
import { parseRedeliverSettings } from '../shared/github/redeliver';
import { wildcardResource } from './acknowledge';
import { Alarms } from './alarms';
import { RunnersDashboard } from './dashboard';
import { GitHubSecrets } from './github-secrets';
import { JobLedger } from './job-ledger';
import { Launcher, OverflowQueue } from './overflow-launcher';
import { RunnerCapacity } from './runner-capacity';
import { RunnerConfigBucket } from './runner-config-bucket';
import { METRIC, runnerMetric } from './runner-metrics';
import {
  describeRunnerTasksStatement,
  launchRunnerStatements,
  launchWildcardFindings,
  type RunnerTaskScope,
  readSecretStatement,
  stopRunnerTasksStatement,
} from './runner-permissions';
import { capacityGroups, runnerProfilesVariable } from './runner-profiles';
import { RunnerTask } from './runner-task';
import { ScheduledSweep } from './scheduled-sweep';
import type { InfraSettings } from './settings';
import { PartTransparentIds } from './system-part';
import { WebhookApi } from './webhook-api';

export { LAUNCHER_BATCH_SIZE } from './overflow-launcher';

export interface RunnerStackProps extends StackProps {
  readonly settings: InfraSettings;
  /** Where the esbuild output is (default: the project's `dist/`). */
  readonly distDir?: string;
}

/** How often the redelivery sweep runs. */
export const SWEEP_RATE = Duration.minutes(5);

/** How often the reconciler (the `reaper` function) looks at every open job. */
export const RECONCILE_RATE = Duration.minutes(1);

/**
 * The whole system in one stack, one part each: the GitHub secrets, the runner task (the seed's
 * roles and task definition), the runner capacity, the overflow queue and its launcher, the
 * webhook behind an HTTP API, the reaper and the redelivery sweep (each when its settings allow),
 * and the alarms. Each part owns its permissions, cdk-nag acknowledgements and outputs.
 */
export class RunnerStack extends Stack {
  private ids: PartTransparentIds | undefined;

  constructor(scope: Construct, id: string, props: RunnerStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const placement = {
      logRetention: settings.logRetentionDays,
      ...(props.distDir !== undefined && { distDir: props.distDir }),
    };
    for (const [key, value] of Object.entries({ ...settings.tags, Env: settings.targetEnv })) {
      Tags.of(this).add(key, value);
    }

    const secrets = new GitHubSecrets(this, 'Secrets', settings);
    const { jitCredentials } = secrets;
    const configs = new RunnerConfigBucket(this, 'RunnerConfigs');
    const runner = new RunnerTask(this, 'Runner', {
      settings,
      registrationToken: secrets.registrationToken,
      configs,
    });
    const capacity = new RunnerCapacity(this, 'Capacity', {
      settings: settings.capacity,
      targetEnv: settings.targetEnv,
      groups: settings.capacity.kind === 'new' ? capacityGroups(settings.profiles, settings.capacity) : [],
      targetCapacityPercent: settings.targetCapacityPercent,
      image: {
        uri: runner.image,
        repository: settings.imageUri === undefined ? runner.repository : undefined,
      },
    });
    const ledger = new JobLedger(this, 'JobLedger');
    const tasks: RunnerTaskScope = {
      partition: this.partition,
      region: this.region,
      account: this.account,
      clusterName: capacity.clusterName,
      clusterArn: capacity.clusterArn,
      taskFamilies: runner.families,
      taskRoleArn: runner.taskRole.attrArn,
      executionRoleArn: runner.executionRole.attrArn,
    };

    // The functions' shared settings (README's configuration table): the webhook's, the launcher's
    // and the reaper's environments are this one, plus what each alone uses.
    const environment: Record<string, string> = {
      ECS_CLUSTER: capacity.clusterName,
      ECS_TASK_DEFINITION: runner.defaultTask.family,
      ECS_CONTAINER_NAME: runner.defaultTask.containerName,
      ECS_CAPACITY_PROVIDER: capacity.capacityProviderName,
      TARGET_ENV: settings.targetEnv,
      RUNNER_REGISTRATION: settings.registration,
      JOBS_TABLE: ledger.table.tableName,
      RUNNER_CONFIG_BUCKET: configs.bucket.bucketName,
      ...(jitCredentials !== undefined && { GITHUB_AUTH_SECRET_ARN: jitCredentials.secretArn }),
      ...settings.webhookEnvironment,
      ...(settings.profilesFromContext && {
        RUNNER_PROFILES: runnerProfilesVariable(runner.profiles, (name) => capacity.providerFor(name)),
      }),
    };

    const overflow = new OverflowQueue(this, 'OverflowQueue', {
      maxReceiveCount: settings.overflowMaxReceiveCount,
    });
    const webhook = new WebhookApi(this, 'Webhook', {
      environment,
      settings,
      webhookSecret: secrets.webhookSecret,
      jitCredentials,
      overflowQueue: overflow.queue,
      ledger,
      configs,
      tasks,
      placement,
    });
    const launcher = new Launcher(this, 'OverflowLauncher', {
      environment,
      overflow,
      ledger,
      configs,
      tasks,
      jitCredentials,
      placement,
    });

    // The reconciler drives each open job of the ledger to its goal; it needs GitHub to tell what
    // a runner does: with JIT registration only.
    const reconciler =
      jitCredentials === undefined
        ? undefined
        : new ScheduledSweep(this, 'ReaperSweep', {
            functionId: 'Reaper',
            name: 'reaper',
            description:
              'Every minute: relaunches the tasks of queued jobs that died, replaces tasks waiting too long for capacity, stops idle runners',
            environment: { ...environment, ...settings.reconcilerEnvironment },
            check: (env) => parseConfig(env, { webhookSecret: false }),
            rate: RECONCILE_RATE,
            // Under the schedule's minute, so runs do not overlap (the ledger makes an overlap safe, not cheap).
            timeout: Duration.seconds(55),
            placement,
            statements: [
              ...launchRunnerStatements(tasks),
              describeRunnerTasksStatement(tasks),
              stopRunnerTasksStatement(tasks),
              ledger.useStatement(),
              configs.writeStatement(),
              readSecretStatement('ReadGitHubCredentials', jitCredentials.secretArn),
            ],
            acknowledged: {
              reason:
                "Task ARNs exist only after RunTask: tagging is scoped to the cluster and to RunTask itself, describing and stopping to the cluster's tasks; ListTasks has no resource and is scoped by ecs:cluster; RunTask takes any revision of the runner family.",
              findings: [...launchWildcardFindings(this, tasks), wildcardResource(this, configs.configsArn)],
            },
            failureMeans:
              'The reconciler failed: jobs whose task died are not relaunched, idle runners are left to their own idle timeout.',
            alarms: [
              {
                id: 'JobsStuck',
                description:
                  'A job has been queued without a live runner task for 3 minutes in a row: read the reconciler log for the job (npm run status shows it).',
                metric: runnerMetric(METRIC.stuck, 'reaper'),
                statistic: 'Maximum',
                period: RECONCILE_RATE,
                evaluationPeriods: 3,
              },
              {
                id: 'LaunchAttemptsExhausted',
                description:
                  'A job got no runner after reconcileMaxAttempts tasks (image, capacity, crash at start): read the stop reasons in the reconciler log.',
                metric: runnerMetric(METRIC.attemptsExhausted, 'reaper'),
              },
            ],
          });

    // The redelivery sweep needs the webhook's id, known once the operator has created the webhook.
    const redeliver =
      settings.redeliverEnvironment === undefined || secrets.githubAuth === undefined
        ? undefined
        : new ScheduledSweep(this, 'RedeliverSweep', {
            functionId: 'Redeliver',
            name: 'redeliver',
            description: 'Every 5 minutes: redelivers the workflow_job deliveries GitHub failed to deliver',
            environment: {
              GITHUB_AUTH_SECRET_ARN: secrets.githubAuth.secretArn,
              ...settings.redeliverEnvironment,
            },
            check: (env) => parseRedeliverSettings(env),
            rate: SWEEP_RATE,
            // Under the schedule's 5 minutes, so sweeps do not overlap; a sweep may wait out a rate limit.
            timeout: Duration.minutes(4),
            placement,
            statements: [readSecretStatement('ReadGitHubCredentials', secrets.githubAuth.secretArn)],
            failureMeans:
              'The redelivery sweep failed (credentials, hook id, GitHub): failed deliveries are not redelivered.',
          });

    if (redeliver === undefined) {
      Annotations.of(this).addWarningV2(
        'runners:no-redelivery-sweep',
        'No redelivery sweep: deliveries GitHub failed to deliver (a 5xx, a timeout) are not redelivered. Set githubHook=app, or githubOrg and githubHookId once the webhook exists (docs/infrastructure.md).',
      );
    }
    new RunnersDashboard(this, 'Dashboard', { name: `${this.stackName}-runners` });
    new Alarms(this, 'Alarms', {
      topicArn: settings.alarmTopicArn,
      email: settings.alarmEmail,
      definitions: [
        ...webhook.alarms,
        ...launcher.alarms,
        ...overflow.alarms,
        ...(reconciler?.alarms ?? []),
        ...(redeliver?.alarms ?? []),
      ],
    });
  }

  /** Parts add no level to logical ids: see {@link PartTransparentIds}. */
  protected override allocateLogicalId(element: CfnElement): string {
    this.ids ??= new PartTransparentIds(this);
    return this.ids.allocate(element);
  }
}
