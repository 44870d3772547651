import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { type Env, parseConfig } from './config';
import { WEBHOOK_METRICS } from './defaults';
import { createEcsLauncher, lazyEcsApi } from './ecs/ecs-launcher';
import { createDryRunLauncher, type RunnerLauncher } from './ecs/launcher';
import { createGitHubRunners } from './github/github-runners';
import { createOctokitProvider } from './github/octokit';
import type { GitHubRunners } from './github/ports';
import { createSqsOverflowQueue, type OverflowQueue } from './queue/overflow-queue';
import { createReaper, type Reaper } from './reaper/reaper';
import { createEcsRunnerTasks } from './reaper/runner-tasks';
import { createWebhookSecrets, type FetchSecret, type WebhookSecrets } from './secrets/webhook-secrets';
import type { WebhookDependencies } from './webhook/handle-webhook';

export interface DependencyOptions {
  readonly env?: Env;
  /** Where the dry-run launcher prints the request it would send. */
  readonly print?: (line: string) => void;
  readonly launcher?: RunnerLauncher;
  readonly secrets?: WebhookSecrets;
  readonly fetchSecret?: FetchSecret;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
  readonly github?: GitHubRunners;
  readonly overflow?: OverflowQueue;
  readonly reaper?: Reaper;
  /** False for functions that receive no webhooks (launcher, reaper): no webhook secret is required. */
  readonly webhookSecret?: boolean;
}

/**
 * Builds the webhook's dependencies once per cold start. The configuration is validated here,
 * so a wrong environment fails the cold start with every problem listed. AWS clients are not
 * built here: they load on the first delivery that needs one.
 */
export function createDependencies(options: DependencyOptions = {}): WebhookDependencies {
  const env = options.env ?? process.env;
  const config = parseConfig(env, { webhookSecret: options.webhookSecret ?? true });
  // One namespace for every function; the service dimension tells them apart (the alarms use both).
  const serviceName = env.POWERTOOLS_SERVICE_NAME ?? WEBHOOK_METRICS.service;
  const logger = options.logger ?? new Logger({ serviceName });
  const github =
    options.github ??
    (config.github &&
      createGitHubRunners(
        createOctokitProvider({
          settings: config.github,
          ...(options.fetchSecret && { fetchSecret: options.fetchSecret }),
          log: { warn: (message) => logger.warn(message) },
        }),
      ));
  const ecsApi = lazyEcsApi();
  const reaper =
    options.reaper ??
    (github && !config.dryRun
      ? createReaper({
          tasks: createEcsRunnerTasks(config.ecs, ecsApi),
          github,
          idleTimeoutMs: config.runnerIdleTimeoutSeconds * 1000,
          ...(options.now && { now: options.now }),
        })
      : undefined);
  const overflow =
    options.overflow ??
    (config.overflowQueueUrl === undefined ? undefined : createSqsOverflowQueue(config.overflowQueueUrl));
  return {
    config,
    github,
    overflow,
    reaper,
    logger,
    metrics: options.metrics ?? new Metrics({ namespace: WEBHOOK_METRICS.namespace, serviceName }),
    secrets: options.secrets ?? createWebhookSecrets(config.webhookSecret, options.fetchSecret),
    launcher:
      options.launcher ??
      (config.dryRun
        ? createDryRunLauncher(options.print ?? ((line) => process.stdout.write(`${line}\n`)))
        : createEcsLauncher({ ecs: ecsApi, ...(options.now && { now: options.now }) })),
    ...(options.now && { now: options.now }),
  };
}
