import { CfnOutput, CustomResource, Duration, Fn, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import type { Construct, IConstruct, IDependable } from 'constructs';
import { imageParameterName } from '../shared/image/built-image';
import type { ImageBuildTarget, ImageFamily } from '../shared/image/image-settings';
import { parseImageReleaseSettings, parseImageRolloutSettings } from '../shared/image/image-settings';
import { RUNNER_ARCH } from '../shared/image/runner-release';
import { acknowledge, wildcardResource } from './acknowledge';
import type { AlarmDefinition } from './alarms';
import { BundledFunction, type FunctionPlacement } from './bundled-function';
import { checkEnvironment } from './check-environment';
import { packageFile } from './package-files';
import type { Architecture } from './runner-profiles';
import { DEFAULT_IMAGE_TAG, type ImageBuildSettings } from './settings';
import { SystemPart } from './system-part';

/** The image's source: infra/runner-image, uploaded as an S3 asset at deploy (no connection to GitHub). */
const SOURCE_DIR = packageFile('infra/runner-image');

/** How often GitHub's latest runner release is looked for: at least daily (GitHub allows 30 days). */
export const RELEASE_CHECK_RATE = Duration.days(1);

/** A build's longest run; the first deploy waits for it. */
const BUILD_TIMEOUT = Duration.minutes(45);

/** Docker's platform of each architecture. */
const PLATFORM: Readonly<Record<Architecture, string>> = { x86_64: 'linux/amd64', arm64: 'linux/arm64' };

export interface RunnerImageBuildProps {
  readonly settings: ImageBuildSettings;
  readonly repository: ecr.IRepository;
  /** The profiles' task definitions: each family gets the new images of its architecture. */
  readonly families: readonly ImageFamily[];
  /** The two roles a runner task definition names (the rollout passes them to ECS). */
  readonly taskRoleArn: string;
  readonly executionRoleArn: string;
  readonly placement: FunctionPlacement;
}

/**
 * The runner image built in AWS, one CodeBuild project per architecture the profiles use (native
 * builders: Graviton for arm64), from infra/runner-image as an S3 asset, pushed to the stack's
 * repository under an immutable tag naming the runner release (`2.338.0-x64-12`), and named in an
 * SSM parameter per architecture that only the builds write. Kept current by the image-release
 * function: daily when GitHub has a newer runner release, weekly on the same one (a refreshed
 * base and packages), and at deploy (a custom resource per architecture, whose build answers
 * CloudFormation: the first deploy waits for its image). A build that succeeded is rolled out by
 * the image-rollout function (new task definition revisions); one that failed leaves the last
 * good image and fires ImageBuildFailed.
 */
export class RunnerImageBuild extends SystemPart {
  readonly projects: ReadonlyMap<Architecture, codebuild.Project>;
  readonly releaseCheck: BundledFunction;
  readonly rollout: BundledFunction;
  readonly alarms: readonly AlarmDefinition[];
  private readonly images = new Map<Architecture, CustomResource>();

  constructor(scope: Construct, id: string, props: RunnerImageBuildProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { settings, repository } = props;
    const architectures = [...new Set(props.families.map((family) => family.architecture))];
    const parameterArn = (architecture: Architecture) =>
      `arn:${stack.partition}:ssm:${stack.region}:${stack.account}:parameter${imageParameterName(settings.parameterPrefix, architecture)}`;

    const source = new s3assets.Asset(this, 'RunnerImageSource', { path: SOURCE_DIR });
    const logGroup = new logs.LogGroup(this, 'RunnerImageBuildLogs', {
      retention: props.placement.logRetention,
    });
    const projects = new Map<Architecture, codebuild.Project>();
    for (const architecture of architectures) {
      const project = new codebuild.Project(this, `RunnerImageBuild${pascal(architecture)}`, {
        description: `Builds the ${architecture} runner image (infra/runner-image) and pushes it to the stack's repository`,
        source: codebuild.Source.s3({ bucket: source.bucket, path: source.s3ObjectKey }),
        environment: {
          // Native builders: no emulation for arm64.
          buildImage:
            architecture === 'arm64'
              ? codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0
              : codebuild.LinuxBuildImage.STANDARD_7_0,
          computeType: codebuild.ComputeType.SMALL,
          // Docker builds need the Docker daemon of the build container.
          privileged: true,
        },
        environmentVariables: {
          REPOSITORY_URI: { value: repository.repositoryUri },
          IMAGE_PARAMETER: { value: imageParameterName(settings.parameterPrefix, architecture) },
          RUNNER_ARCH: { value: RUNNER_ARCH[architecture] },
          PLATFORM: { value: PLATFORM[architecture] },
          BASE_IMAGE: { value: settings.baseImage },
          // What a build started by hand builds (the image-release function passes GitHub's latest).
          RUNNER_VERSION: { value: DEFAULT_IMAGE_TAG },
          RUNNER_SHA256: { value: '' },
          RUNNER_URL: { value: '' },
          DEPLOY_RESPONSE_URL: { value: '' },
          DEPLOY_ON_SUCCESS: { value: '' },
          DEPLOY_ON_FAILURE: { value: '' },
        },
        buildSpec: codebuild.BuildSpec.fromObject(RUNNER_IMAGE_BUILDSPEC),
        timeout: BUILD_TIMEOUT,
        logging: { cloudWatch: { logGroup } },
      });
      repository.grantPullPush(project);
      project.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'WriteTheImageParameter',
          actions: ['ssm:PutParameter'],
          resources: [parameterArn(architecture)],
        }),
      );
      acknowledge(
        project.node.defaultChild as IConstruct,
        "Building images needs the build container's Docker daemon (privileged); the build has no artifacts to encrypt (its image goes to ECR, its log to CloudWatch Logs).",
        'CB3',
        'CB4',
      );
      const where = `${stack.partition}:%s:${stack.region}:${stack.account}`;
      const arn = (service: string, rest: string) => `arn:${where.replace('%s', service)}:${rest}`;
      acknowledge(
        project.role as iam.Role,
        "CodeBuild's own grants: reading the source asset's object (CDK's s3 read actions), its default log group and report groups of this project; ecr:GetAuthorizationToken has no resource type. Pushing is to the stack's repository only, the parameter write to this architecture's only.",
        'IAM5[Resource::*]',
        'IAM5[Action::s3:GetBucket*]',
        'IAM5[Action::s3:GetObject*]',
        'IAM5[Action::s3:List*]',
        wildcardResource(this, arn('logs', `log-group:/aws/codebuild/${project.projectName}:*`)),
        wildcardResource(this, arn('codebuild', `report-group/${project.projectName}-*`)),
        wildcardResource(this, `arn:${stack.partition}:s3:::${source.s3BucketName}/*`),
      );
      projects.set(architecture, project);
    }
    this.projects = projects;
    const buildTargets: ImageBuildTarget[] = architectures.map((architecture) => ({
      architecture,
      project: (projects.get(architecture) as codebuild.Project).projectName,
      parameter: imageParameterName(settings.parameterPrefix, architecture),
    }));
    const readParameters = new iam.PolicyStatement({
      sid: 'ReadTheImageParameters',
      actions: ['ssm:GetParameter'],
      resources: architectures.map(parameterArn),
    });

    // The release check: daily, weekly and at deploy.
    const releaseEnvironment = {
      IMAGE_BUILDS: stack.toJsonString(buildTargets),
      GITHUB_API_URL: settings.releasesApiUrl,
    };
    checkEnvironment('image-release', releaseEnvironment, (env) =>
      parseImageReleaseSettings({ ...env, IMAGE_BUILDS: JSON.stringify(standInTargets(architectures)) }),
    );
    this.releaseCheck = new BundledFunction(this, 'ImageRelease', {
      ...props.placement,
      name: 'image-release',
      description:
        "Daily, weekly and at deploy: builds the runner image of GitHub's latest runner release, checked against its SHA-256",
      environment: releaseEnvironment,
      // Downloads each package (about 200 MB) to check it before any build starts.
      timeout: Duration.minutes(5),
      memorySize: 512,
    });
    this.releaseCheck.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'StartImageBuilds',
        actions: ['codebuild:StartBuild'],
        resources: [...projects.values()].map((project) => project.projectArn),
      }),
    );
    this.releaseCheck.role.addToPolicy(readParameters);
    // The next check is its retry.
    this.releaseCheck.function.configureAsyncInvoke({ retryAttempts: 0 });
    new events.Rule(this, 'ImageReleaseCheckSchedule', {
      description: "Daily: builds the runner image where GitHub's latest runner release is newer",
      schedule: events.Schedule.rate(RELEASE_CHECK_RATE),
      targets: [
        new targets.LambdaFunction(this.releaseCheck.function, {
          event: events.RuleTargetInput.fromObject({ reason: 'check' }),
        }),
      ],
    });
    new events.Rule(this, 'ImageRebuildSchedule', {
      description: 'Rebuilds the runner image on its runner release: a refreshed base image and packages',
      schedule: events.Schedule.expression(settings.rebuildSchedule),
      targets: [
        new targets.LambdaFunction(this.releaseCheck.function, {
          event: events.RuleTargetInput.fromObject({ reason: 'rebuild' }),
        }),
      ],
    });
    for (const architecture of architectures) {
      const image = new CustomResource(this, `RunnerImage${pascal(architecture)}`, {
        serviceToken: this.releaseCheck.function.functionArn,
        resourceType: 'Custom::RunnerImage',
        // A new source (the Dockerfile or the entry point changed) builds the image again at deploy.
        properties: { Architecture: architecture, Source: source.assetHash },
        serviceTimeout: Duration.hours(1),
      });
      image.node.addDependency(this.releaseCheck, projects.get(architecture) as IDependable);
      this.images.set(architecture, image);
    }

    // The rollout: after each build that succeeded.
    const families = props.families.map(({ architecture, family, container }) => ({
      architecture,
      family,
      container,
    }));
    const rolloutEnvironment = {
      IMAGE_BUILDS: stack.toJsonString(buildTargets),
      IMAGE_FAMILIES: JSON.stringify(families),
    };
    checkEnvironment('image-rollout', rolloutEnvironment, (env) =>
      parseImageRolloutSettings({ ...env, IMAGE_BUILDS: JSON.stringify(standInTargets(architectures)) }),
    );
    this.rollout = new BundledFunction(this, 'ImageRollout', {
      ...props.placement,
      name: 'image-rollout',
      description:
        "After a runner image build: registers the profiles' task definition revisions with the new image",
      environment: rolloutEnvironment,
      timeout: Duration.seconds(60),
    });
    const familyArns = props.families.map(
      ({ family }) =>
        `arn:${stack.partition}:ecs:${stack.region}:${stack.account}:task-definition/${family}:*`,
    );
    this.rollout.role.addToPolicy(readParameters);
    this.rollout.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReviseRunnerTaskDefinitions',
        // Neither action takes a resource (ECS's service authorization reference): the families
        // the function revises are its configuration, and PassRole below limits the roles.
        actions: ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'],
        resources: ['*'],
      }),
    );
    this.rollout.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TagRevisionsAtRegistration',
        actions: ['ecs:TagResource'],
        resources: familyArns,
        conditions: { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } },
      }),
    );
    this.rollout.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassRunnerTaskRoles',
        actions: ['iam:PassRole'],
        resources: [props.taskRoleArn, props.executionRoleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
    new events.Rule(this, 'ImageBuildSucceeded', {
      description: 'A runner image build succeeded: its image goes to the task definitions',
      eventPattern: {
        source: ['aws.codebuild'],
        detailType: ['CodeBuild Build State Change'],
        detail: {
          'build-status': ['SUCCEEDED'],
          'project-name': [...projects.values()].map((project) => project.projectName),
        },
      },
      targets: [new targets.LambdaFunction(this.rollout.function)],
    });

    acknowledge(
      this.rollout.role,
      'DescribeTaskDefinition and RegisterTaskDefinition take no resource; tagging is limited to the runner families at registration, and PassRole to the two runner task roles.',
      'IAM5[Resource::*]',
      ...familyArns.map((arn) => wildcardResource(this.rollout.role, arn)),
    );

    new CfnOutput(this, 'ImageBuildProjects', {
      value: Fn.join(
        ',',
        [...projects.values()].map((project) => project.projectName),
      ),
      description:
        'The CodeBuild projects that build the runner image (npm run doctor reads their last build)',
    });
    new CfnOutput(this, 'ImageReleaseFunction', {
      value: this.releaseCheck.function.functionName,
      description:
        'Builds the image of GitHub\'s latest runner release when invoked with {"reason":"check"} (or "rebuild")',
    });
    new CfnOutput(this, 'RunnerImageParameters', {
      value: architectures
        .map((architecture) => imageParameterName(settings.parameterPrefix, architecture))
        .join(','),
      description:
        'The SSM parameters naming the current runner image of each architecture (written by the builds)',
    });

    const failedBuilds = [...projects.values()].map((project) =>
      project.metricFailedBuilds({ statistic: 'Sum' }),
    );
    this.alarms = [
      {
        id: 'ImageBuildFailed',
        description:
          "A runner image build failed: the task definitions keep the last good image. Read the build's log in CodeBuild (npm run doctor names the build); a runner release GitHub no longer allows makes every job wait.",
        metric:
          failedBuilds.length === 1
            ? (failedBuilds[0] as cloudwatch.Metric)
            : new cloudwatch.MathExpression({
                expression: failedBuilds.map((_, index) => `FILL(m${index}, 0)`).join(' + '),
                usingMetrics: Object.fromEntries(failedBuilds.map((metric, index) => [`m${index}`, metric])),
                period: Duration.minutes(5),
                label: 'FailedBuilds',
              }),
      },
      {
        id: 'ImageReleaseErrors',
        description:
          "The runner release check failed (GitHub unreachable, or a package that does not match its release's SHA-256): no new image is built. Read the image-release function's log.",
        metric: this.releaseCheck.function.metricErrors(),
      },
      {
        id: 'ImageRolloutErrors',
        description:
          "The rollout of a new runner image failed: tasks keep the last image until the next deploy or build. Read the image-rollout function's log.",
        metric: this.rollout.function.metricErrors(),
      },
    ];
  }

  /** What a task definition of this architecture waits for at deploy: its image built, its parameter written. */
  imageReady(architecture: Architecture): IDependable {
    const image = this.images.get(architecture);
    if (image === undefined)
      throw new Error(`no ${architecture} image build: no profile of that architecture`);
    return image;
  }
}

/** Targets of the shape the stack gives, for the synth-time check of the functions' settings. */
const standInTargets = (architectures: readonly Architecture[]): ImageBuildTarget[] =>
  architectures.map((architecture) => ({
    architecture,
    project: `runner-image-${architecture}`,
    parameter: `/stack/runner-image/${architecture}`,
  }));

const pascal = (architecture: Architecture) => (architecture === 'arm64' ? 'Arm64' : 'X8664');

/**
 * Each build: the base pulled and pinned by digest (recorded in the image's label), the image
 * built without cache from a fresh base and packages, the runner package checked against
 * RUNNER_SHA256 by the Dockerfile (a mismatch fails the build before anything is pushed), pushed
 * under its own immutable tag, and only then the image parameter written. post_build answers
 * CloudFormation when a deploy started the build (it runs after a failed build phase too).
 */
export const RUNNER_IMAGE_BUILDSPEC = {
  version: '0.2',
  env: { shell: 'bash' },
  phases: {
    build: {
      commands: [
        'TAG="$RUNNER_VERSION-$RUNNER_ARCH-$CODEBUILD_BUILD_NUMBER"',
        'REGISTRY=$(echo "$REPOSITORY_URI" | cut -d/ -f1)',
        'aws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "$REGISTRY"',
        'docker pull --platform "$PLATFORM" "$BASE_IMAGE"',
        `BASE_DIGEST=$(docker image inspect --format '{{index .RepoDigests 0}}' "$BASE_IMAGE")`,
        'echo "building runner $RUNNER_VERSION for $PLATFORM from $BASE_DIGEST as $REPOSITORY_URI:$TAG"',
        'DOCKER_BUILDKIT=1 docker build --pull --no-cache --platform "$PLATFORM" --build-arg BASE_IMAGE="$BASE_DIGEST" --build-arg RUNNER_VERSION="$RUNNER_VERSION" --build-arg RUNNER_SHA256="$RUNNER_SHA256" --build-arg RUNNER_URL="$RUNNER_URL" --tag "$REPOSITORY_URI:$TAG" .',
        'docker push "$REPOSITORY_URI:$TAG"',
        'aws ssm put-parameter --name "$IMAGE_PARAMETER" --type String --overwrite --value "$REPOSITORY_URI:$TAG"',
      ],
    },
    post_build: {
      commands: [
        'if [ -n "$DEPLOY_RESPONSE_URL" ]; then if [ "$CODEBUILD_BUILD_SUCCEEDING" = 1 ]; then answer="$DEPLOY_ON_SUCCESS"; else answer="$DEPLOY_ON_FAILURE"; fi; curl -fsS --retry 3 -X PUT -H "Content-Type:" --data-binary "$answer" "$DEPLOY_RESPONSE_URL"; fi',
      ],
    },
  },
} as const;
