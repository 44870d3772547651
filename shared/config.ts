import { SEED, TEMPLATE_DEFAULTS } from './defaults';
import { ConfigError } from './errors';
import { SAFE_VALUE, templateProblems } from './runner/template';

export type RunnerScope = 'org' | 'repo' | 'enterprise';

/** Where the webhook secret comes from: the environment (local use) or Secrets Manager. */
export type WebhookSecretSetting =
  | { readonly kind: 'plain'; readonly secrets: readonly string[] }
  | { readonly kind: 'secrets-manager'; readonly arn: string };

export interface EcsSettings {
  readonly cluster: string;
  readonly taskDefinition: string;
  readonly containerName: string;
  readonly capacityProvider: string | undefined;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  readonly assignPublicIp: boolean;
}

export interface TemplateSettings {
  readonly labels: readonly string[];
  readonly name: string;
  readonly group: string;
}

/** Where GitHub credentials come from: Secrets Manager (deployed) or `GITHUB_TOKEN` (local use). */
export type GitHubCredentialSetting =
  | { readonly kind: 'secrets-manager'; readonly arn: string }
  | { readonly kind: 'token'; readonly token: string };

export interface GitHubSettings {
  readonly credentials: GitHubCredentialSetting;
  /** `GITHUB_API_URL`: api.github.com, or `https://HOST/api/v3` for GitHub Enterprise Server. */
  readonly apiUrl: string;
}

/** How a runner registers: `jit` (the Lambda makes a one-use config) or `token` (the seed's admin token). */
export type RunnerRegistration = 'jit' | 'token';

/** The whole configuration, parsed and validated once per cold start. */
export interface Config {
  readonly webhookSecret: WebhookSecretSetting;
  readonly dryRun: boolean;
  readonly ecs: EcsSettings;
  readonly targetEnv: string;
  readonly scope: RunnerScope;
  readonly enterprise: string | undefined;
  readonly allowedOrgs: readonly string[];
  readonly allowedRepos: readonly string[];
  readonly templates: TemplateSettings;
  /** Milliseconds from receipt within which the webhook must have its answer (GitHub gives 10 s). */
  readonly launchDeadlineMs: number;
  /** GitHub API access; undefined when no credentials are configured. */
  readonly github: GitHubSettings | undefined;
  readonly registration: RunnerRegistration;
  /** Create a missing runner group (JIT registration). */
  readonly runnerGroupCreate: boolean;
  /** Whether a runner group we create may serve public repositories. */
  readonly runnerGroupPublic: boolean;
  /** Deliveries whose job was queued longer ago than this (seconds) are checked against GitHub first. */
  readonly jobQueuedCheckAfterSeconds: number;
  /** SQS queue for jobs the webhook could not start a task for in time; undefined: answer 503. */
  readonly overflowQueueUrl: string | undefined;
  /** A runner task up this long without work is stopped by the reaper (seconds). */
  readonly runnerIdleTimeoutSeconds: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

const SCOPES: readonly RunnerScope[] = ['org', 'repo', 'enterprise'];

/**
 * Reads the configuration from the environment. Every problem is collected and reported
 * together in one {@link ConfigError}, so an operator fixes them in one deploy.
 */
export function parseConfig(env: Env, options: { readonly webhookSecret?: boolean } = {}): Config {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const list = (name: string): string[] =>
    (text(name) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  const bool = (name: string): boolean => {
    const value = text(name)?.toLowerCase();
    if (value === undefined || value === 'false' || value === '0') return false;
    if (value === 'true' || value === '1') return true;
    problems.push(`${name} must be true or false (got "${value}")`);
    return false;
  };

  // The launcher and reaper share this configuration but receive no webhooks.
  const webhookSecret: WebhookSecretSetting =
    options.webhookSecret === false ? { kind: 'plain', secrets: [] } : readWebhookSecret(text, problems);
  const dryRun = bool('DRY_RUN');

  const cluster = text('ECS_CLUSTER');
  if (cluster === undefined && !dryRun) {
    problems.push('ECS_CLUSTER is required (the cluster name or ARN), unless DRY_RUN=true');
  }

  const targetEnv = text('TARGET_ENV') ?? SEED.targetEnv;
  if (!SAFE_VALUE.test(targetEnv))
    problems.push(`TARGET_ENV may only use [A-Za-z0-9._-] (got "${targetEnv}")`);

  const scopeText = text('RUNNER_SCOPE') ?? 'org';
  const scope = SCOPES.find((candidate) => candidate === scopeText);
  if (scope === undefined)
    problems.push(`RUNNER_SCOPE must be one of ${SCOPES.join(', ')} (got "${scopeText}")`);
  const enterprise = text('RUNNER_ENTERPRISE');
  if (enterprise !== undefined && !SAFE_VALUE.test(enterprise)) {
    problems.push(`RUNNER_ENTERPRISE must be an enterprise slug (got "${enterprise}")`);
  }

  const allowedRepos = list('ALLOWED_REPOS').map((repo) => repo.toLowerCase());
  for (const repo of allowedRepos) {
    if (!/^[a-z0-9._-]+\/[a-z0-9._-]+$/.test(repo))
      problems.push(`ALLOWED_REPOS entries are owner/name (got "${repo}")`);
  }

  const templates: TemplateSettings = {
    labels:
      list('RUNNER_LABELS_TEMPLATE').length > 0 ? list('RUNNER_LABELS_TEMPLATE') : [TEMPLATE_DEFAULTS.labels],
    name: text('RUNNER_NAME_TEMPLATE') ?? TEMPLATE_DEFAULTS.name,
    group: text('RUNNER_GROUP_TEMPLATE') ?? TEMPLATE_DEFAULTS.group,
  };
  for (const label of templates.labels) {
    for (const problem of templateProblems(label))
      problems.push(`RUNNER_LABELS_TEMPLATE "${label}": ${problem}`);
  }
  for (const problem of templateProblems(templates.name)) problems.push(`RUNNER_NAME_TEMPLATE: ${problem}`);
  for (const problem of templateProblems(templates.group)) problems.push(`RUNNER_GROUP_TEMPLATE: ${problem}`);

  const deadlineText = text('LAUNCH_DEADLINE_MS') ?? '8000';
  const launchDeadlineMs = Number(deadlineText);
  if (!Number.isInteger(launchDeadlineMs) || launchDeadlineMs < 1000 || launchDeadlineMs > 9500) {
    problems.push(
      `LAUNCH_DEADLINE_MS must be a whole number from 1000 to 9500: GitHub waits 10 s (got "${deadlineText}")`,
    );
  }

  const ecs: EcsSettings = {
    cluster: cluster ?? 'default',
    taskDefinition: text('ECS_TASK_DEFINITION') ?? SEED.taskFamily,
    containerName: text('ECS_CONTAINER_NAME') ?? SEED.containerName,
    capacityProvider: text('ECS_CAPACITY_PROVIDER'),
    subnets: list('ECS_SUBNETS'),
    securityGroups: list('ECS_SECURITY_GROUPS'),
    assignPublicIp: bool('ECS_ASSIGN_PUBLIC_IP'),
  };
  if (ecs.securityGroups.length > 0 && ecs.subnets.length === 0) {
    problems.push('ECS_SECURITY_GROUPS needs ECS_SUBNETS (awsvpc networking needs both)');
  }

  const github = readGitHub(text, problems);
  const registrationText = text('RUNNER_REGISTRATION') ?? (github ? 'jit' : 'token');
  const registration = (['jit', 'token'] as const).find((r) => r === registrationText);
  if (registration === undefined) {
    problems.push(`RUNNER_REGISTRATION must be jit or token (got "${registrationText}")`);
  } else if (registration === 'jit' && github === undefined) {
    problems.push(
      'RUNNER_REGISTRATION=jit needs GitHub credentials: set GITHUB_AUTH_SECRET_ARN (or GITHUB_TOKEN)',
    );
  }
  const checkAfterText = text('JOB_QUEUED_CHECK_AFTER') ?? '30';
  const jobQueuedCheckAfterSeconds = Number(checkAfterText);
  if (!Number.isInteger(jobQueuedCheckAfterSeconds) || jobQueuedCheckAfterSeconds < 0) {
    problems.push(`JOB_QUEUED_CHECK_AFTER must be a whole number of seconds (got "${checkAfterText}")`);
  }

  const overflowQueueUrl = text('OVERFLOW_QUEUE_URL');
  if (overflowQueueUrl !== undefined && !/^https?:\/\//.test(overflowQueueUrl)) {
    problems.push(`OVERFLOW_QUEUE_URL must be the queue's URL (got "${overflowQueueUrl}")`);
  }

  const idleText = text('RUNNER_IDLE_TIMEOUT') ?? '900';
  const runnerIdleTimeoutSeconds = Number(idleText);
  if (!Number.isInteger(runnerIdleTimeoutSeconds) || runnerIdleTimeoutSeconds < 60) {
    problems.push(`RUNNER_IDLE_TIMEOUT must be a whole number of seconds, at least 60 (got "${idleText}")`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    runnerIdleTimeoutSeconds,
    overflowQueueUrl,
    github,
    registration: registration ?? 'token',
    runnerGroupCreate: bool('RUNNER_GROUP_CREATE'),
    runnerGroupPublic: bool('RUNNER_GROUP_PUBLIC'),
    jobQueuedCheckAfterSeconds,
    webhookSecret,
    dryRun,
    ecs: Object.freeze(ecs),
    targetEnv,
    scope: scope ?? 'org',
    enterprise,
    allowedOrgs: list('ALLOWED_ORGS').map((org) => org.toLowerCase()),
    allowedRepos,
    templates: Object.freeze(templates),
    launchDeadlineMs,
  });
}

/** GitHub settings from the environment alone (for functions that need nothing else); problems are appended. */
export function parseGitHubSettings(env: Env, problems: string[]): GitHubSettings | undefined {
  return readGitHub((name) => (env[name]?.trim() ? env[name]?.trim() : undefined), problems);
}

function readGitHub(
  text: (name: string) => string | undefined,
  problems: string[],
): GitHubSettings | undefined {
  const arn = text('GITHUB_AUTH_SECRET_ARN');
  const token = text('GITHUB_TOKEN');
  const apiUrl = (text('GITHUB_API_URL') ?? 'https://api.github.com').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(apiUrl))
    problems.push(`GITHUB_API_URL must be an http(s) URL (got "${apiUrl}")`);
  if (arn !== undefined) {
    if (!arn.startsWith('arn:'))
      problems.push(`GITHUB_AUTH_SECRET_ARN must be a Secrets Manager ARN (got "${arn}")`);
    return { credentials: { kind: 'secrets-manager', arn }, apiUrl };
  }
  if (token !== undefined) return { credentials: { kind: 'token', token }, apiUrl };
  return undefined;
}

function readWebhookSecret(
  text: (name: string) => string | undefined,
  problems: string[],
): WebhookSecretSetting {
  const plain = text('WEBHOOK_SECRET');
  const previous = text('WEBHOOK_SECRET_PREVIOUS');
  const arn = text('WEBHOOK_SECRET_ARN');
  if (plain !== undefined && arn !== undefined) {
    problems.push('set WEBHOOK_SECRET or WEBHOOK_SECRET_ARN, not both');
  }
  if (arn !== undefined) {
    if (!arn.startsWith('arn:'))
      problems.push(`WEBHOOK_SECRET_ARN must be a Secrets Manager ARN (got "${arn}")`);
    if (previous !== undefined) {
      problems.push(
        'WEBHOOK_SECRET_PREVIOUS goes with WEBHOOK_SECRET; with an ARN, store {"secret","previous"} in it',
      );
    }
    return { kind: 'secrets-manager', arn };
  }
  if (plain === undefined) {
    problems.push(
      'WEBHOOK_SECRET_ARN (or WEBHOOK_SECRET, for local use) is required: the webhook secret set on GitHub',
    );
    return { kind: 'plain', secrets: [] };
  }
  return { kind: 'plain', secrets: previous === undefined ? [plain] : [plain, previous] };
}
