import {
  CfnDynamicReference,
  CfnDynamicReferenceService,
  CfnOutput,
  Duration,
  Stack,
  Token,
} from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { serverUrlOf } from '../shared/github/server-url';
import { imageParameterName } from '../shared/image/built-image';
import { acknowledge, wildcardResource } from './acknowledge';
import type { RunnerConfigBucket } from './runner-config-bucket';
import type { Architecture, ProfileSettings } from './runner-profiles';
import {
  type AccountScope,
  ecsTasksTrustPolicy,
  logGroupArn,
  type PolicyDocument,
  runnerTaskDefinition,
  taskExecutionRolePolicy,
} from './seed-documents';
import type { InfraSettings } from './settings';
import { SystemPart } from './system-part';

export interface RunnerTaskProps {
  readonly settings: InfraSettings;
  /** The JIT configs the execution role reads for the task (`environmentFiles`). */
  readonly configs: RunnerConfigBucket;
}

/**
 * What a runner task is: the image repository, the runner log group, the seed's two roles and
 * inline policies under their seed names (from the same builders as `npm run infra:render`), and
 * the task definition.
 */
export class RunnerTask extends SystemPart {
  readonly repository: ecr.Repository;
  readonly taskRole: iam.CfnRole;
  readonly executionRole: iam.CfnRole;
  /** The default profile's task definition: the seed's family. */
  readonly taskDefinition: ecs.CfnTaskDefinition;
  /** Each profile's task definition, in the profiles' order. */
  readonly profiles: readonly ProfileTask[];
  /** The image the default profile's task definition runs. */
  readonly image: string;
  private readonly settings: InfraSettings;

  constructor(scope: Construct, id: string, props: RunnerTaskProps) {
    super(scope, id);
    const { settings } = props;
    const { names } = settings;
    const stack = Stack.of(this);
    const where: AccountScope = { partition: stack.partition, region: stack.region, account: stack.account };

    this.repository = new ecr.Repository(this, 'RunnerRepository', {
      repositoryName: names.imageRepositoryName,
      imageScanOnPush: true,
      // A tag names one build for good: the task definition's tag cannot be moved under it.
      imageTagMutability: ecr.TagMutability.IMMUTABLE,
      lifecycleRules: [
        {
          description: 'drop untagged images',
          tagStatus: ecr.TagStatus.UNTAGGED,
          maxImageAge: Duration.days(14),
        },
      ],
    });
    const runnerLogs = new logs.LogGroup(this, 'RunnerLogs', {
      logGroupName: names.logGroupName,
      retention: settings.logRetentionDays,
    });

    this.taskRole = new iam.CfnRole(this, 'TaskRole', {
      roleName: names.taskRoleName,
      description: 'What a runner job may do in AWS',
      assumeRolePolicyDocument: ecsTasksTrustPolicy(where),
      // Nothing unless the operator says: the seed's ec2:Describe* (taskRoleSeedPolicy) would let
      // any job read every instance's user data (DescribeInstanceAttribute).
      ...(settings.taskRolePolicy !== undefined && {
        policies: [{ policyName: names.taskRolePolicyName, policyDocument: settings.taskRolePolicy }],
      }),
    });
    this.executionRole = new iam.CfnRole(this, 'TaskExecutionRole', {
      roleName: names.taskExecutionRoleName,
      description: 'What ECS needs to start a runner task: image, logs',
      assumeRolePolicyDocument: ecsTasksTrustPolicy(where),
      policies: [
        {
          policyName: names.taskExecutionRolePolicyName,
          policyDocument: taskExecutionRolePolicy({
            ...where,
            imageRepositoryName: names.imageRepositoryName,
            logGroupName: names.logGroupName,
          }),
        },
      ],
    });
    this.executionRole.node.addDependency(this.repository, runnerLogs);
    // The seed's policy stays as the seed has it; reading the JIT configs is a policy of its own.
    const readConfigs = new iam.CfnPolicy(this, 'TaskExecutionRoleRunnerConfigs', {
      policyName: 'read-runner-configs',
      roles: [this.executionRole.ref],
      policyDocument: new iam.PolicyDocument({ statements: props.configs.readStatements() }),
    });
    props.configs.readableOnlyBy(this.executionRole.attrArn);

    this.settings = settings;
    this.image = this.imageOf(settings.profiles[0]?.architecture ?? 'x86_64');
    // The GitHub the functions use: a token-mode runner registers there (JIT configs name it themselves).
    const apiUrl = (settings.webhookEnvironment.GITHUB_API_URL ?? 'https://api.github.com').replace(
      /\/+$/,
      '',
    );
    // One task definition per profile; the first, the default, keeps the seed's family and id.
    this.profiles = settings.profiles.map((profile, index) => {
      const family = index === 0 ? names.taskFamily : `${names.taskFamily}-${profile.name}`;
      const containerName = profile.containerName ?? names.containerName;
      const { cpu, memory } = settings.taskSizes[profile.name] ?? {
        cpu: settings.cpu,
        memory: settings.memoryMiB,
      };
      const definition = new ecs.CfnTaskDefinition(
        this,
        index === 0 ? 'TaskDefinition' : `TaskDefinition${pascal(profile.name)}`,
        {
          ...runnerTaskDefinition({
            family,
            containerName,
            image: this.imageOf(profile.architecture),
            organization: settings.organization,
            targetEnv: settings.targetEnv,
            region: stack.region,
            logGroupName: runnerLogs.logGroupName,
            logStreamPrefix: names.logStreamPrefix,
            taskRoleArn: this.taskRole.attrArn,
            executionRoleArn: this.executionRole.attrArn,
            cpu,
            memoryMiB: memory,
            github: { serverUrl: serverUrlOf(apiUrl), apiUrl },
          }),
          ...(profile.architecture === 'arm64' && {
            runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
          }),
        },
      );
      acknowledge(
        definition,
        "The seed's contract: ORGANIZATION, RUNNER_CONFIG_ARGS and RUNNER_LABELS are per-job settings the webhook overrides; no credential is in the task definition (each task's comes in its S3 environment file).",
        'ECS2',
      );
      return { profile, family, containerName, cpu, memory, definition };
    });
    this.taskDefinition = this.defaultTask.definition;

    new CfnOutput(this, 'RunnerRepositoryUri', {
      value: this.repository.repositoryUri,
      description:
        "The runner image repository: the stack's builds push here (and so can you, for an image pinned with imageTag)",
    });
    new CfnOutput(this, 'TaskDefinitionArn', {
      value: this.taskDefinition.ref,
      description: 'Runner task definition (latest revision of the family)',
    });

    if (settings.taskRolePolicy !== undefined) {
      acknowledge(
        this.taskRole,
        'The operator chose what jobs may do in AWS (taskRolePolicy, or the seed policy with taskRoleSeedPolicy=true).',
        ...wildcardFindings(settings.taskRolePolicy),
      );
    }
    acknowledge(
      readConfigs,
      'Config object names are random per launch attempt: reading is scoped to the runner-config/ prefix of the configs bucket.',
      wildcardResource(this, props.configs.configsArn),
    );
    acknowledge(
      this.executionRole,
      'ecr:GetAuthorizationToken has no resource type; the log wildcard is the streams of the runner log group only.',
      'IAM5[Resource::*]',
      wildcardResource(this, logGroupArn(where, names.logGroupName)),
    );
  }

  /**
   * The image a task definition of this architecture runs: the one the operator named, or the
   * parameter the stack's builds write, resolved at every deploy (`{{resolve:ssm:…}}`), so that a
   * deploy takes the newest image and never an older one.
   */
  imageOf(architecture: Architecture): string {
    const { imageBuild, imageUri, imageTag } = this.settings;
    if (imageBuild === undefined) return imageUri ?? this.repository.repositoryUriForTag(imageTag);
    const parameter = imageParameterName(imageBuild.parameterPrefix, architecture);
    return Token.asString(new CfnDynamicReference(CfnDynamicReferenceService.SSM, parameter));
  }

  /** The default (first) profile's task. */
  get defaultTask(): ProfileTask {
    return this.profiles[0] as ProfileTask;
  }

  /** Every profile's task family: what RunTask may start. */
  get families(): string[] {
    return this.profiles.map((task) => task.family);
  }
}

/** A profile's task definition and what RUNNER_PROFILES says of it. */
export interface ProfileTask {
  readonly profile: ProfileSettings;
  readonly family: string;
  readonly containerName: string;
  readonly cpu: number;
  readonly memory: number;
  readonly definition: ecs.CfnTaskDefinition;
}

/** `large-x86` → `LargeX86`: a profile's name in a construct id. */
const pascal = (name: string) =>
  name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/** The IAM5 findings of a policy document: each wildcard action and resource, as cdk-nag lists them. */
function wildcardFindings(policy: PolicyDocument): string[] {
  const findings = new Set<string>();
  for (const statement of policy.Statement) {
    for (const action of [statement.Action].flat())
      if (action.includes('*')) findings.add(`IAM5[Action::${action}]`);
    for (const resource of [statement.Resource ?? []].flat()) {
      if (resource.includes('*')) findings.add(`IAM5[Resource::${resource}]`);
    }
  }
  return [...findings];
}
