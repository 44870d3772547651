import { readFileSync } from 'node:fs';
import { DEFAULT_MAX_INSTANCES } from '../shared/capacity/capacity-groups';
import type { RunnerRegistration } from '../shared/config';
import { SEED, SEED_TASK, TEMPLATE_DEFAULTS } from '../shared/defaults';
import { didYouMean } from '../shared/nearest-name';
import { createSettingsReader } from '../shared/settings-reader';
import { packageFile } from './package-files';
import {
  defaultNamePrefix,
  NAME_DEFAULTS,
  NAME_MEANINGS,
  NAME_PREFIX_MAX,
  NAME_PREFIX_PATTERN,
  type ResourceName,
  type ResourceNames,
  seedNames,
  stackNames,
} from './resource-names';
import {
  architectureOf,
  CAPACITY_FIELDS,
  capacityGroups,
  OWNED_CAPACITY_FIELDS,
  type ProfileSettings,
  parseProfiles,
} from './runner-profiles';
import { type PolicyDocument, SEED_TASK_ROLE_POLICY } from './seed-documents';
import { defaultTaskSize, SHARED_INSTANCE_TASK, type TaskSize } from './task-size';

export type { ResourceNames } from './resource-names';

/** The stack's own runner image builds (docs/runner-image.md#built-by-the-stack). */
export interface ImageBuildSettings {
  /** When the image is rebuilt on the same release (an EventBridge schedule expression). */
  readonly rebuildSchedule: string;
  /** The image the Dockerfile starts FROM, pinned by its digest at each build. */
  readonly baseImage: string;
  /** Where actions/runner's releases are read (github.com's API, also with GitHub Enterprise Server). */
  readonly releasesApiUrl: string;
  /** The SSM parameters naming each architecture's current image: `<prefix>/<architecture>`. */
  readonly parameterPrefix: string;
}
/**
 * Who sets the instance count of a cluster of our own: `owned`, the capacity function from the
 * ledgers (a pristine instance per job, pools, the stack's groups only); `managed`, ECS managed
 * scaling from its CloudWatch metric (the way before, kept for comparison and migration).
 */
export type CapacityMode = 'owned' | 'managed';

const CAPACITY_MODES: readonly CapacityMode[] = ['owned', 'managed'];

/** Runner capacity: a cluster of our own on EC2 Auto Scaling, or an existing cluster and capacity provider. */
export type CapacitySettings =
  | {
      readonly kind: 'new';
      readonly mode: CapacityMode;
      /** Owned capacity: the most instances across the groups (`CAPACITY_MAX_INSTANCES`). */
      readonly maxInstancesTotal: number;
      readonly instanceTypes: readonly string[];
      readonly minCapacity: number;
      readonly maxCapacity: number;
      readonly rootVolumeGiB: number;
      /** An existing VPC (looked up at synth: needs account, region and credentials); none: a new one. */
      readonly vpcId: string | undefined;
    }
  | { readonly kind: 'existing'; readonly clusterName: string; readonly capacityProviderName: string };

/** Everything the stack is built from: the seed's values unless the context says otherwise. */
export interface InfraSettings {
  readonly stackName: string;
  readonly account: string | undefined;
  readonly region: string;
  readonly targetEnv: string;
  readonly organization: string;
  readonly names: ResourceNames;
  readonly imageTag: string;
  /** A runner image outside the stack's repository; none: the stack's repository at `imageTag`. */
  readonly imageUri: string | undefined;
  /**
   * How the stack builds the runner image, when the operator names none (neither `imageUri` nor
   * `imageTag`); undefined: the task definitions run the image named.
   */
  readonly imageBuild: ImageBuildSettings | undefined;
  /** The default profile's task cpu units and memory (MiB): `cpu` and `memoryMiB`, else sized from its instances. */
  readonly cpu: number;
  readonly memoryMiB: number;
  /**
   * Each profile's task size, by name: the profile's `cpu` and `memory`, else the stack's `cpu` and
   * `memoryMiB`, else the smallest of its instances less the host's reserve (infra/task-size.ts).
   */
  readonly taskSizes: Readonly<Record<string, TaskSize>>;
  /** What a job may do in AWS; undefined: nothing (the task role has no policy). */
  readonly taskRolePolicy: PolicyDocument | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly capacity: CapacitySettings;
  readonly logRetentionDays: number;
  readonly reservedConcurrency: number | undefined;
  readonly apiThrottle: { readonly rateLimit: number; readonly burstLimit: number };
  /** The WAF in front of the webhook's stage: who may call it, and how often one address may. */
  readonly webhookFirewall: WebhookFirewallSettings;
  readonly alarmTopicArn: string | undefined;
  /** An address the stack subscribes to a topic of its own for the alarms. */
  readonly alarmEmail: string | undefined;
  /** Webhook settings passed through to the function's environment (README's configuration table). */
  readonly webhookEnvironment: Readonly<Record<string, string>>;
  /**
   * `jit`: the functions register each runner with GitHub credentials and the task gets no admin
   * token; `token`: the seed's way, the registration-token secret in the task.
   */
  readonly registration: RunnerRegistration;
  /** Tries of an overflow message before it goes to the dead-letter queue. */
  readonly overflowMaxReceiveCount: number;
  /**
   * The redelivery sweep's environment without its credentials (`GITHUB_ORG` + `GITHUB_HOOK_ID` or
   * `GITHUB_HOOK`, and the optional settings); undefined: no hook configured, no sweep deployed.
   */
  readonly redeliverEnvironment: Readonly<Record<string, string>> | undefined;
  /** The reconciler's own settings (`RECONCILE_CAPACITY_WAIT`, `RECONCILE_MAX_ATTEMPTS`). */
  readonly reconcilerEnvironment: Readonly<Record<string, string>>;
  /** Whether the redelivery sweep is deployed once its hook is known (default true). */
  readonly redeliver: boolean;
  /**
   * The runner profiles, the first the default (the seed's task family and names). Without the
   * `profiles` context: one profile from the settings above, and no `RUNNER_PROFILES` for the
   * functions (they make the same one from `ECS_*`).
   */
  readonly profiles: readonly ProfileSettings[];
  /** Whether `profiles` came from the context (the functions then get `RUNNER_PROFILES`). */
  readonly profilesFromContext: boolean;
  /** ECS managed scaling's target capacity (%): below 100 keeps instances free for the next job. */
  readonly targetCapacityPercent: number;
  /** IAM principal ARNs (`*` allowed) that may read the credential secrets besides the functions. */
  readonly secretReaders: readonly string[];
  /** Whether the stack serves the setup page (its own API, function and one-time secret). */
  readonly setupPage: boolean;
}

/**
 * The webhook's allowed sources: GitHub's published hook ranges (refreshed from its meta API), the
 * operator's `webhookAllowedCidrs`, or, on GitHub Enterprise Server without that list, any address.
 */
export type WebhookSources =
  | { readonly kind: 'github' }
  | { readonly kind: 'cidrs'; readonly cidrs: readonly string[] }
  | { readonly kind: 'any' };

export interface WebhookFirewallSettings {
  readonly sources: WebhookSources;
  /** Requests one address may make in 5 minutes before WAF refuses it (429). */
  readonly rateLimit: number;
}

/** One context key: its default as README shows it, and what it sets. */
export interface ContextKey {
  readonly key: string;
  readonly default: string;
  readonly meaning: string;
}

/** Context keys passed straight to the webhook's environment variable of the same meaning. */
const WEBHOOK_PASS_THROUGH = {
  runnerScope: 'RUNNER_SCOPE',
  runnerEnterprise: 'RUNNER_ENTERPRISE',
  allowedOrgs: 'ALLOWED_ORGS',
  allowedRepos: 'ALLOWED_REPOS',
  publicRepositoriesAllowed: 'PUBLIC_REPOSITORIES_ALLOWED',
  internalRepositoriesTrusted: 'INTERNAL_REPOSITORIES_TRUSTED',
  runnerLabelsTemplate: 'RUNNER_LABELS_TEMPLATE',
  runnerNameTemplate: 'RUNNER_NAME_TEMPLATE',
  runnerGroupTemplate: 'RUNNER_GROUP_TEMPLATE',
  launchDeadlineMs: 'LAUNCH_DEADLINE_MS',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  githubApiUrl: 'GITHUB_API_URL',
  runnerGroupCreate: 'RUNNER_GROUP_CREATE',
  runnerGroupPublic: 'RUNNER_GROUP_PUBLIC',
  runnerGroupShared: 'RUNNER_GROUP_SHARED',
  jobQueuedCheckAfter: 'JOB_QUEUED_CHECK_AFTER',
  runnerIdleTimeout: 'RUNNER_IDLE_TIMEOUT',
} as const;

/** Context keys passed to the redelivery sweep's environment (`parseRedeliverSettings` reads them). */
const REDELIVER_PASS_THROUGH = {
  githubOrg: 'GITHUB_ORG',
  githubHookId: 'GITHUB_HOOK_ID',
  githubHook: 'GITHUB_HOOK',
  redeliverSince: 'REDELIVER_SINCE',
  redeliverMax: 'REDELIVER_MAX',
} as const;

const REGISTRATIONS: readonly RunnerRegistration[] = ['jit', 'token'];

/**
 * The runner image's default tag: the runner version the image builds (`RUNNER_VERSION` of
 * infra/runner-image/Dockerfile). The repository's tags are immutable: a rebuild of the same
 * version is pushed under a new tag (`2.338.0-2`) and deployed with `imageTag`.
 */
export const DEFAULT_IMAGE_TAG = (() => {
  const dockerfile = readFileSync(packageFile('infra/runner-image/Dockerfile'), 'utf8');
  const version = /^ARG RUNNER_VERSION=(\S+)$/m.exec(dockerfile)?.[1];
  if (version === undefined) throw new Error('infra/runner-image/Dockerfile has no ARG RUNNER_VERSION=');
  return version;
})();

/** How often the stack rebuilds its runner image on the same release: weekly. */
export const DEFAULT_REBUILD_SCHEDULE = 'rate(7 days)';

/**
 * The base of the stack's builds: Debian's official image through ECR Public, which CodeBuild
 * reaches without Docker Hub's anonymous pull limit (shared by every CodeBuild address).
 */
export const DEFAULT_BASE_IMAGE = 'public.ecr.aws/docker/library/debian:bookworm-slim';

/** The default name of the GitHub credentials secret. */
export const GITHUB_AUTH_SECRET_NAME = 'github-actions-runner-github-auth';

/** Log retention periods CloudWatch Logs accepts. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/**
 * Every setting, for `-c key=value`, `cdk.json`, the settings file or the construct's props;
 * docs/infrastructure.md's table lists the same.
 */
export const CONTEXT_KEYS = [
  { key: 'stackName', default: 'GitHubRunners', meaning: 'CloudFormation stack name' },
  {
    key: 'account',
    default: '`CDK_DEFAULT_ACCOUNT`',
    meaning: 'AWS account (none: synth stays account-agnostic)',
  },
  { key: 'region', default: `\`CDK_DEFAULT_REGION\`, else \`${SEED.region}\``, meaning: 'AWS region' },
  {
    key: 'targetEnv',
    default: `\`${SEED.targetEnv}\``,
    meaning: '`Env` tag and docker label, `TARGET_ENV` of the webhook',
  },
  {
    key: 'organization',
    default: `\`${SEED_TASK.organization}\``,
    meaning: "the task definition's default `ORGANIZATION` (the webhook sets it per job)",
  },
  {
    key: 'namePrefix',
    default: '(the stack name in lower case)',
    meaning:
      "the start of the stack's physical names below (`[a-z0-9-]`, up to 32 characters): two stacks of one account need two prefixes; IAM role and dashboard names also carry the region",
  },
  {
    key: 'seedNames',
    default: '`false`',
    meaning:
      "`true`: the seed's fixed names below (one stack per account), for a deployment made with them (docs/upgrading.md); each name's own key still wins",
  },
  ...(Object.keys(NAME_MEANINGS) as ResourceName[]).map((key) => ({
    key,
    default: NAME_DEFAULTS[key],
    meaning: NAME_MEANINGS[key],
  })),
  {
    key: 'imageTag',
    default: '(none: the stack builds the image)',
    meaning:
      "a runner image you pushed to the stack's ECR repository, whose tags are immutable (`latest` is refused): pins the task definitions to it, and the stack builds none",
  },
  {
    key: 'imageUri',
    default: '(none: the stack builds the image)',
    meaning:
      "a runner image elsewhere: pins the task definitions to it, and the stack builds none (the execution role still pulls only from the stack's repository)",
  },
  {
    key: 'imageRebuildSchedule',
    default: `\`${DEFAULT_REBUILD_SCHEDULE}\``,
    meaning:
      'when the stack rebuilds its runner image on the same runner release, for a refreshed base and packages (an EventBridge `rate(...)` or `cron(...)`); a newer release is looked for daily besides',
  },
  {
    key: 'imageBaseImage',
    default: `\`${DEFAULT_BASE_IMAGE}\``,
    meaning:
      "the image the stack's builds start FROM (the Dockerfile's BASE_IMAGE), pinned by its digest at each build",
  },
  {
    key: 'runnerReleasesApiUrl',
    default: '`https://api.github.com`',
    meaning:
      "where the stack reads actions/runner's releases (github.com, also with GitHub Enterprise Server)",
  },
  {
    key: 'cpu',
    default: "(the instance's: every vCPU, 1024 units each)",
    meaning:
      'task cpu units. By default a runner task (Docker daemon, runner and job) gets its whole instance: with one task per instance (`distinctInstance`) the smallest instance type of its capacity; tasks sharing an instance, or on an existing cluster, get 1024',
  },
  {
    key: 'memoryMiB',
    default: "(the instance's, less the host's reserve)",
    meaning:
      "task memory (MiB). By default the smallest instance type's memory less a tenth (at least 512 MiB) for the kernel, the ECS agent and Docker: 3584 on a `t3.medium`; tasks sharing an instance, or on an existing cluster, get 2048",
  },
  {
    key: 'taskRolePolicy',
    default: '(none: jobs get no AWS permission)',
    meaning: "the task role's policy document (JSON): what a job may do in AWS",
  },
  {
    key: 'taskRoleSeedPolicy',
    default: '`false`',
    meaning:
      "`true`: the seed's `ec2:Describe*` task role policy, when no `taskRolePolicy` is given. Off by default: `ec2:DescribeInstanceAttribute` reads every instance's user data, so any job's code could",
  },
  {
    key: 'tags',
    default: '`{}`',
    meaning: 'extra tags on every resource (JSON object); `Env` is always `targetEnv`',
  },
  {
    key: 'clusterName',
    default: '(a new cluster)',
    meaning: 'an existing ECS cluster; needs `capacityProviderName`',
  },
  {
    key: 'capacityProviderName',
    default: '(a new one)',
    meaning: "the existing cluster's capacity provider",
  },
  {
    key: 'vpcId',
    default: '(a new VPC, public subnets, no NAT)',
    meaning: 'an existing VPC for the new cluster (looked up: needs account, region, credentials)',
  },
  {
    key: 'instanceTypes',
    default: '`t3.medium`',
    meaning: 'instance types of the Auto Scaling group (comma list, one architecture)',
  },
  { key: 'minCapacity', default: '0', meaning: 'Auto Scaling group minimum' },
  { key: 'maxCapacity', default: '10', meaning: 'Auto Scaling group maximum' },
  {
    key: 'rootVolumeGiB',
    default: '50',
    meaning: "instances' encrypted root volume (holds every task's `/var/lib/docker`)",
  },
  {
    key: 'logRetentionDays',
    default: '30',
    meaning: 'retention of the runner, function and API access log groups',
  },
  { key: 'reservedConcurrency', default: '(none)', meaning: "the webhook's reserved concurrency" },
  {
    key: 'apiThrottleRate',
    default: '100',
    meaning: "the webhook stage's steady requests per second (all callers together, after the WAF)",
  },
  {
    key: 'apiThrottleBurst',
    default: '1000',
    meaning:
      "the webhook stage's burst: a 256-job matrix (GitHub's maximum) sends 3 to 4 deliveries per job within seconds",
  },
  {
    key: 'webhookAllowedCidrs',
    default: "(GitHub's hook ranges, refreshed hourly)",
    meaning:
      "the sources the WAF lets reach the webhook (comma list or JSON array of CIDRs), instead of GitHub's published hook ranges; also the function's `WEBHOOK_ALLOWED_CIDRS`, a second fence. Needed with GitHub Enterprise Server (`githubApiUrl`): the appliance's addresses",
  },
  {
    key: 'webhookRateLimit',
    default: '3000',
    meaning:
      'requests one source address may send the webhook in 5 minutes before the WAF answers 429 (a 256-job matrix is about 1,000 deliveries)',
  },
  { key: 'alarmTopicArn', default: '(none)', meaning: 'an SNS topic of yours the alarms notify' },
  {
    key: 'alarmEmail',
    default: '(none)',
    meaning:
      'an address the alarms notify through a topic of the stack (confirm the subscription mail); with neither this nor `alarmTopicArn` the synth warns: alarms notify nobody',
  },
  {
    key: 'existingClusterUnblockedMetadata',
    default: '`false`',
    meaning:
      "`true` accepts that an existing cluster (`clusterName`) runs the privileged runner without this stack's instance metadata block: a job could use the instance role. Without it the synth refuses an existing cluster",
  },
  {
    key: 'profiles',
    default: '(one profile from `cpu`, `memoryMiB`, `instanceTypes`…)',
    meaning:
      'runner profiles (JSON array): `name`, `labels`, `containerName`, `cpu`, `memory`, `distinctInstance`, `publicRepositories`, and the capacity of each: `architecture`, `spot`, `instanceTypes`, `minInstances`, `maxInstances`, `warmPool`, and with owned capacity `hotPool`, `hotSchedule`, `reuseIdleMinutes`, `onInterruption` (see Profiles below)',
  },
  {
    key: 'capacityMode',
    default: '`owned`',
    meaning:
      "who sets the instance count of the stack's cluster: `owned`, the capacity function, from the job ledger (a pristine instance per job, started when the job is queued; hot and warm pools per profile); `managed`, ECS managed scaling (the way before: an instance serves several jobs, minutes of scaling delay). Not with `clusterName`",
  },
  {
    key: 'maxInstancesTotal',
    default: String(DEFAULT_MAX_INSTANCES),
    meaning:
      "owned capacity: the most instances across all profiles' groups together, on top of each group's `maxInstances` (`CAPACITY_MAX_INSTANCES`)",
  },
  {
    key: 'targetCapacityPercent',
    default: '100',
    meaning:
      'with `capacityMode=managed`: ECS managed scaling target capacity of every capacity provider: below 100 keeps instances running ahead of demand (headroom)',
  },
  {
    key: 'settingsFile',
    default: '`runners.config.json` (`RUNNERS_CONFIG` in the environment)',
    meaning: 'a JSON object of these settings; `-c` values win over it',
  },
  ...(Object.keys(WEBHOOK_PASS_THROUGH) as (keyof typeof WEBHOOK_PASS_THROUGH)[]).map((key) => ({
    key,
    default: '(the webhook default)',
    meaning: `the webhook's \`${WEBHOOK_PASS_THROUGH[key]}\``,
  })),
  {
    key: 'registration',
    default: '`jit`',
    meaning:
      "`jit`: the functions register each runner, the task gets a one-use config; `token`: the functions read the seed's registration-token secret and hand each task a registration token; no admin token in any task",
  },
  {
    key: 'secretReaders',
    default: '(none)',
    meaning:
      "IAM role ARNs (`*` allowed) that may read the GitHub credentials besides the functions, e.g. the operator's role for `npm run doctor` and `npm run redeliver`; everyone else is denied by the secrets' resource policy",
  },
  {
    key: 'setupPage',
    default: '`true`',
    meaning:
      'the setup page (docs/github-setup.md): an API of its own with `/setup` and `/setup/callback`, behind a one-time secret; `false` once setup is done removes it',
  },
  {
    key: 'overflowMaxReceiveCount',
    default: '10',
    meaning: 'tries of an overflow message before the dead-letter queue',
  },
  {
    key: 'reconcileCapacityWait',
    default: '600',
    meaning:
      "seconds a job's task may wait for capacity (PROVISIONING) before the reconciler replaces it (`RECONCILE_CAPACITY_WAIT`)",
  },
  {
    key: 'reconcileMaxAttempts',
    default: '3',
    meaning: 'tasks started for one job before the reconciler gives up and alarms (`RECONCILE_MAX_ATTEMPTS`)',
  },
  { key: 'githubOrg', default: '(none)', meaning: "the redelivery sweep's `GITHUB_ORG`" },
  {
    key: 'githubHookId',
    default: '(none: no sweep)',
    meaning: "the organisation webhook's id, the sweep's `GITHUB_HOOK_ID`",
  },
  {
    key: 'githubHook',
    default: '(none)',
    meaning:
      "`app`: the webhook is the GitHub App's (`GITHUB_HOOK` of the webhook and the sweep); needs `allowedOrgs`, or any organisation that installs the App would be served",
  },
  {
    key: 'redeliver',
    default: '`true`',
    meaning:
      '`false`: no redelivery sweep even when its hook (`githubHook` or `githubOrg` + `githubHookId`) is set',
  },
  { key: 'redeliverSince', default: '(the sweep default)', meaning: "the sweep's `REDELIVER_SINCE`" },
  { key: 'redeliverMax', default: '(the sweep default)', meaning: "the sweep's `REDELIVER_MAX`" },
] as const satisfies readonly ContextKey[];

/** A setting's name: a key of {@link CONTEXT_KEYS}. */
export type SettingKey = (typeof CONTEXT_KEYS)[number]['key'];

/**
 * A setting's value as the settings file holds it (JSON: `"maxCapacity": 10`, `"instanceTypes":
 * ["t3.large"]`), or as text the way `-c` gives it (`"10"`, `"t3.large,t3.xlarge"`): the parser
 * takes both. Unset (undefined) is the default.
 */
export type SettingValue =
  | string
  | number
  | boolean
  | readonly unknown[]
  | { readonly [key: string]: unknown }
  | undefined;

/** Settings by name, as the settings file holds them. */
export type Settings = { readonly [K in SettingKey]?: SettingValue };

/**
 * Context keys that are CDK's, not ours: feature flags (`@aws-cdk/core:…`), the CLI's own
 * (`aws:cdk:…`, `cli-telemetry`), lookups (`vpc-provider:account=…`) and `cdk acknowledge`'s list.
 */
const isCdkContextKey = (key: string) =>
  key.includes(':') || key === 'cli-telemetry' || key === 'acknowledged-issue-numbers';

/**
 * A problem for every key that is no setting, with the nearest setting's name: a mistyped
 * `-c runnerScop=org` would otherwise be ignored and the stack deployed without it. `source` says
 * where the key came from ("context key", "runners.config.json:"); CDK's own context keys pass.
 */
export function unknownSettings(keys: Iterable<string>, source: string): string[] {
  const known: readonly string[] = CONTEXT_KEYS.map((entry) => entry.key);
  const problems: string[] = [];
  for (const key of keys) {
    // `//` keys are comments (the settings file's, or a copy of it passed as context).
    if (known.includes(key) || isCdkContextKey(key) || key.startsWith('//')) continue;
    problems.push(
      `${source} "${key}" is no setting${didYouMean(key, known)} (docs/infrastructure.md lists them)`,
    );
  }
  return problems;
}

/** The problems in the context, all at once: the operator fixes them in one go. */
export class SettingsError extends Error {
  /** `of` says whose settings they are ("EcsGitHubRunners settings"). */
  constructor(
    readonly problems: readonly string[],
    of = 'CDK context',
  ) {
    super(`invalid ${of}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SettingsError';
  }
}

/**
 * Reads the settings from the CDK context (`get` is `node.tryGetContext`) and the environment,
 * with the seed's values as defaults. Context from `-c key=value` arrives as a string, from
 * `cdk.json` as JSON: both are accepted.
 */
export function readSettings(
  get: (key: string) => unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): InfraSettings {
  const problems: string[] = [];
  const known = new Set<string>(CONTEXT_KEYS.map((entry) => entry.key));

  const reader = createSettingsReader((key) => {
    if (!known.has(key)) throw new Error(`context key "${key}" is missing from CONTEXT_KEYS`);
    return get(key);
  }, problems);
  const { text, list, json } = reader;
  const int = (key: string, fallback: number, min: number, max: number): number =>
    reader.int(key, fallback, { min, max });
  const optionalInt = (key: string, min: number, max: number): number | undefined =>
    text(key) === undefined ? undefined : int(key, min, min, max);
  const bool = (key: string, fallback: boolean): boolean => reader.bool(key, fallback);

  const stackName = text('stackName') ?? 'GitHubRunners';
  const region = text('region') ?? nonEmpty(env.CDK_DEFAULT_REGION) ?? SEED.region;
  const namePrefix = text('namePrefix');
  if (
    namePrefix !== undefined &&
    (namePrefix.length > NAME_PREFIX_MAX || !NAME_PREFIX_PATTERN.test(namePrefix))
  )
    problems.push(
      `namePrefix must be lower-case letters, digits and inner hyphens, up to ${NAME_PREFIX_MAX} characters (got "${namePrefix}")`,
    );
  const useSeedNames = bool('seedNames', false);
  if (useSeedNames && namePrefix !== undefined)
    problems.push("set namePrefix or seedNames=true, not both: seedNames keeps the seed's fixed names");
  const baseNames = useSeedNames
    ? seedNames(stackName)
    : stackNames(namePrefix ?? defaultNamePrefix(stackName), region);
  const names = Object.fromEntries(
    (Object.keys(baseNames) as ResourceName[]).map((key) => [key, text(key) ?? baseNames[key]]),
  ) as unknown as ResourceNames;

  const targetEnv = text('targetEnv') ?? SEED.targetEnv;
  if (!/^[A-Za-z0-9._-]+$/.test(targetEnv))
    problems.push(`targetEnv may only use [A-Za-z0-9._-] (got "${targetEnv}")`);

  const clusterName = text('clusterName');
  const capacityProviderName = text('capacityProviderName');
  const modeText = text('capacityMode');
  let capacity: CapacitySettings;
  if (clusterName !== undefined || capacityProviderName !== undefined) {
    for (const key of ['capacityMode', 'maxInstancesTotal']) {
      if (text(key) !== undefined)
        problems.push(
          `${key} is for a cluster of the stack's own: an existing cluster (clusterName) keeps its own scaling; leave ${key} out`,
        );
    }
    if (clusterName === undefined || capacityProviderName === undefined) {
      problems.push(
        'clusterName and capacityProviderName go together (an existing cluster and its capacity provider)',
      );
    }
    if (!bool('existingClusterUnblockedMetadata', false)) {
      problems.push(
        'clusterName: this stack blocks the instance metadata from tasks only on the instances it launches; the runner container is privileged, so on an existing cluster a job could reach the instance role. Block it there (docs/infrastructure.md) and set existingClusterUnblockedMetadata=true to accept, or leave clusterName out',
      );
    }
    capacity = {
      kind: 'existing',
      clusterName: clusterName ?? '',
      capacityProviderName: capacityProviderName ?? '',
    };
  } else {
    const minCapacity = int('minCapacity', 0, 0, 1000);
    const maxCapacity = int('maxCapacity', 10, 1, 1000);
    if (minCapacity > maxCapacity)
      problems.push(`minCapacity (${minCapacity}) exceeds maxCapacity (${maxCapacity})`);
    const instanceTypes = list('instanceTypes');
    const mode = CAPACITY_MODES.find((candidate) => candidate === (modeText ?? 'owned'));
    if (mode === undefined)
      problems.push(`capacityMode must be ${CAPACITY_MODES.join(' or ')} (got "${modeText}")`);
    if (mode === 'owned' && text('targetCapacityPercent') !== undefined)
      problems.push(
        "targetCapacityPercent is ECS managed scaling's: with capacityMode=owned (the default) there is no managed scaling; keep instances ready with a profile's hotPool, or set capacityMode=managed",
      );
    capacity = {
      kind: 'new',
      mode: mode ?? 'owned',
      maxInstancesTotal: int('maxInstancesTotal', DEFAULT_MAX_INSTANCES, 1, 10_000),
      instanceTypes: instanceTypes.length > 0 ? instanceTypes : ['t3.medium'],
      minCapacity,
      maxCapacity,
      rootVolumeGiB: int('rootVolumeGiB', 50, 30, 16384),
      vpcId: text('vpcId'),
    };
  }

  const logRetentionDays = int('logRetentionDays', 30, 1, 3653);
  if (!RETENTION_DAYS.includes(logRetentionDays)) {
    problems.push(`logRetentionDays must be one of ${RETENTION_DAYS.join(', ')} (got ${logRetentionDays})`);
  }

  const webhookEnvironment: Record<string, string> = {};
  for (const [key, variable] of Object.entries(WEBHOOK_PASS_THROUGH)) {
    const value = Array.isArray(get(key)) ? list(key).join(',') : text(key);
    if (value !== undefined) webhookEnvironment[variable] = value;
  }

  const cidrs = text('webhookAllowedCidrs')?.startsWith('[')
    ? (json('webhookAllowedCidrs', isStringArray, 'a list of CIDRs') ?? [])
    : list('webhookAllowedCidrs');
  const badCidrs = cidrs.filter((cidr) => !isCidr(cidr));
  if (badCidrs.length > 0)
    problems.push(
      `webhookAllowedCidrs must be IPv4 or IPv6 CIDRs (got ${badCidrs.map((c) => `"${c}"`).join(', ')})`,
    );
  if (cidrs.length > 0) webhookEnvironment.WEBHOOK_ALLOWED_CIDRS = cidrs.join(',');
  const apiUrl = webhookEnvironment.GITHUB_API_URL?.replace(/\/+$/, '');
  const webhookSources: WebhookSources =
    cidrs.length > 0
      ? { kind: 'cidrs', cidrs }
      : apiUrl === undefined || apiUrl === 'https://api.github.com'
        ? { kind: 'github' }
        : { kind: 'any' };

  const hook = text('githubHook');
  if (hook !== undefined) webhookEnvironment.GITHUB_HOOK = hook;
  if (hook === 'app' && webhookEnvironment.ALLOWED_ORGS === undefined) {
    problems.push(
      'githubHook=app needs allowedOrgs: a GitHub App webhook with no ALLOWED_ORGS serves any organisation that installs the App',
    );
  }

  const registrationText = text('registration') ?? 'jit';
  const registration = REGISTRATIONS.find((candidate) => candidate === registrationText);
  if (registration === undefined)
    problems.push(`registration must be ${REGISTRATIONS.join(' or ')} (got "${registrationText}")`);

  const redeliver = bool('redeliver', true);
  // With JIT registration the stack has GitHub credentials: the sweep is on even before a hook is
  // named, and reads the GitHub App's own hook when the credentials are an App.
  const redeliverEnvironment = redeliver
    ? readRedeliverEnvironment(text, problems, (registration ?? 'jit') === 'jit')
    : undefined;
  if (redeliverEnvironment !== undefined) {
    for (const variable of ['GITHUB_API_URL', 'POWERTOOLS_LOG_LEVEL']) {
      const value = webhookEnvironment[variable];
      if (value !== undefined) redeliverEnvironment[variable] = value;
    }
  }

  const profilesContext = get('profiles');
  const profilesFromContext =
    profilesContext !== undefined && profilesContext !== null && profilesContext !== '';
  let profiles: ProfileSettings[];
  if (profilesFromContext) {
    let value: unknown = profilesContext;
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value);
      } catch {
        problems.push('profiles must be JSON (an array of profiles)');
        value = undefined;
      }
    }
    profiles = value === undefined ? [] : parseProfiles(value, problems);
    if (capacity.kind === 'existing') {
      const capacityFields: readonly string[] = CAPACITY_FIELDS;
      if (
        Array.isArray(value) &&
        value.some((profile) => capacityFields.some((field) => field in Object(profile)))
      )
        problems.push(
          `profiles on an existing cluster (clusterName) all run on its capacity provider: leave out ${capacityFields.join(', ')}`,
        );
    }
    if (capacity.kind === 'new' && capacity.mode === 'managed') {
      const owned = profiles.filter(
        (profile) =>
          profile.hotPool > 0 ||
          profile.hotSchedule !== undefined ||
          profile.reuseIdleMinutes !== undefined ||
          profile.onInterruption !== undefined,
      );
      if (owned.length > 0)
        problems.push(
          `profiles ${owned.map((profile) => profile.name).join(', ')}: ${OWNED_CAPACITY_FIELDS.join(', ')} need capacityMode=owned (ECS managed scaling keeps no pools)`,
        );
    }
    if (capacity.kind === 'new' && capacity.mode === 'owned') capacityGroups(profiles, capacity, problems);
  } else {
    profiles = [
      {
        name: 'default',
        labels: [webhookEnvironment.RUNNER_LABELS_TEMPLATE ?? TEMPLATE_DEFAULTS.labels],
        containerName: undefined,
        cpu: undefined,
        memory: undefined,
        distinctInstance: true,
        architecture:
          capacity.kind === 'new' ? architectureOf(capacity.instanceTypes[0] ?? 't3.medium') : 'x86_64',
        spot: false,
        instanceTypes: undefined,
        minInstances: undefined,
        maxInstances: undefined,
        warmPool: 0,
        hotPool: 0,
        hotSchedule: undefined,
        reuseIdleMinutes: undefined,
        onInterruption: undefined,
        publicRepositories: false,
      },
    ];
  }

  // Task-level cpu and memory for EC2: any value the instances can hold (ECS's own limits).
  const stackSize = {
    cpu: optionalInt('cpu', 128, 196_608),
    memory: optionalInt('memoryMiB', 128, 1_048_576),
  };
  const taskSizes = readTaskSizes(profiles, capacity, stackSize, problems);
  const defaultSize = taskSizes[profiles[0]?.name ?? ''] ?? SHARED_INSTANCE_TASK;

  const settings: InfraSettings = {
    stackName,
    account: text('account') ?? nonEmpty(env.CDK_DEFAULT_ACCOUNT),
    region,
    targetEnv,
    organization: text('organization') ?? SEED_TASK.organization,
    names,
    imageTag: readImageTag(text('imageTag'), problems),
    imageUri: text('imageUri'),
    imageBuild:
      text('imageTag') !== undefined || text('imageUri') !== undefined
        ? undefined
        : {
            rebuildSchedule: readSchedule(text('imageRebuildSchedule') ?? DEFAULT_REBUILD_SCHEDULE, problems),
            baseImage: text('imageBaseImage') ?? DEFAULT_BASE_IMAGE,
            releasesApiUrl: readUrl(
              'runnerReleasesApiUrl',
              text('runnerReleasesApiUrl') ?? 'https://api.github.com',
              problems,
            ),
            parameterPrefix: `/${text('stackName') ?? 'GitHubRunners'}/runner-image`,
          },
    cpu: defaultSize.cpu,
    memoryMiB: defaultSize.memory,
    taskSizes,
    taskRolePolicy:
      json('taskRolePolicy', isPolicyDocument, 'an IAM policy document with Version and Statement') ??
      (bool('taskRoleSeedPolicy', false) ? SEED_TASK_ROLE_POLICY : undefined),
    tags: json('tags', isStringRecord, 'an object of string tag values') ?? {},
    capacity,
    logRetentionDays,
    reservedConcurrency: optionalInt('reservedConcurrency', 1, 1000),
    apiThrottle: {
      rateLimit: int('apiThrottleRate', 100, 1, 10_000),
      burstLimit: int('apiThrottleBurst', 1000, 1, 5_000),
    },
    // WAF's rate-based rules take 10 and up (a 5-minute window here).
    webhookFirewall: { sources: webhookSources, rateLimit: int('webhookRateLimit', 3000, 10, 2_000_000_000) },
    alarmTopicArn: text('alarmTopicArn'),
    alarmEmail: readEmail(text('alarmEmail'), problems),
    webhookEnvironment,
    registration: registration ?? 'jit',
    overflowMaxReceiveCount: int('overflowMaxReceiveCount', 10, 1, 1000),
    redeliverEnvironment,
    redeliver,
    profiles,
    profilesFromContext,
    targetCapacityPercent: int('targetCapacityPercent', 100, 1, 100),
    secretReaders: readPrincipalArns(list('secretReaders'), problems),
    setupPage: bool('setupPage', true),
    reconcilerEnvironment: {
      RECONCILE_CAPACITY_WAIT: String(int('reconcileCapacityWait', 600, 60, 86_400)),
      RECONCILE_MAX_ATTEMPTS: String(int('reconcileMaxAttempts', 3, 1, 20)),
    },
  };
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}

/**
 * Each profile's task size (see {@link InfraSettings.taskSizes}). A profile's tasks may run on any
 * instance of its capacity group, and a Spot profile's also on its fallback, the On-Demand group of
 * its architecture: the default fits the smallest of them.
 */
function readTaskSizes(
  profiles: readonly ProfileSettings[],
  capacity: CapacitySettings,
  stackSize: { readonly cpu: number | undefined; readonly memory: number | undefined },
  problems: string[],
): Record<string, TaskSize> {
  const groups = capacity.kind === 'new' ? capacityGroups(profiles, capacity) : [];
  const groupOf = (name: string) => groups.find((group) => group.profiles.includes(name));
  const sizes: Record<string, TaskSize> = {};
  for (const profile of profiles) {
    const cpu = profile.cpu ?? stackSize.cpu;
    const memory = profile.memory ?? stackSize.memory;
    let derived: TaskSize | undefined = SHARED_INSTANCE_TASK;
    let instanceTypes: string[] = [];
    if (capacity.kind === 'new' && (cpu === undefined || memory === undefined)) {
      const fallback = profile.spot
        ? profiles.find((other) => other.architecture === profile.architecture && !other.spot)
        : undefined;
      instanceTypes = [
        ...new Set([
          ...(groupOf(profile.name)?.instanceTypes ?? []),
          ...(fallback === undefined ? [] : (groupOf(fallback.name)?.instanceTypes ?? [])),
        ]),
      ];
      derived = defaultTaskSize(instanceTypes, profile.distinctInstance);
    }
    const where =
      profiles.length === 1 && profile.name === 'default' ? 'the runner task' : `profiles "${profile.name}"`;
    const fix = where === 'the runner task' ? 'set cpu and memoryMiB' : "give the profile's cpu and memory";
    if (derived === undefined) {
      problems.push(
        `${where}: cannot size its task from the instance types ${instanceTypes.join(', ')} (only t3, t3a, t4g and the c, m and r families of generation 4 and later are known): ${fix}`,
      );
      continue;
    }
    const size = { cpu: cpu ?? derived.cpu, memory: memory ?? derived.memory };
    if (size.memory < 1024) {
      problems.push(
        `${where}: ${instanceTypes.join(', ')} leave${instanceTypes.length === 1 ? 's' : ''} ${size.memory} MiB for a runner task, too little for a Docker daemon and a job: choose larger instance types or ${fix}`,
      );
    }
    sizes[profile.name] = size;
  }
  return sizes;
}

/** `secretReaders`: IAM principal ARNs, as `aws:PrincipalArn` names them (a role's, not its session's). */
function readPrincipalArns(arns: readonly string[], problems: string[]): readonly string[] {
  for (const arn of arns) {
    if (!/^arn:aws[a-z-]*:iam::(\d{12}|\*):[\w+=,.@/*-]+$/.test(arn))
      problems.push(
        `secretReaders must be IAM role or user ARNs, as arn:aws:iam::123456789012:role/Name (got "${arn}")`,
      );
  }
  return arns;
}

/**
 * The redelivery sweep's hook: `githubHook=app`, or `githubOrg` + `githubHookId` (the id exists only
 * once the operator has created the webhook). Without either, and with the stack's GitHub
 * credentials (`withCredentials`), the sweep names no hook: it reads the GitHub App's own hook
 * when the credentials are an App (`GET /app/hook/deliveries` needs no id) and does nothing with a token.
 */
function readRedeliverEnvironment(
  text: (key: string) => string | undefined,
  problems: string[],
  withCredentials: boolean,
): Record<string, string> | undefined {
  const hook = text('githubHook');
  const org = text('githubOrg');
  const hookId = text('githubHookId');
  if (hook !== undefined && hook !== 'app')
    problems.push(`githubHook must be app, the GitHub App's hook (got "${hook}")`);
  if (hook !== undefined && hookId !== undefined)
    problems.push('set githubHook=app or githubOrg + githubHookId, not both');
  if (hookId !== undefined && !/^[1-9]\d*$/.test(hookId))
    problems.push(`githubHookId must be the webhook's numeric id (got "${hookId}")`);
  if (hookId !== undefined && org === undefined) problems.push('githubHookId needs githubOrg');
  const named = hook !== undefined || (org !== undefined && hookId !== undefined);
  if (!named && !withCredentials) return undefined;
  const environment: Record<string, string> = {};
  for (const [key, variable] of Object.entries(REDELIVER_PASS_THROUGH)) {
    const value = key === 'githubOrg' && (hook !== undefined || !named) ? undefined : text(key);
    if (value !== undefined) environment[variable] = value;
  }
  return environment;
}

/** An immutable tag: anything but `latest`, which would name a different image on every push. */
function readImageTag(tag: string | undefined, problems: string[]): string {
  if (tag === 'latest') {
    problems.push(
      `imageTag must name one build (the repository's tags are immutable); not "latest" (default: ${DEFAULT_IMAGE_TAG})`,
    );
  } else if (tag !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) {
    problems.push(`imageTag must be a Docker tag: [A-Za-z0-9_.-], up to 128 characters (got "${tag}")`);
  }
  return tag ?? DEFAULT_IMAGE_TAG;
}

/** An EventBridge schedule: `rate(7 days)`, `cron(0 4 ? * SUN *)`. */
function readSchedule(schedule: string, problems: string[]): string {
  if (!/^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+( \S+){5}\))$/.test(schedule))
    problems.push(
      `imageRebuildSchedule must be an EventBridge schedule, rate(7 days) or cron(0 4 ? * SUN *) (got "${schedule}")`,
    );
  return schedule;
}

function readUrl(key: string, url: string, problems: string[]): string {
  if (!/^https?:\/\/[^/\s]+/.test(url)) problems.push(`${key} must be an http(s) URL (got "${url}")`);
  return url.replace(/\/+$/, '');
}

function readEmail(email: string | undefined, problems: string[]): string | undefined {
  if (email !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
    problems.push(`alarmEmail must be an email address (got "${email}")`);
  return email;
}

function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  if (address === undefined || bits === undefined || rest.length > 0 || !/^\d{1,3}$/.test(bits)) return false;
  const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (ipv4 !== null) return ipv4.slice(1).every((octet) => Number(octet) <= 255) && Number(bits) <= 32;
  return /^[0-9A-Fa-f:]+$/.test(address) && address.includes(':') && Number(bits) <= 128;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((item) => typeof item === 'string')
  );
}

function isPolicyDocument(value: unknown): value is PolicyDocument {
  if (typeof value !== 'object' || value === null) return false;
  const { Version, Statement } = value as { Version?: unknown; Statement?: unknown };
  return Version === '2012-10-17' && Array.isArray(Statement) && Statement.length > 0;
}
