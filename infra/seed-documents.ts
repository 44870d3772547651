import { RUNNER_CONFIG_FLAGS, RUNNER_ENV, SEED_TASK, TEMPLATE_DEFAULTS } from '../shared/defaults';

/**
 * The seed's five documents (two trust policies, two role policies, the task definition), built
 * from plain values. The stack calls these builders with CloudFormation tokens and
 * `npm run infra:render` with the operator's account and region: one source, so the hand-made
 * setup and the stack cannot drift.
 */

/** An IAM policy document, as JSON. */
export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: Readonly<Record<string, string | readonly string[]>>;
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/** Where the documents live: every ARN is built from these and the names. */
export interface AccountScope {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** The seed's task role policy: read-only EC2 describe calls. */
export const SEED_TASK_ROLE_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Action: ['ec2:Describe*'], Effect: 'Allow', Resource: '*' }],
};

/**
 * Trust policy for both task roles: only ECS tasks of this account and region may assume them.
 * The conditions guard against the confused deputy (another account's task naming our role).
 */
export function ecsTasksTrustPolicy(scope: AccountScope): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'ecs-tasks.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'aws:SourceAccount': scope.account },
          ArnLike: { 'aws:SourceArn': `arn:${scope.partition}:ecs:${scope.region}:${scope.account}:*` },
        },
      },
    ],
  };
}

export interface ExecutionRolePolicyInput extends AccountScope {
  readonly imageRepositoryName: string;
  readonly logGroupName: string;
}

/**
 * The seed's task execution permissions, scoped: image pulls from the runner repository
 * (`ecr:GetAuthorizationToken` has no resource type, so it stays `*`) and logs in the runner log
 * group. Unlike the seed, no secret: no task reads the admin token, in any registration mode.
 */
export function taskExecutionRolePolicy(input: ExecutionRolePolicyInput): PolicyDocument {
  const { partition, region, account } = input;
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'EcrAuthorization', Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
      {
        Sid: 'PullRunnerImage',
        Effect: 'Allow',
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
        Resource: `arn:${partition}:ecr:${region}:${account}:repository/${input.imageRepositoryName}`,
      },
      {
        Sid: 'RunnerLogs',
        Effect: 'Allow',
        Action: [
          'logs:CreateLogStream',
          'logs:CreateLogGroup',
          'logs:DescribeLogStreams',
          'logs:PutLogEvents',
        ],
        Resource: logGroupArn({ partition, region, account }, input.logGroupName),
      },
    ],
  };
}

/** A log group's ARN in the form IAM matches for both group and stream actions. */
export function logGroupArn(scope: AccountScope, logGroupName: string): string {
  return `arn:${scope.partition}:logs:${scope.region}:${scope.account}:log-group:${logGroupName}:*`;
}

/**
 * The runner container's health check. The seed's `... || echo failed` always exits 0; this one
 * fails when the runner's listener process is gone. `pgrep -x` matches the process name exactly,
 * so the shell running the check never matches itself (as `pgrep -f Runner.Listener` would).
 */
export const RUNNER_HEALTH_CHECK = {
  command: ['CMD-SHELL', 'pgrep -x Runner.Listener > /dev/null || exit 1'],
  interval: 300,
  timeout: 60,
  retries: 3,
  startPeriod: 120,
} as const;

/**
 * The default `RUNNER_CONFIG_ARGS` of the task definition: the seed's flags with the webhook's
 * templates as placeholders. The webhook overrides it for every task it starts.
 */
export const PLACEHOLDER_CONFIG_ARGS = [
  ...RUNNER_CONFIG_FLAGS,
  `--labels ${TEMPLATE_DEFAULTS.labels}`,
  `--name ${TEMPLATE_DEFAULTS.name}`,
  `--runnergroup ${TEMPLATE_DEFAULTS.group}`,
  '--ephemeral',
].join(' ');

export interface TaskDefinitionInput {
  readonly family: string;
  readonly containerName: string;
  readonly image: string;
  readonly organization: string;
  /** The `Env` docker label and tag. */
  readonly targetEnv: string;
  readonly region: string;
  readonly logGroupName: string;
  readonly logStreamPrefix: string;
  readonly taskRoleArn: string;
  readonly executionRoleArn: string;
  readonly cpu: number;
  readonly memoryMiB: number;
  /**
   * The GitHub the functions use, for the runner to register at (`GITHUB_SERVER_URL`, and
   * `GITHUB_API_URL`); the seed's task definition has neither (github.com).
   */
  readonly github?: { readonly serverUrl: string; readonly apiUrl: string };
}

/** An environment variable as ECS writes it. */
interface NameValue {
  readonly name: string;
  readonly value: string;
}

/** The seed's task definition, in the shape of `aws ecs register-task-definition --cli-input-json`. */
export interface TaskDefinitionDocument {
  family: string;
  containerDefinitions: {
    name: string;
    image: string;
    cpu: number;
    portMappings: never[];
    essential: boolean;
    environment: NameValue[];
    mountPoints: { sourceVolume: string; containerPath: string }[];
    volumesFrom: never[];
    linuxParameters: { initProcessEnabled: boolean };
    stopTimeout: number;
    privileged: boolean;
    dockerLabels: Readonly<Record<string, string>>;
    logConfiguration: {
      logDriver: string;
      options: Readonly<Record<string, string>>;
    };
    healthCheck: {
      command: string[];
      interval: number;
      timeout: number;
      retries: number;
      startPeriod: number;
    };
  }[];
  taskRoleArn: string;
  executionRoleArn: string;
  volumes: {
    name: string;
    dockerVolumeConfiguration: {
      scope: 'task';
      driver: string;
      labels: Readonly<Record<string, string>>;
    };
  }[];
  requiresCompatibilities: 'EC2'[];
  cpu: string;
  memory: string;
  tags: { key: string; value: string }[];
}

/**
 * The seed's `runner_task_definition.json`, property for property. Differences from the seed,
 * each on purpose: the health check can fail, `RUNNER_CONFIG_ARGS` holds the webhook's own
 * templates as its placeholder, and the `RUNNER_ADMIN_TOKEN` secret is gone in every registration
 * mode: the function hands each task a short-lived credential (`RUNNER_JIT_CONFIG` or
 * `RUNNER_REGISTRATION_TOKEN`) in an S3 environment file named in the RunTask request.
 */
export function runnerTaskDefinition(input: TaskDefinitionInput): TaskDefinitionDocument {
  return {
    family: input.family,
    containerDefinitions: [
      {
        name: input.containerName,
        image: input.image,
        cpu: 0,
        portMappings: [],
        essential: true,
        environment: [
          { name: RUNNER_ENV.organization, value: input.organization },
          { name: RUNNER_ENV.configArgs, value: PLACEHOLDER_CONFIG_ARGS },
          { name: RUNNER_ENV.labels, value: '' },
          ...(input.github === undefined
            ? []
            : [
                { name: 'GITHUB_SERVER_URL', value: input.github.serverUrl },
                { name: 'GITHUB_API_URL', value: input.github.apiUrl },
              ]),
        ],
        mountPoints: [{ sourceVolume: SEED_TASK.scratchVolume, containerPath: SEED_TASK.scratchPath }],
        volumesFrom: [],
        linuxParameters: { initProcessEnabled: true },
        stopTimeout: SEED_TASK.stopTimeoutSeconds,
        // Docker-in-docker: each runner task hosts its own Docker daemon (see README for the risk).
        privileged: true,
        dockerLabels: { Env: input.targetEnv, Name: SEED_TASK.nameLabel },
        logConfiguration: {
          logDriver: 'awslogs',
          options: {
            'awslogs-create-group': 'true',
            'awslogs-group': input.logGroupName,
            'awslogs-region': input.region,
            'awslogs-stream-prefix': input.logStreamPrefix,
          },
        },
        healthCheck: { ...RUNNER_HEALTH_CHECK, command: [...RUNNER_HEALTH_CHECK.command] },
      },
    ],
    taskRoleArn: input.taskRoleArn,
    executionRoleArn: input.executionRoleArn,
    volumes: [
      {
        name: SEED_TASK.scratchVolume,
        dockerVolumeConfiguration: { scope: 'task', driver: 'local', labels: { scratch: 'space' } },
      },
    ],
    requiresCompatibilities: ['EC2'],
    cpu: String(input.cpu),
    memory: String(input.memoryMiB),
    tags: [
      { key: 'Env', value: input.targetEnv },
      { key: 'App_Category', value: SEED_TASK.appCategory },
    ],
  };
}

/** What the documents are filled in from: the stack's settings, without CloudFormation. */
export interface SeedDocumentSettings {
  readonly names: {
    readonly taskFamily: string;
    readonly containerName: string;
    readonly imageRepositoryName: string;
    readonly registrationTokenSecretName: string;
    readonly taskRoleName: string;
    readonly taskExecutionRoleName: string;
    readonly logGroupName: string;
    readonly logStreamPrefix: string;
  };
  readonly organization: string;
  readonly targetEnv: string;
  readonly imageTag: string;
  readonly imageUri: string | undefined;
  readonly cpu: number;
  readonly memoryMiB: number;
  /**
   * The task role's policy; undefined: the seed's (the render reproduces the hand-made setup the
   * operator already has; the stack gives the task role no policy unless asked).
   */
  readonly taskRolePolicy: PolicyDocument | undefined;
}

/** The seed's file names, in the order the seed creates them. */
export const SEED_FILES = {
  taskRoleTrustPolicy: 'runner_task_role_trust_policy.json',
  taskRolePolicy: 'github-actions-self-hosted-runner-debian-iam-task-role-policy.json',
  taskExecutionRoleTrustPolicy: 'runner_task_execution_role_trust_policy.json',
  taskExecutionRolePolicy: 'github-actions-self-hosted-runner-debian-iam-task-execution-role-policy.json',
  taskDefinition: 'runner_task_definition.json',
} as const;

/**
 * The seed's five documents for one account and region, as `npm run infra:render` writes them.
 * ARNs of resources created by hand are built from their names. No document names the
 * registration-token secret: the functions read it, never a task.
 */
export function seedDocuments(
  settings: SeedDocumentSettings,
  scope: AccountScope,
): Record<(typeof SEED_FILES)[keyof typeof SEED_FILES], unknown> {
  const { partition, region, account } = scope;
  const { names } = settings;
  const urlSuffix = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  const roleArn = (name: string) => `arn:${partition}:iam::${account}:role/${name}`;
  return {
    [SEED_FILES.taskRoleTrustPolicy]: ecsTasksTrustPolicy(scope),
    [SEED_FILES.taskRolePolicy]: settings.taskRolePolicy ?? SEED_TASK_ROLE_POLICY,
    [SEED_FILES.taskExecutionRoleTrustPolicy]: ecsTasksTrustPolicy(scope),
    [SEED_FILES.taskExecutionRolePolicy]: taskExecutionRolePolicy({
      ...scope,
      imageRepositoryName: names.imageRepositoryName,
      logGroupName: names.logGroupName,
    }),
    [SEED_FILES.taskDefinition]: runnerTaskDefinition({
      family: names.taskFamily,
      containerName: names.containerName,
      image:
        settings.imageUri ??
        `${account}.dkr.ecr.${region}.${urlSuffix}/${names.imageRepositoryName}:${settings.imageTag}`,
      organization: settings.organization,
      targetEnv: settings.targetEnv,
      region,
      logGroupName: names.logGroupName,
      logStreamPrefix: names.logStreamPrefix,
      taskRoleArn: roleArn(names.taskRoleName),
      executionRoleArn: roleArn(names.taskExecutionRoleName),
      cpu: settings.cpu,
      memoryMiB: settings.memoryMiB,
    }),
  };
}
