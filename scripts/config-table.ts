// `npm run docs:config` rewrites the table in docs/configuration.md; `npm run docs:config -- --check`
// exits 1 when the code reads a variable the table does not describe, or the table is out of date.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LOCAL_WEBHOOK_SECRET, SEED, TEMPLATE_DEFAULTS, WEBHOOK_METRICS } from '../shared/defaults';

/** Who reads a variable: the deployed functions by name, or the local commands. */
type Reader =
  | 'webhook'
  | 'launcher'
  | 'reconciler'
  | 'redeliver'
  | 'hook-ranges'
  | 'capacity'
  | 'setup'
  | 'image-release'
  | 'image-rollout'
  | 'npm start'
  | 'npm run redeliver';

/** One environment variable, as the table shows it. */
export interface Setting {
  readonly name: string;
  readonly default: string;
  readonly readBy: readonly Reader[];
  /** The CDK context key that sets it in the deployed stack, if any. */
  readonly context?: string;
  readonly meaning: string;
  /** Read by a library (the AWS SDK, Powertools), not by our code: not expected in the scan. */
  readonly library?: true;
}

const CORE: readonly Reader[] = ['webhook', 'launcher', 'reconciler', 'npm start'];
const WEBHOOK: readonly Reader[] = ['webhook', 'npm start'];
const CAPACITY: readonly Reader[] = ['webhook', 'launcher', 'reconciler', 'capacity'];
const SWEEP: readonly Reader[] = ['redeliver', 'npm run redeliver'];
const GITHUB: readonly Reader[] = [
  'webhook',
  'launcher',
  'reconciler',
  'redeliver',
  'npm start',
  'npm run redeliver',
];
const code = (value: string) => `\`${value}\``;

/** Every environment variable the functions and local commands read, in the table's order. */
export const SETTINGS: readonly Setting[] = [
  {
    name: 'WEBHOOK_SECRET_ARN',
    default: '(this or `WEBHOOK_SECRET` is required)',
    readBy: ['webhook', 'setup'],
    meaning:
      'Secrets Manager secret holding the webhook secret, or `{"secret": "...", "previous": "..."}` during a rotation. Cached 5 minutes; the last good value is kept if a refresh fails.',
  },
  {
    name: 'WEBHOOK_SECRET',
    default: `${code(LOCAL_WEBHOOK_SECRET)} under \`npm start\``,
    readBy: WEBHOOK,
    meaning: 'the webhook secret as plain text, for local use',
  },
  {
    name: 'WEBHOOK_SECRET_PREVIOUS',
    default: '(none)',
    readBy: WEBHOOK,
    meaning: 'the secret being rotated out, also accepted (with `WEBHOOK_SECRET`)',
  },
  {
    name: 'WEBHOOK_ALLOWED_CIDRS',
    default: '(any source)',
    readBy: WEBHOOK,
    context: 'webhookAllowedCidrs',
    meaning:
      "comma list of CIDR blocks deliveries may come from (GitHub's `hooks` ranges of `GET /meta`); others are answered 403",
  },
  {
    name: 'DRY_RUN',
    default: '`false` (`true` under `npm start` without `ECS_CLUSTER`)',
    readBy: [...CORE, ...SWEEP],
    meaning: 'print the RunTask request (or the redeliveries) instead of sending it',
  },
  {
    name: 'ECS_CLUSTER',
    default: '(required unless `DRY_RUN=true`)',
    readBy: CORE,
    meaning: 'cluster name or ARN',
  },
  {
    name: 'ECS_TASK_DEFINITION',
    default: code(SEED.taskFamily),
    readBy: CORE,
    meaning: 'task definition family, `family:revision` or ARN',
  },
  {
    name: 'ECS_CONTAINER_NAME',
    default: code(SEED.containerName),
    readBy: CORE,
    meaning: 'the container the overrides go to',
  },
  {
    name: 'ECS_CAPACITY_PROVIDER',
    default: '(none: `launchType: EC2`)',
    readBy: CORE,
    meaning: 'capacity provider for `capacityProviderStrategy`',
  },
  {
    name: 'ECS_SUBNETS',
    default: '(none)',
    readBy: CORE,
    meaning: 'awsvpc networking: subnet ids, comma list',
  },
  {
    name: 'ECS_SECURITY_GROUPS',
    default: '(none)',
    readBy: CORE,
    meaning: 'awsvpc networking: security group ids, comma list (needs `ECS_SUBNETS`)',
  },
  {
    name: 'ECS_ASSIGN_PUBLIC_IP',
    default: '`false`',
    readBy: CORE,
    meaning: 'awsvpc networking: give the task a public IP',
  },
  {
    name: 'TARGET_ENV',
    default: code(SEED.targetEnv),
    readBy: CORE,
    context: 'targetEnv',
    meaning: '`<target_env>` in the templates',
  },
  {
    name: 'RUNNER_SCOPE',
    default: '`repo`',
    readBy: CORE,
    context: 'runnerScope',
    meaning:
      "where runners register: `org` (the organisation), `repo` (the job's repository only), `enterprise`",
  },
  {
    name: 'RUNNER_ENTERPRISE',
    default: '`enterprise.slug` of the payload',
    readBy: CORE,
    context: 'runnerEnterprise',
    meaning: 'enterprise slug, for `RUNNER_SCOPE=enterprise`',
  },
  {
    name: 'ALLOWED_ORGS',
    default: '(all)',
    readBy: CORE,
    context: 'allowedOrgs',
    meaning: 'organisations served, comma list; others are answered 202 and logged',
  },
  {
    name: 'ALLOWED_REPOS',
    default: '(all)',
    readBy: CORE,
    context: 'allowedRepos',
    meaning: 'repositories served (`owner/name`), comma list; others are answered 202 and logged',
  },
  {
    name: 'PUBLIC_REPOSITORIES_ALLOWED',
    default: '(none)',
    readBy: CORE,
    context: 'publicRepositoriesAllowed',
    meaning:
      "public (or internal) repositories whose jobs get runners (`owner/name`), comma list; any other public repository is answered 202. Opting in lets anyone's fork pull request run code as root on your instances ([security](security.md#public-repositories))",
  },
  {
    name: 'INTERNAL_REPOSITORIES_TRUSTED',
    default: '`false`',
    readBy: CORE,
    context: 'internalRepositoriesTrusted',
    meaning:
      "`true`: internal repositories' jobs are served as private ones' (every member of the enterprise can push to a fork of them); `false`: answered 202, as public ones",
  },
  {
    name: 'RUNNER_LABELS_TEMPLATE',
    default: code(TEMPLATE_DEFAULTS.labels),
    readBy: CORE,
    context: 'runnerLabelsTemplate',
    meaning: 'comma list of label templates ([variables](#template-variables))',
  },
  {
    name: 'RUNNER_NAME_TEMPLATE',
    default: code(TEMPLATE_DEFAULTS.name),
    readBy: CORE,
    context: 'runnerNameTemplate',
    meaning: 'runner name; longer than 64 characters is shortened with a hash',
  },
  {
    name: 'RUNNER_GROUP_TEMPLATE',
    default: code(TEMPLATE_DEFAULTS.group),
    readBy: CORE,
    context: 'runnerGroupTemplate',
    meaning: 'runner group (organisation and enterprise runners)',
  },
  {
    name: 'LAUNCH_DEADLINE_MS',
    default: '`8000`',
    readBy: CORE,
    context: 'launchDeadlineMs',
    meaning: 'time from receipt within which ECS must have started the task (1000–9500; GitHub waits 10 s)',
  },
  {
    name: 'GITHUB_AUTH_SECRET_ARN',
    default: '(none)',
    readBy: GITHUB,
    meaning:
      'Secrets Manager secret with GitHub credentials: `{"token": "..."}` or `{"appId", "privateKey", "installationId"?}` ([GitHub setup](github-setup.md))',
  },
  {
    name: 'GITHUB_TOKEN',
    default: '(none)',
    readBy: GITHUB,
    meaning: 'a token instead of the secret, for local use',
  },
  {
    name: 'GITHUB_API_URL',
    default: '`https://api.github.com`',
    readBy: [...GITHUB, 'image-release'],
    context: 'githubApiUrl',
    meaning:
      "`https://HOST/api/v3` for GitHub Enterprise Server; the image-release function's is where it reads actions/runner's releases (`runnerReleasesApiUrl`, github.com's by default)",
  },
  {
    name: 'IMAGE_BUILDS',
    default: '(set by the stack)',
    readBy: ['image-release', 'image-rollout'],
    meaning:
      'JSON list of the runner image builds, one per architecture: `{"architecture", "project", "parameter"}` (the CodeBuild project, and the SSM parameter its builds write)',
  },
  {
    name: 'IMAGE_FAMILIES',
    default: '(set by the stack)',
    readBy: ['image-rollout'],
    meaning:
      'JSON list of the profiles\' task definitions: `{"architecture", "family", "container"}`; each gets a revision with its architecture\'s new image',
  },
  {
    name: 'RUNNER_REGISTRATION',
    default: '`jit`',
    readBy: CORE,
    context: 'registration',
    meaning:
      '`jit`: the function registers each runner and the task gets a one-use `RUNNER_JIT_CONFIG`; `token`: the function mints a registration token and the task registers itself with it (`RUNNER_REGISTRATION_TOKEN`); either way through the S3 environment file, and no task gets an admin token',
  },
  {
    name: 'RUNNER_GROUP_CREATE',
    default: '`false`',
    readBy: CORE,
    context: 'runnerGroupCreate',
    meaning: 'with `jit`, create a missing runner group',
  },
  {
    name: 'RUNNER_GROUP_PUBLIC',
    default: '`false`',
    readBy: CORE,
    context: 'runnerGroupPublic',
    meaning: 'whether a group we create may serve public repositories',
  },
  {
    name: 'RUNNER_GROUP_SHARED',
    default: '`false`',
    readBy: CORE,
    context: 'runnerGroupShared',
    meaning:
      '`true`: a group we create without a repository (the default group template names none, or the delivery has no `repository.id`) is open to every repository of the organisation; `false`: such a group is not created (503 with the fix). The synth warns of a shared organisation group unless this is `true`',
  },
  {
    name: 'JOB_QUEUED_CHECK_AFTER',
    default: '`30`',
    readBy: CORE,
    context: 'jobQueuedCheckAfter',
    meaning:
      'seconds; a delivery whose job was queued longer ago is checked with GitHub first, and a job no longer queued gets nothing',
  },
  {
    name: 'OVERFLOW_QUEUE_URL',
    default: '(none: answer 503)',
    readBy: ['webhook'],
    meaning: 'SQS queue for jobs whose task ECS could not start in time; the launcher drains it',
  },
  {
    name: 'RUNNER_IDLE_TIMEOUT',
    default: '`900`',
    readBy: CORE,
    context: 'runnerIdleTimeout',
    meaning: 'seconds a runner waits for a job before it exits (passed to the container)',
  },
  {
    name: 'JOBS_TABLE',
    default: '(none: an in-memory ledger, for `npm start`)',
    readBy: CORE,
    meaning: 'the DynamoDB job ledger: one record per job of ours, every transition a conditional write',
  },
  {
    name: 'RUNNER_CONFIG_BUCKET',
    default: '(required, except in a dry run)',
    readBy: CORE,
    meaning:
      "S3 bucket the runner's credential (JIT config or registration token) reaches its task through (`runner-config/<128 random bits>.env`, read by the task execution role only, written by the functions only); never in an API request",
  },
  {
    name: 'RUNNER_PROFILES',
    default: '(one profile, `default`, from the settings above)',
    readBy: CORE,
    context: 'profiles',
    meaning:
      'JSON array of runner profiles (`name`, `labels`, `taskDefinition`, `containerName`, `capacityProviderStrategy`, `fallbackCapacityProviderStrategy` (after a wait for capacity: Spot → On-Demand), `cpu`, `memory`, `distinctInstance`, `publicRepositories` (`true`: serves public and internal repositories too)); a job gets the first whose labels cover it',
  },
  {
    name: 'RUNNER_DISTINCT_INSTANCE',
    default: '`true`',
    readBy: CORE,
    meaning:
      'one runner task per instance (RunTask placement constraint `distinctInstance`); `false` packs them (trusted repositories only)',
  },
  {
    name: 'GITHUB_HOOK',
    default: '`org`',
    readBy: [...CORE, ...SWEEP],
    context: 'githubHook',
    meaning:
      '`app`: deliveries come from a GitHub App webhook (then `ALLOWED_ORGS` is required); the sweep reads the App hook',
  },
  {
    name: 'RECONCILE_CAPACITY_WAIT',
    default: '`600`',
    readBy: CORE,
    context: 'reconcileCapacityWait',
    meaning: 'seconds a task may wait for capacity (PROVISIONING) before the reconciler replaces it',
  },
  {
    name: 'RECONCILE_MAX_ATTEMPTS',
    default: '`3`',
    readBy: CORE,
    context: 'reconcileMaxAttempts',
    meaning:
      'failed launch attempts per job (a task that stopped by itself before its job started) before the reconciler alarms and retries at its longest backoff (15 min); a job GitHub calls queued is never abandoned, and a task replaced after a wait for capacity is no failed attempt',
  },
  {
    name: 'RECONCILE_UNKNOWN_RELAUNCH',
    default: '`1800`',
    readBy: CORE,
    meaning:
      'seconds GitHub may leave unanswered whether a job whose task ran and stopped is still queued (its `in_progress` may be lost) before the reconciler relaunches it anyway',
  },
  {
    name: 'RECONCILE_GITHUB_REQUESTS',
    default: '`60`',
    readBy: CORE,
    meaning:
      "the most GitHub API requests one reconcile round makes (an App installation has 5,000 an hour; rounds run every minute; the rest is the webhook's); the round's spend is the `ReconcilerGitHubRequests` metric",
  },
  {
    name: 'CAPACITY_GROUPS',
    default: '(none: ECS managed scaling places the tasks)',
    readBy: CAPACITY,
    meaning:
      "JSON array of the instance groups whose capacity the system owns (written by the stack): `name`, `autoScalingGroupName`, `capacityProvider`, `profiles`, `maxInstances`, `hot`, `hotSchedule`, `warm`, `reuseIdleMinutes`, `spot`, `onInterruption`; each job claims a pristine instance of its profile's group and its task is pinned to it ([capacity](capacity.md))",
  },
  {
    name: 'INSTANCES_TABLE',
    default: '(none: an in-memory instance ledger, for `npm start`)',
    readBy: CAPACITY,
    meaning:
      'the DynamoDB instance ledger of owned capacity: one record per instance (launching, ready, claimed, retiring); a claim is a conditional write, so two jobs never share an instance',
  },
  {
    name: 'CAPACITY_QUEUE_URL',
    default: '(none: only logged)',
    readBy: ['webhook', 'launcher', 'reconciler'],
    meaning:
      "the capacity function's FIFO queue (every capacity event goes through it, one batch at a time, in order): a job that found no free instance asks for one there; the capacity function's minute round sees the job anyway",
  },
  {
    name: 'CAPACITY_MAX_INSTANCES',
    default: '`200`',
    readBy: CAPACITY,
    context: 'maxInstancesTotal',
    meaning: "the most instances across all owned groups (a ceiling on top of each group's `maxInstances`)",
  },
  {
    name: 'CAPACITY_IDLE_SECONDS',
    default: '`120`',
    readBy: CAPACITY,
    meaning:
      'seconds a free pristine instance beyond the hot pool (launched for a job another instance served, or a cancelled one) waits before it is terminated',
  },
  {
    name: 'RECONCILE_STUCK_AFTER',
    default: '`300`',
    readBy: CORE,
    meaning: 'seconds a job may wait without a RUNNING task before it counts in `JobsStuck`',
  },
  {
    name: 'DRY_RUN_REGISTER',
    default: '`false`',
    readBy: CORE,
    meaning:
      'with `DRY_RUN`, register runners on GitHub for real; otherwise the dry run only prints the registration',
  },
  {
    name: 'GITHUB_ORG',
    default: '(none)',
    readBy: ['redeliver'],
    context: 'githubOrg',
    meaning: 'the organisation whose webhook the redelivery sweep reads (with `GITHUB_HOOK_ID`)',
  },
  {
    name: 'GITHUB_HOOK_ID',
    default: '(none)',
    readBy: ['redeliver'],
    context: 'githubHookId',
    meaning: "the organisation webhook's id",
  },
  {
    name: 'REDELIVER_SINCE',
    default: '`6h`',
    readBy: SWEEP,
    context: 'redeliverSince',
    meaning: "how far back the sweep looks (at most GitHub's 3 days)",
  },
  {
    name: 'REDELIVER_MAX',
    default: '`50`',
    readBy: SWEEP,
    context: 'redeliverMax',
    meaning: 'redeliveries per sweep, at most',
  },
  {
    name: 'REDELIVER_MAX_ATTEMPTS',
    default: '`5`',
    readBy: SWEEP,
    meaning: 'failed redeliveries of one delivery before the sweep gives up on it',
  },
  {
    name: 'HOOK_RANGES_IPV4_SET_ARN',
    default: '(set by the stack)',
    readBy: ['hook-ranges'],
    meaning:
      "the webhook's WAF IP set of IPv4 sources, set to GitHub's `hooks` ranges (`GET /meta`) every hour",
  },
  {
    name: 'HOOK_RANGES_IPV6_SET_ARN',
    default: '(set by the stack)',
    readBy: ['hook-ranges'],
    meaning: 'the same, of IPv6 sources',
  },
  {
    name: 'AWS_ENDPOINT_URL_WAFV2',
    default: '(AWS)',
    readBy: ['hook-ranges'],
    meaning: "the AWS SDK's endpoint setting for WAF, read by the hook-ranges function's WAF calls",
  },
  {
    name: 'POWERTOOLS_SERVICE_NAME',
    default: `${code(WEBHOOK_METRICS.service)} (each function sets its own)`,
    readBy: CORE,
    meaning: "the `service` of log lines and of the metrics' dimension",
  },
  {
    name: 'POWERTOOLS_LOG_LEVEL',
    default: '`INFO`',
    readBy: [...CORE, 'redeliver'],
    context: 'logLevel',
    meaning: 'log level (Powertools Logger)',
    library: true,
  },
  {
    name: 'POWERTOOLS_METRICS_DISABLED',
    default: '`false` (`true` under `npm start`)',
    readBy: CORE,
    meaning: 'turn the EMF metrics off (Powertools Metrics)',
  },
  {
    name: 'AWS_ENDPOINT_URL_DYNAMODB',
    default: '(AWS)',
    readBy: CORE,
    meaning: "the AWS SDK's own endpoint setting; our code sets no endpoint",
    library: true,
  },
  {
    name: 'AWS_ENDPOINT_URL_S3',
    default: '(AWS)',
    readBy: CORE,
    meaning: "the AWS SDK's own endpoint setting; when set, buckets are addressed path-style",
    library: true,
  },
  {
    name: 'AWS_REGION',
    default: "(the Lambda's region)",
    readBy: CORE,
    meaning: 'the region; also picks the partition of the config object ARN (`aws`, `aws-cn`, `aws-us-gov`)',
    library: true,
  },
  {
    name: 'AWS_DEFAULT_REGION',
    default: '(none)',
    readBy: CORE,
    meaning: 'read when `AWS_REGION` is not set',
    library: true,
  },
  {
    name: 'AWS_ENDPOINT_URL_ECS',
    default: '(AWS)',
    readBy: CORE,
    meaning: "the AWS SDK's own endpoint setting; our code sets no endpoint",
    library: true,
  },
  {
    name: 'AWS_ENDPOINT_URL_SSM',
    default: '(AWS)',
    readBy: ['image-release', 'image-rollout'],
    meaning: "the AWS SDK's own endpoint setting (also `AWS_ENDPOINT_URL_CODEBUILD`, `AWS_ENDPOINT_URL_ECS`)",
    library: true,
  },
  {
    name: 'AWS_ENDPOINT_URL_AUTO_SCALING',
    default: '(AWS)',
    readBy: ['capacity'],
    meaning: "the AWS SDK's own endpoint setting; our code sets no endpoint",
    library: true,
  },
  {
    name: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
    default: '(AWS)',
    readBy: [...CORE, 'redeliver'],
    meaning: "the AWS SDK's own endpoint setting",
    library: true,
  },
  {
    name: 'AWS_ENDPOINT_URL_SQS',
    default: '(AWS)',
    readBy: ['webhook', 'launcher'],
    meaning: "the AWS SDK's own endpoint setting",
    library: true,
  },
  {
    name: 'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT',
    default: '(set by the stack)',
    readBy: [...CORE, 'redeliver'],
    meaning:
      "the AWS Parameters and Secrets extension's port, set by CDK with its layer: secrets are read through it (no AWS SDK at cold start), and through the SDK when it is unset or fails",
  },
  {
    name: 'AWS_SESSION_TOKEN',
    default: '(Lambda)',
    readBy: [...CORE, 'redeliver'],
    meaning: 'the token the secrets extension asks for; Lambda sets it',
    library: true,
  },
  {
    name: 'HOST',
    default: '`127.0.0.1`',
    readBy: ['npm start'],
    meaning: 'the address `npm start` listens on',
  },
  { name: 'PORT', default: '`3000`', readBy: ['npm start'], meaning: 'its port (`0`: any free port)' },
  {
    name: 'SETUP_SECRET_ARN',
    default: '(required)',
    readBy: ['setup'],
    meaning:
      'the setup page\'s one-time secret: `{"key"}` as generated at deploy; setup records its completion there, and the key stops working',
  },
  {
    name: 'WEBHOOK_URL',
    default: '(required)',
    readBy: ['setup'],
    meaning: "the stack's webhook URL: the webhook of the GitHub App the setup page makes",
  },
  {
    name: 'GITHUB_SERVER_URL',
    default: '`https://github.com` (from `GITHUB_API_URL`: `https://HOST` for `https://HOST/api/v3`)',
    readBy: ['setup'],
    meaning: "GitHub's web address: where the setup page posts the App manifest",
  },
  {
    name: 'STACK_NAME',
    default: '`GitHubRunners`',
    readBy: ['setup'],
    meaning: 'the stack, in the App name the setup page suggests and the commands it prints',
  },
  {
    name: 'SETUP_SPOT_RERUN',
    default: '`false` (`true` with a Spot profile)',
    readBy: ['setup'],
    meaning: 'the App may re-run a job a Spot interruption failed (`actions: write` instead of `read`)',
  },
];

/**
 * Upper-case names in our code that are not settings we read: what we pass to the runner container,
 * and constants of other APIs. A new name found by the scan must be described or listed here.
 */
export const NOT_SETTINGS: ReadonlySet<string> = new Set([
  // Set by our CLIs (runCommand) to silence the AWS SDK's Node.js 20 notice; no setting of ours.
  'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
  'UND_ERR_SOCKET',
  'RUNNER_CONFIG_ARGS',
  'RUNNER_JIT_CONFIG',
  // The standby runner container's (shared/ecs/run-task-input.ts STANDBY_ENV), set by the capacity function.
  'RUNNER_STANDBY_URL',
  'RUNNER_STANDBY_DELETE_URL',
  'RUNNER_STANDBY_UNTIL',
  'RUNNER_REGISTRATION_TOKEN',
  'RUNNER_LABELS',
  'RUNNER_ADMIN_TOKEN',
  'TASK_DEFINITION',
  'EAI_AGAIN',
  // What the runner image builds are given (their build arguments, CloudFormation's response).
  'RUNNER_SHA256',
  'DEPLOY_RESPONSE_URL',
  // CodeBuild build statuses the doctor reads.
  'IN_PROGRESS',
  'TIMED_OUT',
  // CloudFormation stack statuses the doctor reads.
  'UPDATE_ROLLBACK_COMPLETE',
]);

/** The folders whose code reads the environment: the functions, their core, the local commands. */
export const SOURCE_FOLDERS = ['functions', 'shared', 'bin'] as const;

const NAME = /['"`]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)['"`]|env\.([A-Z][A-Z0-9_]+)/g;

/** Upper-case, underscore-joined names quoted in `source`, or read as `env.NAME`: the candidates. */
export function namesIn(source: string): Set<string> {
  const names = new Set<string>();
  for (const match of source.matchAll(NAME)) names.add((match[1] ?? match[2]) as string);
  return names;
}

async function sourceFiles(folder: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts')) files.push(path);
  }
  return files;
}

/** Every candidate name in the source folders under `root`. */
export async function scanNames(root = '.'): Promise<Set<string>> {
  const names = new Set<string>();
  for (const folder of SOURCE_FOLDERS) {
    for (const file of await sourceFiles(join(root, folder))) {
      for (const name of namesIn(await readFile(file, 'utf8'))) names.add(name);
    }
  }
  return names;
}

/** What disagrees between the scan and {@link SETTINGS}, as sentences; empty when they agree. */
export function coverageProblems(found: ReadonlySet<string>, settings = SETTINGS): string[] {
  const described = new Set(settings.map((setting) => setting.name));
  const problems: string[] = [];
  for (const name of [...found].sort()) {
    if (!described.has(name) && !NOT_SETTINGS.has(name))
      problems.push(
        `${name} appears in the code but not in scripts/config-table.ts: describe it in SETTINGS, or add it to NOT_SETTINGS if the functions do not read it`,
      );
  }
  for (const setting of settings) {
    if (!setting.library && !found.has(setting.name))
      problems.push(
        `${setting.name} is described but no longer appears in the code: remove it from SETTINGS`,
      );
  }
  return problems;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** The Markdown table, one row per setting. */
export function renderTable(settings = SETTINGS): string {
  const rows = settings.map((s) =>
    [code(s.name), s.default, s.readBy.join(', '), s.context ? code(s.context) : '', s.meaning]
      .map(cell)
      .join(' | '),
  );
  return [
    '| variable | default | read by | stack setting | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}

export const DOC = 'docs/configuration.md';
const START = '<!-- config-table:start (npm run docs:config writes this table) -->';
const END = '<!-- config-table:end -->';

/** `doc` with the text between the markers replaced by the current table. */
export function withTable(doc: string, table = renderTable()): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOC} has no ${START} … ${END} block`);
  return `${doc.slice(0, start + START.length)}\n${table}\n${doc.slice(end)}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  const problems = coverageProblems(await scanNames());
  const doc = await readFile(DOC, 'utf8');
  const updated = withTable(doc);
  if (values.check && updated !== doc) problems.push(`${DOC} is out of date: run npm run docs:config`);
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n`);
    return 1;
  }
  if (!values.check && updated !== doc) {
    await writeFile(DOC, updated);
    process.stdout.write(`wrote the table of ${SETTINGS.length} variables to ${DOC}\n`);
  } else {
    process.stdout.write(`${DOC}: ${SETTINGS.length} variables, up to date\n`);
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
