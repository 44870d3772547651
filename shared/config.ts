import { isIP } from 'node:net';
import { type CapacitySettings, parseCapacitySettings } from './capacity/capacity-groups';
import { SEED, TEMPLATE_DEFAULTS } from './defaults';
import { ConfigError } from './errors';
import { parseRunnerProfiles, type RunnerProfile } from './runner/runner-profiles';
import { SAFE_VALUE, templateProblems } from './runner/template';
import { createSettingsReader } from './settings-reader';

export type RunnerScope = 'org' | 'repo' | 'enterprise';

/** Where the webhook secret comes from: the environment (local use) or Secrets Manager. */
export type WebhookSecretSetting =
  | { readonly kind: 'plain'; readonly secrets: readonly string[] }
  | { readonly kind: 'secrets-manager'; readonly arn: string };

/** The cluster and network every runner profile shares. */
export interface EcsSettings {
  readonly cluster: string;
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

/**
 * How a runner registers: `jit` (the function makes a one-use config) or `token` (the runner's
 * `config.sh` with a registration token the function minted). No task gets an admin token.
 */
export type RunnerRegistration = 'jit' | 'token';

/** How the reconciler drives open jobs. */
export interface ReconcileSettings {
  /** Seconds a task may wait for capacity (PROVISIONING/PENDING) before it is replaced. */
  readonly capacityWaitSeconds: number;
  /** Launch attempts per job before the reconciler gives up and alarms. */
  readonly maxAttempts: number;
  /** Seconds a job may wait without a live runner task before it counts as stuck. */
  readonly stuckAfterSeconds: number;
  /** Seconds GitHub may leave unanswered whether a job whose task ran and stopped is queued, before it is relaunched anyway. */
  readonly unknownRelaunchSeconds: number;
  /** The most GitHub API requests one reconcile round makes (an App installation has 5,000 an hour). */
  readonly githubRequestsPerRound: number;
}

/** The whole configuration, parsed and validated once per cold start. */
export interface Config {
  readonly dryRun: boolean;
  readonly ecs: EcsSettings;
  readonly targetEnv: string;
  readonly scope: RunnerScope;
  readonly enterprise: string | undefined;
  readonly allowedOrgs: readonly string[];
  readonly allowedRepos: readonly string[];
  /**
   * Public (and internal) repositories whose jobs may have runners (`owner/name`, lower case):
   * GitHub advises against self-hosted runners for public repositories, so none by default.
   */
  readonly publicRepositoriesAllowed: readonly string[];
  /** Whether internal repositories' jobs are served as private ones' (`INTERNAL_REPOSITORIES_TRUSTED`). */
  readonly internalRepositoriesTrusted: boolean;
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
  /**
   * Whether a runner group we create may be open to every repository (`RUNNER_GROUP_SHARED`):
   * without it a group is created only for the one repository it is named for.
   */
  readonly runnerGroupShared: boolean;
  /** Deliveries whose job was queued longer ago than this (seconds) are checked against GitHub first. */
  readonly jobQueuedCheckAfterSeconds: number;
  /** SQS queue for jobs the webhook could not start a task for in time; undefined: answer 503. */
  readonly overflowQueueUrl: string | undefined;
  /** A runner waits this long for a job before it exits (seconds). */
  readonly runnerIdleTimeoutSeconds: number;
  /** Runner profiles, in the order a job is matched against them; at least one. */
  readonly profiles: readonly RunnerProfile[];
  /** The DynamoDB job ledger (`JOBS_TABLE`); undefined: an in-memory ledger (local use). */
  readonly jobsTable: string | undefined;
  /** The S3 bucket JIT configs are handed to tasks through (`RUNNER_CONFIG_BUCKET`). */
  readonly runnerConfigBucket: string | undefined;
  /** `GITHUB_HOOK=app`: deliveries come from a GitHub App's webhook. */
  readonly githubHook: 'app' | 'org';
  /** With DRY_RUN, register runners on GitHub for real (`DRY_RUN_REGISTER=true`); default: print only. */
  readonly dryRunRegister: boolean;
  readonly reconcile: ReconcileSettings;
  /**
   * Owned capacity (`CAPACITY_GROUPS`): each job's task is pinned to an instance it claimed in the
   * instance ledger (`INSTANCES_TABLE`; in memory without it). Undefined: ECS managed scaling.
   */
  readonly capacity: CapacitySettings | undefined;
  readonly instancesTable: string | undefined;
  /** The capacity function's FIFO queue jobs ask for an instance through (`CAPACITY_QUEUE_URL`); undefined: asked in process (local use). */
  readonly capacityQueueUrl: string | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

const SCOPES: readonly RunnerScope[] = ['org', 'repo', 'enterprise'];

/**
 * Reads the configuration from the environment. Every problem is collected and reported
 * together in one {@link ConfigError}, so an operator fixes them in one deploy.
 */
export function parseConfig(env: Env): Config {
  const problems: string[] = [];
  const reader = createSettingsReader((name) => env[name], problems);
  const { text, list } = reader;
  const bool = (name: string, fallback = false): boolean => reader.bool(name, fallback);

  const dryRun = bool('DRY_RUN');

  const cluster = text('ECS_CLUSTER');
  if (cluster === undefined && !dryRun) {
    problems.push('ECS_CLUSTER is required (the cluster name or ARN), unless DRY_RUN=true');
  }

  const targetEnv = text('TARGET_ENV') ?? SEED.targetEnv;
  if (!SAFE_VALUE.test(targetEnv))
    problems.push(
      `TARGET_ENV may only use [A-Za-z0-9._-], starting with a letter or a digit (got "${targetEnv}")`,
    );

  const scopeText = text('RUNNER_SCOPE') ?? 'repo';
  const scope = SCOPES.find((candidate) => candidate === scopeText);
  if (scope === undefined)
    problems.push(`RUNNER_SCOPE must be one of ${SCOPES.join(', ')} (got "${scopeText}")`);
  const enterprise = text('RUNNER_ENTERPRISE');
  if (enterprise !== undefined && !SAFE_VALUE.test(enterprise)) {
    problems.push(`RUNNER_ENTERPRISE must be an enterprise slug (got "${enterprise}")`);
  }

  const repositories = (name: string) => {
    const names = list(name).map((repo) => repo.toLowerCase());
    for (const repo of names) {
      if (!/^[a-z0-9._-]+\/[a-z0-9._-]+$/.test(repo))
        problems.push(`${name} entries are owner/name (got "${repo}")`);
    }
    return names;
  };
  const allowedRepos = repositories('ALLOWED_REPOS');
  const publicRepositoriesAllowed = repositories('PUBLIC_REPOSITORIES_ALLOWED');
  const internalRepositoriesTrusted = bool('INTERNAL_REPOSITORIES_TRUSTED');
  const runnerGroupShared = bool('RUNNER_GROUP_SHARED');

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

  // GitHub waits 10 s for the answer.
  const launchDeadlineMs = reader.int('LAUNCH_DEADLINE_MS', 8000, {
    min: 1000,
    max: 9500,
    unit: 'milliseconds',
  });

  const ecs: EcsSettings = {
    cluster: cluster ?? 'default',
    subnets: list('ECS_SUBNETS'),
    securityGroups: list('ECS_SECURITY_GROUPS'),
    assignPublicIp: bool('ECS_ASSIGN_PUBLIC_IP'),
  };
  if (ecs.securityGroups.length > 0 && ecs.subnets.length === 0) {
    problems.push('ECS_SECURITY_GROUPS needs ECS_SUBNETS (awsvpc networking needs both)');
  }

  const github = readGitHub(text, problems);
  // A dry run shows the default path (JIT) without calling GitHub.
  const registrationText = text('RUNNER_REGISTRATION') ?? 'jit';
  const registration = (['jit', 'token'] as const).find((r) => r === registrationText);
  if (registration === undefined) {
    problems.push(`RUNNER_REGISTRATION must be jit or token (got "${registrationText}")`);
  } else if (github === undefined && !dryRun) {
    // Both modes: the function registers the runner (jit) or mints its registration token (token).
    problems.push(
      `registering runners (RUNNER_REGISTRATION=${registration}) needs GitHub credentials: set GITHUB_AUTH_SECRET_ARN (or GITHUB_TOKEN); no task gets an admin token`,
    );
  }
  const seconds = (name: string, fallback: number, min: number): number =>
    reader.int(name, fallback, { min, unit: 'seconds' });
  const jobQueuedCheckAfterSeconds = seconds('JOB_QUEUED_CHECK_AFTER', 30, 0);

  const overflowQueueUrl = text('OVERFLOW_QUEUE_URL');
  if (overflowQueueUrl !== undefined && !/^https?:\/\//.test(overflowQueueUrl)) {
    problems.push(`OVERFLOW_QUEUE_URL must be the queue's URL (got "${overflowQueueUrl}")`);
  }

  const runnerIdleTimeoutSeconds = seconds('RUNNER_IDLE_TIMEOUT', 900, 60);
  const reconcile: ReconcileSettings = {
    capacityWaitSeconds: seconds('RECONCILE_CAPACITY_WAIT', 600, 60),
    stuckAfterSeconds: seconds('RECONCILE_STUCK_AFTER', 300, 60),
    maxAttempts: reader.int('RECONCILE_MAX_ATTEMPTS', 3, { min: 1, max: 10 }),
    unknownRelaunchSeconds: seconds('RECONCILE_UNKNOWN_RELAUNCH', 1800, 60),
    githubRequestsPerRound: reader.int('RECONCILE_GITHUB_REQUESTS', 60, { min: 5, max: 5000 }),
  };

  const hookText = text('GITHUB_HOOK') ?? 'org';
  const githubHook = hookText === 'app' ? 'app' : 'org';
  if (hookText !== 'app' && hookText !== 'org') {
    problems.push(`GITHUB_HOOK must be app or org (got "${hookText}")`);
  }
  const allowedOrgs = list('ALLOWED_ORGS').map((org) => org.toLowerCase());
  if (githubHook === 'app' && allowedOrgs.length === 0) {
    problems.push(
      'GITHUB_HOOK=app needs ALLOWED_ORGS: a GitHub App webhook serves every organisation that installs the App',
    );
  }

  const profiles = parseRunnerProfiles(
    text('RUNNER_PROFILES'),
    {
      labels: templates.labels,
      taskDefinition: text('ECS_TASK_DEFINITION') ?? SEED.taskFamily,
      containerName: text('ECS_CONTAINER_NAME') ?? SEED.containerName,
      capacityProvider: text('ECS_CAPACITY_PROVIDER'),
      distinctInstance: bool('RUNNER_DISTINCT_INSTANCE', true),
    },
    problems,
  );

  const jobsTable = text('JOBS_TABLE');
  const runnerConfigBucket = text('RUNNER_CONFIG_BUCKET');
  if (runnerConfigBucket !== undefined && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(runnerConfigBucket)) {
    problems.push(`RUNNER_CONFIG_BUCKET must be an S3 bucket name (got "${runnerConfigBucket}")`);
  }
  const dryRunRegister = bool('DRY_RUN_REGISTER');
  if (registration !== undefined && runnerConfigBucket === undefined && !(dryRun && !dryRunRegister)) {
    problems.push(
      `RUNNER_REGISTRATION=${registration} needs RUNNER_CONFIG_BUCKET: the runner's credential reaches the task as an S3 environment file, never in the RunTask request`,
    );
  }

  let capacity: CapacitySettings | undefined;
  try {
    capacity = parseCapacitySettings(env);
  } catch (error) {
    problems.push((error as Error).message);
  }
  for (const group of capacity?.groups ?? []) {
    for (const name of group.profiles)
      if (!profiles.some((profile) => profile.name === name))
        problems.push(
          `CAPACITY_GROUPS: group ${group.name} names profile "${name}", which RUNNER_PROFILES does not have`,
        );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    capacity,
    instancesTable: text('INSTANCES_TABLE'),
    capacityQueueUrl: text('CAPACITY_QUEUE_URL'),
    profiles,
    jobsTable,
    runnerConfigBucket,
    githubHook,
    dryRunRegister,
    reconcile: Object.freeze(reconcile),
    runnerIdleTimeoutSeconds,
    overflowQueueUrl,
    github,
    registration: registration ?? 'token',
    runnerGroupCreate: bool('RUNNER_GROUP_CREATE'),
    runnerGroupPublic: bool('RUNNER_GROUP_PUBLIC'),
    runnerGroupShared,
    jobQueuedCheckAfterSeconds,
    dryRun,
    ecs: Object.freeze(ecs),
    targetEnv,
    scope: scope ?? 'org',
    enterprise,
    allowedOrgs,
    allowedRepos,
    publicRepositoriesAllowed,
    internalRepositoriesTrusted,
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

/**
 * The source ranges deliveries may come from (`WEBHOOK_ALLOWED_CIDRS`, GitHub's `hooks` ranges
 * of its `meta` API); empty: any. Only the webhook reads it; problems are appended.
 */
export function readAllowedSources(env: Env, problems: string[]): readonly string[] {
  const cidrs = (env.WEBHOOK_ALLOWED_CIDRS ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const cidr of cidrs) {
    const [address = '', bits = ''] = cidr.split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || !/^\d+$/.test(bits) || Number(bits) > max) {
      problems.push(`WEBHOOK_ALLOWED_CIDRS entries are CIDR blocks such as 192.30.252.0/22 (got "${cidr}")`);
    }
  }
  return cidrs;
}

/** The webhook secret's setting (only the webhook reads it); problems are appended. */
export function readWebhookSecretSetting(env: Env, problems: string[]): WebhookSecretSetting {
  const text = (name: string) => (env[name]?.trim() ? env[name]?.trim() : undefined);
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
