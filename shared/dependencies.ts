import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createQueueAsk } from './capacity/ask-capacity';
import { createDynamoDbInstanceLedger } from './capacity/dynamodb-instance-ledger';
import { createInstanceClaims, type InstanceClaims } from './capacity/instance-claims';
import { createMemoryInstanceLedger, type InstanceLedger } from './capacity/instance-ledger';
import { type Config, type Env, parseConfig, readAllowedSources, readWebhookSecretSetting } from './config';
import { WEBHOOK_METRICS } from './defaults';
import { type EcsApi, lazyEcsApi } from './ecs/ecs-api';
import { createEcsLauncher } from './ecs/ecs-launcher';
import { createDryRunLauncher, type RunnerLauncher } from './ecs/launcher';
import {
  createPrintingRunnerConfigStore,
  createS3RunnerConfigStore,
  type RunnerConfigStore,
} from './ecs/runner-config-store';
import { createEcsRunnerTasks, type RunnerTasks } from './ecs/runner-tasks';
import { ConfigError } from './errors';
import { createDryRunGitHub } from './github/dry-run-github';
import { createGitHubRunners } from './github/github-runners';
import { createOctokitProvider } from './github/octokit';
import type { GitHubRunners } from './github/ports';
import { createDynamoDbJobLedger } from './jobs/dynamodb-job-ledger';
import { createMemoryJobLedger, type JobLedger } from './jobs/job-ledger';
import { createSqsOverflowQueue, type OverflowQueue } from './queue/overflow-queue';
import { createWebhookSecrets, type FetchSecret, type WebhookSecrets } from './secrets/webhook-secrets';
import type { WebhookDependencies } from './webhook/handle-webhook';

/** What every function's core needs, built once per cold start by {@link createDependencies}. */
export interface Dependencies {
  readonly config: Config;
  readonly ledger: JobLedger;
  readonly launcher: RunnerLauncher;
  /** GitHub's runner and job APIs; undefined without GitHub credentials. */
  readonly github: GitHubRunners | undefined;
  /** Where a runner's credential (JIT config or registration token) waits for its task. */
  readonly configStore: RunnerConfigStore | undefined;
  /** Where jobs go that could not get a task in time; undefined: they are answered 503. */
  readonly overflow: OverflowQueue | undefined;
  readonly tasks: RunnerTasks;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
  /** GitHub HTTP requests made since the cold start (the reconciler's budget reads it). */
  readonly githubRequests: () => number;
  /** Owned capacity (`CAPACITY_GROUPS`): the instance ledger and the claims a launch makes on it. */
  readonly instances: InstanceLedger | undefined;
  readonly claims: InstanceClaims | undefined;
}

export interface DependencyOptions {
  readonly env?: Env;
  /** Where the dry run prints what it would do. */
  readonly print?: (line: string) => void;
  readonly fetchSecret?: FetchSecret;
  readonly now?: () => number;
  /** Replace any built dependency (tests). */
  readonly overrides?: Partial<Dependencies>;
  /**
   * How a job asks for an instance without `CAPACITY_QUEUE_URL` (the capacity function in
   * process: `npm start`, tests); default: only logged, the next capacity round sees the job.
   */
  readonly askCapacity?: (group: string) => Promise<void>;
}

/**
 * Builds the shared dependencies once per cold start. The configuration is validated here, so a
 * wrong environment fails the cold start with every problem listed. AWS clients are not built
 * here: they load on the first call that needs one.
 */
export function createDependencies(options: DependencyOptions = {}): Dependencies {
  const env = options.env ?? process.env;
  return build(parseConfig(env), env, options);
}

/** The webhook's dependencies: the shared ones and its secrets; every configuration problem in one error. */
export function createWebhookDependencies(
  options: DependencyOptions & { readonly secrets?: WebhookSecrets } = {},
): Dependencies & WebhookDependencies {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  let config: Config | undefined;
  try {
    config = parseConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const secretSetting = readWebhookSecretSetting(env, problems);
  const allowedSources = readAllowedSources(env, problems);
  if (problems.length > 0 || config === undefined) throw new ConfigError(problems);
  return {
    ...build(config, env, options),
    secrets: options.secrets ?? createWebhookSecrets(secretSetting, options.fetchSecret),
    allowedSources,
  };
}

function build(config: Config, env: Env, options: DependencyOptions): Dependencies {
  const overrides = options.overrides ?? {};
  const now = options.now ?? Date.now;
  // One namespace for every function; the service dimension tells them apart (the alarms use both).
  const serviceName = env.POWERTOOLS_SERVICE_NAME ?? WEBHOOK_METRICS.service;
  const logger = overrides.logger ?? new Logger({ serviceName });
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  let githubRequests = 0;
  const printing = config.dryRun && !config.dryRunRegister;
  const github =
    'github' in overrides
      ? overrides.github
      : printing
        ? createDryRunGitHub(print)
        : config.github &&
          createGitHubRunners(
            createOctokitProvider({
              settings: config.github,
              ...(options.fetchSecret && { fetchSecret: options.fetchSecret }),
              log: { warn: (message) => logger.warn(message) },
              onRequest: () => {
                githubRequests++;
              },
            }),
          );
  const ecsApi: () => Promise<EcsApi> = lazyEcsApi();
  const configStore =
    'configStore' in overrides
      ? overrides.configStore
      : config.runnerConfigBucket !== undefined && !printing
        ? createS3RunnerConfigStore(config.runnerConfigBucket)
        : createPrintingRunnerConfigStore(print);
  const overflow =
    'overflow' in overrides
      ? overrides.overflow
      : config.overflowQueueUrl === undefined
        ? undefined
        : createSqsOverflowQueue(config.overflowQueueUrl);
  const instances =
    'instances' in overrides
      ? overrides.instances
      : config.capacity === undefined
        ? undefined
        : config.instancesTable === undefined
          ? createMemoryInstanceLedger()
          : createDynamoDbInstanceLedger(
              config.instancesTable,
              config.capacity.groups.map((group) => group.name),
            );
  const ask =
    config.capacityQueueUrl !== undefined
      ? createQueueAsk(config.capacityQueueUrl)
      : (options.askCapacity ??
        (async (group: string) =>
          logger.info('an instance is wanted; no capacity function to ask', { group })));
  const claims =
    'claims' in overrides
      ? overrides.claims
      : config.capacity === undefined || instances === undefined
        ? undefined
        : createInstanceClaims({
            settings: config.capacity,
            ledger: instances,
            now,
            ask,
            warn: (message, detail) => logger.warn(message, detail),
          });
  return {
    config,
    instances,
    claims,
    github,
    githubRequests: overrides.githubRequests ?? (() => githubRequests),
    configStore,
    overflow,
    logger,
    now,
    ledger:
      overrides.ledger ??
      (config.jobsTable === undefined ? createMemoryJobLedger() : createDynamoDbJobLedger(config.jobsTable)),
    tasks: overrides.tasks ?? createEcsRunnerTasks(config, ecsApi),
    metrics: overrides.metrics ?? new Metrics({ namespace: WEBHOOK_METRICS.namespace, serviceName }),
    launcher:
      overrides.launcher ??
      (config.dryRun ? createDryRunLauncher(print) : createEcsLauncher({ ecs: ecsApi, now })),
  };
}
