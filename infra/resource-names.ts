import { createHash } from 'node:crypto';
import { SEED } from '../shared/defaults';

/** The physical names of the stack's resources, each overridable by the context key of the same name. */
export interface ResourceNames {
  readonly taskFamily: string;
  readonly containerName: string;
  readonly imageRepositoryName: string;
  readonly registrationTokenSecretName: string;
  readonly webhookSecretName: string;
  /** The GitHub credentials secret (JIT registration, the job check, the reconciler, the redelivery sweep). */
  readonly githubAuthSecretName: string;
  readonly taskRoleName: string;
  readonly taskRolePolicyName: string;
  readonly taskExecutionRoleName: string;
  readonly taskExecutionRolePolicyName: string;
  readonly logGroupName: string;
  readonly logStreamPrefix: string;
  readonly dashboardName: string;
  /** The setup page's one-time secret. */
  readonly setupSecretName: string;
}

export type ResourceName = keyof ResourceNames;

/** The seed's names, one stack per account: `seedNames=true`, for a deployment made with them. */
export function seedNames(stackName: string): ResourceNames {
  const { targetEnv, region, ...names } = SEED;
  return {
    ...names,
    webhookSecretName: 'github-actions-runner-webhook-secret',
    githubAuthSecretName: 'github-actions-runner-github-auth',
    dashboardName: `${stackName}-runners`,
    setupSecretName: 'github-actions-runner-setup',
  };
}

/** The longest `namePrefix`: the IAM role names (64 characters at most) add `-runner-exec-<region>`. */
export const NAME_PREFIX_MAX = 32;

/** What a `namePrefix` may be: ECR repository names are lower case. */
export const NAME_PREFIX_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * The default prefix: the stack name in lower case, so that two stacks of one account (staging and
 * production, or one per region) have names of their own. A stack name longer than
 * {@link NAME_PREFIX_MAX} keeps its start and a hash of the whole.
 */
export function defaultNamePrefix(stackName: string): string {
  const lower =
    stackName
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'runners';
  if (lower.length <= NAME_PREFIX_MAX) return lower;
  const hash = createHash('sha256').update(stackName).digest('hex').slice(0, 8);
  return `${lower.slice(0, NAME_PREFIX_MAX - 9).replace(/-+$/, '')}-${hash}`;
}

/**
 * The stack's own names, from its prefix. IAM role names and dashboard names are account-wide, so
 * they also carry the region (a second stack of the same name in another region fits); the rest are
 * regional. Names that no other stack sees (the container, the roles' inline policies, the log stream
 * prefix) stay the seed's.
 */
export function stackNames(prefix: string, region: string): ResourceNames {
  const seed = seedNames(prefix);
  return {
    taskFamily: `${prefix}-runner`,
    containerName: seed.containerName,
    imageRepositoryName: `${prefix}-runner`,
    registrationTokenSecretName: `${prefix}/registration-token`,
    webhookSecretName: `${prefix}/webhook-secret`,
    githubAuthSecretName: `${prefix}/github-auth`,
    taskRoleName: `${prefix}-runner-task-${region}`,
    taskRolePolicyName: seed.taskRolePolicyName,
    taskExecutionRoleName: `${prefix}-runner-exec-${region}`,
    taskExecutionRolePolicyName: seed.taskExecutionRolePolicyName,
    logGroupName: `${prefix}-runner`,
    logStreamPrefix: seed.logStreamPrefix,
    dashboardName: `${prefix}-runners-${region}`,
    setupSecretName: `${prefix}/setup`,
  };
}

/** What each name is, for the settings table. */
export const NAME_MEANINGS: Readonly<Record<ResourceName, string>> = {
  taskFamily: "the default profile's task definition family (the others: `<taskFamily>-<profile>`)",
  containerName: 'the runner container',
  imageRepositoryName: 'the ECR repository of the runner image',
  registrationTokenSecretName: 'the registration-token secret (`registration=token`)',
  webhookSecretName: 'the generated webhook secret',
  githubAuthSecretName: 'the GitHub credentials secret (value set by the setup page or the operator)',
  taskRoleName: 'the runner task role (IAM: account-wide)',
  taskRolePolicyName: "the task role's inline policy",
  taskExecutionRoleName: 'the runner task execution role (IAM: account-wide)',
  taskExecutionRolePolicyName: "the execution role's inline policy",
  logGroupName: 'the runner log group',
  logStreamPrefix: "the runner logs' stream prefix",
  dashboardName: 'the CloudWatch dashboard (account-wide)',
  setupSecretName: "the setup page's one-time secret (its key, then setup's completion)",
};

/** How each name is made by default, for the settings table: `<p>` is `namePrefix`, `<region>` the region. */
export const NAME_DEFAULTS: Readonly<Record<ResourceName, string>> = (() => {
  const made = stackNames('<p>', '<region>');
  const seed = seedNames('<stackName>');
  return Object.fromEntries(
    (Object.keys(made) as ResourceName[]).map((key) => [
      key,
      made[key] === seed[key] ? `\`${made[key]}\`` : `\`${made[key]}\` (\`seedNames\`: \`${seed[key]}\`)`,
    ]),
  ) as Record<ResourceName, string>;
})();
