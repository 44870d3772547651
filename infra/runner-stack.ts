import { Annotations, type CfnElement, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Alarms } from './alarms';
import { RunnersDashboard } from './dashboard';
import { GitHubSecrets } from './github-secrets';
import { JobLedger } from './job-ledger';
import { Launcher, OverflowQueue } from './overflow-launcher';
import { RunnerCapacity } from './runner-capacity';
import { RunnerConfigBucket } from './runner-config-bucket';
import type { RunnerTaskScope } from './runner-permissions';
import { capacityGroups, runnerProfilesVariable } from './runner-profiles';
import { RunnerTask } from './runner-task';
import type { InfraSettings } from './settings';
import { Reconciler, RedeliverySweep } from './sweeps';
import { PartTransparentIds } from './system-part';
import { WebhookApi } from './webhook-api';

export { LAUNCHER_BATCH_SIZE } from './overflow-launcher';

export interface RunnerStackProps extends StackProps {
  readonly settings: InfraSettings;
  /** Where the esbuild output is (default: the project's `dist/`). */
  readonly distDir?: string;
}

/**
 * The whole system, one part each: the GitHub secrets, the runner configs bucket, the runner task
 * (the seed's roles, a task definition per profile), the capacity, the job ledger, the overflow
 * queue, the webhook behind an HTTP API, the launcher, the reconciler and the redelivery sweep (each
 * when its settings allow), the dashboard and the alarms. Each part owns its permissions, cdk-nag
 * acknowledgements, outputs and the alarms it asks for; the stack only wires them together.
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
    // The functions' GitHub credentials, in every mode: they register each runner (JIT) or mint its
    // registration token (token), so no task reads an admin token. Token registration keeps the
    // seed's secret, now read by the functions alone (or the GitHub credentials of the sweep).
    const credentials = secrets.jitCredentials ?? secrets.githubAuth ?? secrets.registrationToken;
    if (credentials === undefined) throw new Error('no GitHub credentials secret for the functions');
    const configs = new RunnerConfigBucket(this, 'RunnerConfigs');
    const runner = new RunnerTask(this, 'Runner', { settings, configs });
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
      GITHUB_AUTH_SECRET_ARN: credentials.secretArn,
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
      jitCredentials: credentials,
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
      jitCredentials: credentials,
      placement,
    });

    // The reconciler also deletes each config once its task runs: in every registration mode.
    const reconciler = new Reconciler(this, 'ReaperSweep', {
      environment: { ...environment, ...settings.reconcilerEnvironment },
      tasks,
      ledger,
      configs,
      credentials,
      placement,
    });
    configs.writableOnlyBy(
      [webhook.webhook.role, launcher.launcher.role, reconciler.fn.role].map((r) => r.roleArn),
    );
    // The redelivery sweep needs the webhook's id, known once the operator has created the webhook.
    const redeliver =
      settings.redeliverEnvironment === undefined || secrets.githubAuth === undefined
        ? undefined
        : new RedeliverySweep(this, 'RedeliverSweep', {
            environment: settings.redeliverEnvironment,
            credentials: secrets.githubAuth,
            placement,
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
        ...reconciler.alarms,
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
