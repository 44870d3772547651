/**
 * The seed's names and the template defaults, in one place: the functions read them at
 * cold start and the CDK app reads them when it synthesizes, so code and stack cannot drift.
 */
export const SEED = {
  taskFamily: 'github-actions-self-hosted-runner-debian-task',
  containerName: 'github-actions-self-hosted-runner-debian-container',
  imageRepositoryName: 'github-actions-self-hosted-runner-debian',
  registrationTokenSecretName: 'github-actions-runner-registration-token',
  taskRoleName: 'github-actions-self-hosted-runner-debian-iam-task-role',
  taskRolePolicyName: 'github-actions-self-hosted-runner-debian-iam-task-role-policy',
  taskExecutionRoleName: 'github-actions-self-hosted-runner-debian-iam-task-execution-role',
  taskExecutionRolePolicyName: 'github-actions-self-hosted-runner-debian-iam-task-execution-role-policy',
  logGroupName: 'github-actions-self-hosted-runner-debian-container',
  logStreamPrefix: 'self-hosted-runner-debian',
  targetEnv: 'sandpit',
  region: 'us-east-1',
} as const;

/**
 * Template defaults. The label uses only values every workflow trigger has (`schedule` runs have no
 * `github.event.repository`): `${{ github.repository_owner }}-<target_env>-${{ github.run_id }}-${{ github.run_attempt }}`.
 * The group reproduces the seed; the name adds the repository and the job id.
 */
export const TEMPLATE_DEFAULTS = {
  labels: '<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>',
  name: '<detail_org>-<target_env>-<detail_repo_name>-<wf_job_run_id>-<wf_job_run_attempt>-<wf_job_id>',
  group: '<detail_org>-<target_env>',
} as const;

/** The seed's `./config.sh` flags, in the seed's order; labels, name and group are filled per job. */
export const RUNNER_CONFIG_FLAGS = [
  '--unattended',
  '--replace',
  '--disableupdate',
  '--no-default-labels',
] as const;

/** Secret used by `npm start` and `npm run replay` when none is given. Local use only. */
export const LOCAL_WEBHOOK_SECRET = 'local-development-secret';

/** Environment variable names the runner container reads (the seed's contract). */
export const RUNNER_ENV = {
  configArgs: 'RUNNER_CONFIG_ARGS',
  labels: 'RUNNER_LABELS',
  organization: 'ORGANIZATION',
  repository: 'REPOSITORY',
  enterprise: 'ENTERPRISE',
  idleTimeout: 'RUNNER_IDLE_TIMEOUT',
} as const;

/**
 * The seed's runner task definition values that are not names: what the CDK app registers and
 * `npm run infra:render` writes, unless a setting overrides them.
 */
export const SEED_TASK = {
  /** The seed's `ORGANIZATION`; the webhook overrides it per job. */
  organization: 'foo-organisation',
  imageTag: 'latest',
  /** Task-level cpu units and memory (MiB), as in the seed. */
  cpu: 256,
  memoryMiB: 512,
  /** Seconds ECS waits after SIGTERM before SIGKILL: the entry point deregisters the runner in that time. */
  stopTimeoutSeconds: 120,
  scratchVolume: 'scratch',
  scratchPath: '/var/lib/docker',
  /** The seed's `dockerLabels.Name`. */
  nameLabel: 'github-actions-self-hosted-runner-debian',
  /** The seed's task tags besides `Env`. */
  appCategory: 'ecs_task',
} as const;

/** Where the webhook's CloudWatch EMF metrics go (namespace and `service` dimension). */
export const WEBHOOK_METRICS = {
  namespace: 'GitHubRunners',
  service: 'github-runners-webhook',
} as const;
