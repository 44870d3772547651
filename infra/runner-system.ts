import { Annotations, CfnOutput, Stack, Tags } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { TEMPLATE_DEFAULTS } from '../shared/defaults';
import { Alarms } from './alarms';
import { CapacityAccess, CapacityFunction } from './capacity-function';
import { RunnersDashboard } from './dashboard';
import { GitHubSecrets } from './github-secrets';
import { InstanceLedger } from './instance-ledger';
import { JobLedger } from './job-ledger';
import { Launcher, OverflowQueue } from './overflow-launcher';
import { capacityGroupsVariable, RunnerCapacity } from './runner-capacity';
import { RunnerConfigBucket } from './runner-config-bucket';
import { RunnerImageBuild } from './runner-image-build';
import type { RunnerTaskScope } from './runner-permissions';
import { capacityGroups, runnerProfilesVariable } from './runner-profiles';
import { RunnerTask } from './runner-task';
import { logGroupArn } from './seed-documents';
import type { InfraSettings } from './settings';
import { SetupPage } from './setup-page';
import { HookRangesSweep, Reconciler, RedeliverySweep } from './sweeps';
import { WebhookApi } from './webhook-api';
import { WebhookFirewall } from './webhook-firewall';

/**
 * The runner group template of organisation or enterprise runners when one group serves every
 * repository (it names no `<detail_repo_name>`) and the operator has not said so
 * (`runnerGroupShared`); undefined otherwise. Repository runners have no groups.
 */
function sharedRunnerGroup(environment: Readonly<Record<string, string>>): string | undefined {
  const scope = environment.RUNNER_SCOPE ?? 'repo';
  const template = environment.RUNNER_GROUP_TEMPLATE ?? TEMPLATE_DEFAULTS.group;
  if (scope === 'repo' || template.includes('<detail_repo_name>')) return undefined;
  return environment.RUNNER_GROUP_SHARED === 'true' ? undefined : template;
}

export interface RunnerSystemProps {
  readonly settings: InfraSettings;
  /** Where the esbuild output is (default: the package's `dist/`). */
  readonly distDir?: string | undefined;
}

/** What a user of the system needs of it: where GitHub delivers, the secrets, the cluster. */
export interface RunnerSystem {
  /** The URL GitHub delivers `workflow_job` to: the App's or the organisation webhook's URL. */
  readonly webhookUrl: string;
  /** The webhook's shared secret (generated): the App's or the organisation webhook's Secret. */
  readonly webhookSecret: secretsmanager.Secret;
  /**
   * The GitHub credentials the functions read (the setup page stores the App's there): the
   * `githubAuthSecretName` secret, or with `registration=token` the registration-token secret.
   */
  readonly githubCredentials: secretsmanager.Secret;
  /** The setup page (`https://…/github/setup`); undefined with `setupPage=false`. */
  readonly setupUrl: string | undefined;
  /** The setup page's one-time secret; undefined with `setupPage=false`. */
  readonly setupSecret: secretsmanager.Secret | undefined;
  /** A shell command that prints the one-time setup link; undefined with `setupPage=false`. */
  readonly setupLinkCommand: string | undefined;
  /** The ECS cluster the runner tasks run in (the stack's own, or `clusterName`). */
  readonly clusterName: string;
  readonly clusterArn: string;
  /** The capacity provider of the default profile. */
  readonly capacityProviderName: string;
  /** The runner image repository (the stack's builds push there). */
  readonly runnerRepository: ecr.Repository;
  /** The job ledger (`npm run status` reads it). */
  readonly jobsTable: dynamodb.Table;
}

/** The stacks that hold a runner system: one each. */
const hosts = new WeakSet<Stack>();

/**
 * The whole system, one part each, added to `scope`: the GitHub secrets, the runner configs bucket,
 * the runner task (the seed's roles, a task definition per profile), the capacity, the job ledger,
 * with owned capacity the instance ledger and the capacity function, the overflow queue, the webhook
 * behind a REST API and its WAF web ACL (with the hourly refresh of GitHub's hook ranges), the
 * launcher, the reconciler and the redelivery sweep (each when its settings allow), the dashboard
 * and the alarms. Each part owns its permissions, cdk-nag acknowledgements, outputs and the alarms it
 * asks for; this only wires them together, from settings already parsed.
 *
 * The standalone app's {@link RunnerStack} is the scope itself, so the parts' paths, and what CDK
 * derives from them (logical ids, the ids of the permissions it adds, the VPC's Name tag), stay
 * what they were before the system became a construct; `EcsGitHubRunners` is the scope in a
 * user's stack. One system per stack: its physical names derive from the stack's name (or
 * `namePrefix`), and its outputs keep their plain names (`WebhookUrl`, `SetupLinkCommand`) in any
 * stack, for the doctor, `npm run status` and the setup page, which read them by name.
 */
export function addRunnerSystem(scope: Construct, props: RunnerSystemProps): RunnerSystem {
  const { settings } = props;
  const stack = Stack.of(scope);
  if (hosts.has(stack)) {
    throw new Error(
      `${scope.node.path}: stack ${stack.stackName} already has its runner system; one per stack (its physical names and outputs derive from the stack's): put the second in a stack of its own`,
    );
  }
  hosts.add(stack);
  const placement = {
    logRetention: settings.logRetentionDays,
    ...(props.distDir !== undefined && { distDir: props.distDir }),
  };
  for (const [key, value] of Object.entries({ ...settings.tags, Env: settings.targetEnv })) {
    Tags.of(scope).add(key, value);
  }

  const secrets = new GitHubSecrets(scope, 'Secrets', settings);
  // The functions' GitHub credentials, in every mode: they register each runner (JIT) or mint its
  // registration token (token), so no task reads an admin token. Token registration keeps the
  // seed's secret, now read by the functions alone (or the GitHub credentials of the sweep).
  const credentials = secrets.jitCredentials ?? secrets.githubAuth ?? secrets.registrationToken;
  if (credentials === undefined) throw new Error('no GitHub credentials secret for the functions');
  const configs = new RunnerConfigBucket(scope, 'RunnerConfigs');
  const runner = new RunnerTask(scope, 'Runner', { settings, configs });
  const capacity = new RunnerCapacity(scope, 'Capacity', {
    settings: settings.capacity,
    targetEnv: settings.targetEnv,
    groups: settings.capacity.kind === 'new' ? capacityGroups(settings.profiles, settings.capacity) : [],
    targetCapacityPercent: settings.targetCapacityPercent,
    profiles: settings.profiles,
    image: {
      uri: runner.image,
      repository: settings.imageUri === undefined ? runner.repository : undefined,
      ...(settings.imageBuild !== undefined && { parameterPrefix: settings.imageBuild.parameterPrefix }),
    },
    runnerLogGroupArn: logGroupArn(stack, settings.names.logGroupName),
  });
  const ledger = new JobLedger(scope, 'JobLedger');
  // Owned capacity (a cluster of our own, capacityMode=owned): the instance ledger and the capacity function.
  const instances = capacity.owned ? new InstanceLedger(scope, 'InstanceLedger') : undefined;
  const tasks: RunnerTaskScope = {
    partition: stack.partition,
    region: stack.region,
    account: stack.account,
    clusterName: capacity.clusterName,
    clusterArn: capacity.clusterArn,
    taskFamilies: runner.families,
    taskRoleArn: runner.taskRole.attrArn,
    executionRoleArn: runner.executionRole.attrArn,
  };

  // The functions' shared settings (README's configuration table): the webhook's, the launcher's
  // and the reconciler's environments are this one, plus what each alone uses.
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
    ...(instances !== undefined &&
      settings.capacity.kind === 'new' && {
        INSTANCES_TABLE: instances.table.tableName,
        CAPACITY_GROUPS: capacityGroupsVariable(capacity.groups),
        CAPACITY_MAX_INSTANCES: String(settings.capacity.maxInstancesTotal),
      }),
  };
  // The webhook, the launcher and the reconciler ask the capacity function for instances: they
  // are made first (see CapacityAccess), the function after them.
  const capacityAccess =
    instances === undefined
      ? undefined
      : new CapacityAccess(scope, 'CapacityQueue', { stackName: stack.stackName, instances });

  const overflow = new OverflowQueue(scope, 'OverflowQueue', {
    maxReceiveCount: settings.overflowMaxReceiveCount,
  });
  const webhook = new WebhookApi(scope, 'Webhook', {
    environment,
    settings,
    webhookSecret: secrets.webhookSecret,
    jitCredentials: credentials,
    overflowQueue: overflow.queue,
    ledger,
    configs,
    tasks,
    capacity: capacityAccess,
    placement,
  });
  // GitHub's App manifest flow in a browser: it stores the App's credentials in the two secrets.
  const setup = settings.setupPage
    ? new SetupPage(scope, 'SetupPage', {
        settings,
        credentials,
        webhookSecret: secrets.webhookSecret,
        webhookUrl: webhook.url,
        placement,
      })
    : undefined;
  const firewall = new WebhookFirewall(scope, 'WebhookFirewall', {
    settings: settings.webhookFirewall,
    stageArn: webhook.api.deploymentStage.stageArn,
  });
  // GitHub's ranges change now and then: refreshed from its meta API (the operator's list is not).
  const hookRanges =
    settings.webhookFirewall.sources.kind === 'github' && firewall.ipSets !== undefined
      ? new HookRangesSweep(scope, 'HookRangesSweep', { ipSets: firewall.ipSets, placement })
      : undefined;
  const launcher = new Launcher(scope, 'OverflowLauncher', {
    environment,
    overflow,
    ledger,
    configs,
    tasks,
    jitCredentials: credentials,
    capacity: capacityAccess,
    placement,
  });

  // The reconciler also deletes each config once its task runs: in every registration mode.
  const reconciler = new Reconciler(scope, 'Reconciler', {
    environment: { ...environment, ...settings.reconcilerEnvironment },
    tasks,
    ledger,
    configs,
    credentials,
    capacity: capacityAccess,
    placement,
  });
  const capacityFunction =
    capacityAccess === undefined
      ? undefined
      : new CapacityFunction(scope, 'CapacityFunction', {
          environment,
          tasks,
          groups: capacity.groups,
          ledger,
          access: capacityAccess,
          configs,
          credentials,
          overflowQueue: overflow.queue,
          placement,
        });
  // A standby's presigned read of its config is the capacity function's own.
  if (capacityFunction !== undefined) configs.alsoReadableBy(capacityFunction.fn.role.roleArn);
  // The functions that launch runner tasks: they alone write configs and read the GitHub credentials.
  const functionRoles = [
    webhook.webhook.role,
    launcher.launcher.role,
    reconciler.fn.role,
    ...(capacityFunction === undefined ? [] : [capacityFunction.fn.role]),
  ].map((r) => r.roleArn);
  configs.writableOnlyBy(functionRoles);
  // The redelivery sweep reads the hook it is given, or with no hook named the GitHub App's own
  // (the credentials decide at run time).
  const redeliver =
    settings.redeliverEnvironment === undefined || secrets.githubAuth === undefined
      ? undefined
      : new RedeliverySweep(scope, 'RedeliverSweep', {
          environment: settings.redeliverEnvironment,
          credentials: secrets.githubAuth,
          placement,
        });
  if (redeliver !== undefined && !hookNamed(settings.redeliverEnvironment)) {
    Annotations.of(scope).addWarningV2(
      'runners:redelivery-sweep-app-hook',
      "The redelivery sweep reads the GitHub App's own webhook (no hook named): with a token, or with an organisation webhook, set githubOrg and githubHookId once the webhook exists (docs/deploy.md).",
    );
  }
  if (redeliver === undefined) {
    Annotations.of(scope).addWarningV2(
      'runners:no-redelivery-sweep',
      'No redelivery sweep: deliveries GitHub failed to deliver (a 5xx, a timeout) are not redelivered. Set githubHook=app, or githubOrg and githubHookId once the webhook exists (docs/infrastructure.md).',
    );
  }
  const sharedGroup = sharedRunnerGroup(settings.webhookEnvironment);
  if (sharedGroup !== undefined) {
    Annotations.of(scope).addWarningV2(
      'runners:shared-runner-group',
      `Shared runner group: with RUNNER_SCOPE=${settings.webhookEnvironment.RUNNER_SCOPE} the group "${sharedGroup}" names no repository, so every repository the group admits (all of them, for a group the functions create) can send a job to a runner started for another repository's job. Put <detail_repo_name> in runnerGroupTemplate for a group per repository, or set runnerGroupShared=true to accept a shared group (docs/security.md).`,
    );
  }
  // Each credential secret is readable by the roles granted it above and by no one else: the
  // functions' credentials by the functions that launch tasks, the App's also by the redelivery sweep.
  // The setup page's readiness panel checks the credentials it stored: a reader, no config writer.
  const credentialReaders = [...functionRoles, ...(setup === undefined ? [] : [setup.fn.role.roleArn])];
  const sweepRoles = redeliver === undefined ? [] : [redeliver.fn.role.roleArn];
  if (secrets.githubAuth !== undefined) {
    secrets.onlyReadBy(secrets.githubAuth, [
      ...(credentials === secrets.githubAuth ? credentialReaders : []),
      ...sweepRoles,
    ]);
  }
  if (secrets.registrationToken !== undefined) {
    secrets.onlyReadBy(
      secrets.registrationToken,
      credentials === secrets.registrationToken ? credentialReaders : [],
    );
  }
  // The runner image built in AWS, unless the operator names one (imageUri, imageTag).
  const imageBuild =
    settings.imageBuild === undefined
      ? undefined
      : new RunnerImageBuild(scope, 'RunnerImage', {
          settings: settings.imageBuild,
          repository: runner.repository,
          families: runner.profiles.map((task) => ({
            architecture: task.profile.architecture,
            family: task.family,
            container: task.containerName,
          })),
          taskRoleArn: runner.taskRole.attrArn,
          executionRoleArn: runner.executionRole.attrArn,
          placement,
        });
  // A task definition reads its image's parameter at deploy: after the build has written it.
  if (imageBuild !== undefined) {
    for (const task of runner.profiles)
      task.definition.node.addDependency(imageBuild.imageReady(task.profile.architecture));
  }
  new RunnersDashboard(scope, 'Dashboard', {
    name: settings.names.dashboardName,
    ownedCapacity: capacityFunction !== undefined,
  });
  new Alarms(scope, 'Alarms', {
    topicArn: settings.alarmTopicArn,
    email: settings.alarmEmail,
    definitions: [
      ...webhook.alarms,
      ...launcher.alarms,
      ...overflow.alarms,
      ...reconciler.alarms,
      ...(redeliver?.alarms ?? []),
      ...(hookRanges?.alarms ?? []),
      ...(imageBuild?.alarms ?? []),
      ...(capacityFunction?.alarms ?? []),
    ],
  });

  // The outputs keep their names in any stack (the standalone stack gives them these anyway).
  for (const output of scope.node.findAll()) {
    if (output instanceof CfnOutput) output.overrideLogicalId(output.node.id);
  }
  return {
    webhookUrl: webhook.url,
    webhookSecret: secrets.webhookSecret,
    githubCredentials: credentials,
    setupUrl: setup?.url,
    setupSecret: setup?.setupSecret,
    setupLinkCommand: setup?.linkCommand,
    clusterName: capacity.clusterName,
    clusterArn: capacity.clusterArn,
    capacityProviderName: capacity.capacityProviderName,
    runnerRepository: runner.repository,
    jobsTable: ledger.table,
  };
}

/** Whether the sweep's environment names its hook (`GITHUB_HOOK=app`, or an organisation hook id). */
const hookNamed = (environment: Readonly<Record<string, string>> | undefined): boolean =>
  environment?.GITHUB_HOOK !== undefined || environment?.GITHUB_HOOK_ID !== undefined;
