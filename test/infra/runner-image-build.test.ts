/**
 * The runner image built by the stack: a CodeBuild project per architecture the profiles use, the
 * release check and its schedules, the build at deploy before the task definitions, the rollout,
 * permissions limited to the stack's repository, parameters and runner families, the alarm.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { RUNNER_IMAGE_BUILDSPEC } from '../../infra/runner-image-build';
import { DEFAULT_BASE_IMAGE, readSettings, SettingsError } from '../../infra/settings';
import { SEED } from '../../shared/defaults';
import {
  functionOf,
  idOf,
  statementsOf,
  synthesize,
  type TemplateJson,
  type ValidationReport,
} from '../support/synth-stack';

const PARAMETER = '/GitHubRunners/runner-image';
const parameterArn = (architecture: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      `:ssm:us-east-1:`,
      { Ref: 'AWS::AccountId' },
      `:parameter${PARAMETER}/${architecture}`,
    ],
  ],
});
const ofType = (json: TemplateJson, type: string) =>
  Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);
const repositoryArn = (json: TemplateJson) => ({
  'Fn::GetAtt': [idOf(json, 'AWS::ECR::Repository', 'RunnerRepository'), 'Arn'],
});

/** The properties of a CodeBuild project read here. */
interface ProjectProperties {
  readonly Environment: {
    readonly Type: string;
    readonly Image: string;
    readonly PrivilegedMode: boolean;
    readonly EnvironmentVariables: Array<{ Name: string; Value: unknown }>;
  };
  readonly Source: { readonly Type: string; readonly Location: unknown; readonly BuildSpec: string };
  readonly ServiceRole: unknown;
}

function expectNagClean(report: ValidationReport) {
  const [plugin] = report.pluginReports;
  expect(plugin?.violations).toEqual([]);
  for (const { acknowledgedId, reason } of plugin?.suppressedViolations ?? []) {
    expect(`${acknowledgedId}: ${reason}`).toMatch(/: .{40,}/);
  }
}

describe('the default stack (one x86_64 profile)', () => {
  let json: TemplateJson;
  let report: ValidationReport;
  let projectId: string;

  beforeAll(async () => {
    ({ json, report } = await synthesize());
    projectId = idOf(json, 'AWS::CodeBuild::Project', 'RunnerImageBuildX8664');
  });
  const project = () => json.Resources[projectId]?.Properties as unknown as ProjectProperties;

  it('builds the image in one privileged x86_64 CodeBuild project, from an S3 asset of infra/runner-image', () => {
    expect(ofType(json, 'AWS::CodeBuild::Project')).toHaveLength(1);
    expect(project().Environment).toMatchObject({
      Type: 'LINUX_CONTAINER',
      Image: 'aws/codebuild/standard:7.0',
      PrivilegedMode: true,
    });
    expect(project().Source.Type).toBe('S3');
    expect(JSON.stringify(project().Source.Location)).toMatch(/cdk-hnb659fds-assets.*\/[0-9a-f]{64}\.zip"/);
    const variables = Object.fromEntries(
      (project().Environment.EnvironmentVariables as Array<{ Name: string; Value: unknown }>).map((v) => [
        v.Name,
        v.Value,
      ]),
    );
    expect(variables).toMatchObject({
      IMAGE_PARAMETER: `${PARAMETER}/x86_64`,
      RUNNER_ARCH: 'x64',
      PLATFORM: 'linux/amd64',
      BASE_IMAGE: DEFAULT_BASE_IMAGE,
    });
  });

  it('pins the base by digest, refreshes it and the packages, verifies the checksum, pushes a tag of its own, then writes the parameter', () => {
    const commands = RUNNER_IMAGE_BUILDSPEC.phases.build.commands.join('\n');
    expect(JSON.parse(project().Source.BuildSpec)).toEqual(RUNNER_IMAGE_BUILDSPEC);
    expect(commands).toContain(
      `BASE_DIGEST=$(docker image inspect --format '{{index .RepoDigests 0}}' "$BASE_IMAGE")`,
    );
    expect(commands).toMatch(/docker build --pull --no-cache .*--build-arg BASE_IMAGE="\$BASE_DIGEST"/);
    expect(commands).toContain('--build-arg RUNNER_SHA256="$RUNNER_SHA256"');
    expect(commands).toContain('TAG="$RUNNER_VERSION-$RUNNER_ARCH-$CODEBUILD_BUILD_NUMBER"');
    // Nothing is pushed unless the build (and its checksum check) passed; the parameter only after the push.
    const order = ['docker build', 'docker push', 'aws ssm put-parameter'].map((text) =>
      commands.indexOf(text),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(RUNNER_IMAGE_BUILDSPEC.phases.post_build.commands.join('\n')).toContain(
      'CODEBUILD_BUILD_SUCCEEDING',
    );
  });

  it('keeps the repository tags immutable', () => {
    expect(json.Resources[idOf(json, 'AWS::ECR::Repository', 'RunnerRepository')]?.Properties).toMatchObject({
      ImageTagMutability: 'IMMUTABLE',
    });
  });

  it("lets the build push to the stack's repository only and write its own parameter only", () => {
    const roleId = (project().ServiceRole as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const [[, policy]] = ofType(json, 'AWS::IAM::Policy').filter(
      ([, resource]) => JSON.stringify(resource.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
    ) as [[string, TemplateJson['Resources'][string]]];
    const statements = (policy.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> })
      .Statement;
    const ecr = statements.filter((s) => JSON.stringify(s.Action).includes('ecr:'));
    expect(ecr).toContainEqual(
      expect.objectContaining({
        Action: expect.arrayContaining(['ecr:PutImage']),
        Resource: repositoryArn(json),
      }),
    );
    for (const statement of ecr) expect([repositoryArn(json), '*']).toContainEqual(statement.Resource);
    expect(statements.filter((s) => JSON.stringify(s.Action).includes('ecr:GetAuthorizationToken'))).toEqual([
      expect.objectContaining({ Resource: '*' }),
    ]);
    expect(statements.find((s) => s.Sid === 'WriteTheImageParameter')).toEqual({
      Sid: 'WriteTheImageParameter',
      Effect: 'Allow',
      Action: 'ssm:PutParameter',
      Resource: parameterArn('x86_64'),
    });
  });

  it('checks the runner release daily and rebuilds weekly, through the image-release function', () => {
    const fn = functionOf(json, 'ImageRelease');
    const rules = ofType(json, 'AWS::Events::Rule')
      .map(([, rule]) => rule.Properties)
      .filter((rule) => JSON.stringify(rule.Targets).includes(fn.id));
    expect(
      rules.map((rule) => [
        rule.ScheduleExpression,
        JSON.parse((rule.Targets as Array<{ Input: string }>)[0]?.Input ?? '{}'),
      ]),
    ).toEqual([
      ['rate(1 day)', { reason: 'check' }],
      ['rate(7 days)', { reason: 'rebuild' }],
    ]);
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables.GITHUB_API_URL).toBe('https://api.github.com');
    expect(JSON.stringify(variables.IMAGE_BUILDS)).toContain(`${PARAMETER}/x86_64`);
  });

  it('lets the release check start the image builds and read their parameters, nothing else', () => {
    expect(statementsOf(json, 'ImageRelease').slice(1)).toEqual([
      {
        Sid: 'StartImageBuilds',
        Effect: 'Allow',
        Action: 'codebuild:StartBuild',
        Resource: { 'Fn::GetAtt': [projectId, 'Arn'] },
      },
      {
        Sid: 'ReadTheImageParameters',
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: parameterArn('x86_64'),
      },
    ]);
  });

  it('builds the image at deploy before the task definition reads its parameter, and again when its source changes', () => {
    const [[id, image]] = ofType(json, 'Custom::RunnerImage') as [
      [string, TemplateJson['Resources'][string]],
    ];
    expect(image.Properties).toMatchObject({
      ServiceToken: { 'Fn::GetAtt': [functionOf(json, 'ImageRelease').id, 'Arn'] },
      Architecture: 'x86_64',
      Source: expect.stringMatching(/^[0-9a-f]{64}$/),
      ServiceTimeout: '3600',
    });
    expect(image).toMatchObject({ DependsOn: expect.arrayContaining([projectId]) });
    const [[, taskDefinition]] = ofType(json, 'AWS::ECS::TaskDefinition') as [
      [string, TemplateJson['Resources'][string]],
    ];
    expect(taskDefinition).toMatchObject({ DependsOn: [id] });
    const [container] = taskDefinition.Properties.ContainerDefinitions as Array<{ Image: unknown }>;
    expect(container?.Image).toBe(`{{resolve:ssm:${PARAMETER}/x86_64}}`);
  });

  it('rolls a built image out to the runner family after each build that succeeded', () => {
    const fn = functionOf(json, 'ImageRollout');
    const [rule] = ofType(json, 'AWS::Events::Rule')
      .map(([, r]) => r.Properties)
      .filter((r) => JSON.stringify(r.Targets).includes(fn.id));
    expect(rule?.EventPattern).toEqual({
      source: ['aws.codebuild'],
      'detail-type': ['CodeBuild Build State Change'],
      detail: { 'build-status': ['SUCCEEDED'], 'project-name': [{ Ref: projectId }] },
    });
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(JSON.parse(String(variables.IMAGE_FAMILIES))).toEqual([
      { architecture: 'x86_64', family: 'githubrunners-runner', container: SEED.containerName },
    ]);
  });

  it('lets the rollout revise the runner families only, passing the two runner roles', () => {
    const family = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':ecs:us-east-1:',
          { Ref: 'AWS::AccountId' },
          `:task-definition/githubrunners-runner:*`,
        ],
      ],
    };
    expect(statementsOf(json, 'ImageRollout').slice(1)).toEqual([
      {
        Sid: 'ReadTheImageParameters',
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: parameterArn('x86_64'),
      },
      {
        Sid: 'ReviseRunnerTaskDefinitions',
        Effect: 'Allow',
        Action: ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition'],
        Resource: '*',
      },
      {
        Sid: 'TagRevisionsAtRegistration',
        Effect: 'Allow',
        Action: 'ecs:TagResource',
        Resource: family,
        Condition: { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } },
      },
      {
        Sid: 'PassRunnerTaskRoles',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: [{ 'Fn::GetAtt': ['TaskRole', 'Arn'] }, { 'Fn::GetAtt': ['TaskExecutionRole', 'Arn'] }],
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
    ]);
  });

  it('alarms at the first failed build (ImageBuildFailed)', () => {
    const alarms = ofType(json, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => ({ id, ...alarm.Properties }));
    expect(alarms.find((alarm) => alarm.id.startsWith('ImageBuildFailed'))).toMatchObject({
      Namespace: 'AWS/CodeBuild',
      MetricName: 'FailedBuilds',
      Dimensions: [{ Name: 'ProjectName', Value: { Ref: projectId } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('has the instances read the current image from its parameter at boot', () => {
    const userData = JSON.stringify(ofType(json, 'AWS::EC2::LaunchTemplate')[0]?.[1].Properties);
    expect(userData).toContain(`aws ssm get-parameter --region us-east-1 --name ${PARAMETER}/x86_64`);
  });

  it('names the build projects and the image parameters in its outputs, for npm run doctor', () => {
    expect(json.Outputs.ImageBuildProjects?.Value).toEqual({ Ref: projectId });
    expect(json.Outputs.RunnerImageParameters?.Value).toBe(`${PARAMETER}/x86_64`);
  });

  it('gives the runner tasks the GitHub the functions use', () => {
    const [[, taskDefinition]] = ofType(json, 'AWS::ECS::TaskDefinition') as [
      [string, TemplateJson['Resources'][string]],
    ];
    const [container] = taskDefinition.Properties.ContainerDefinitions as Array<{
      Environment: Array<{ Name: string; Value: string }>;
    }>;
    expect(container?.Environment.filter((e) => e.Name.startsWith('GITHUB_'))).toEqual([
      { Name: 'GITHUB_SERVER_URL', Value: 'https://github.com' },
      { Name: 'GITHUB_API_URL', Value: 'https://api.github.com' },
    ]);
  });

  it('has no unacknowledged cdk-nag finding, each acknowledgment with its reason', () => {
    expectNagClean(report);
  });
});

describe('profiles on two architectures', () => {
  let json: TemplateJson;
  beforeAll(async () => {
    ({ json } = await synthesize({
      profiles: [
        { name: 'default', labels: ['<detail_org>-<target_env>-<wf_job_run_id>'] },
        { name: 'graviton', labels: ['graviton'], architecture: 'arm64' },
      ],
    }));
  });

  it('builds each on a native builder: an arm64 project on Graviton', () => {
    const environments = ofType(json, 'AWS::CodeBuild::Project').map(
      ([, p]) => p.Properties.Environment as Record<string, unknown>,
    );
    expect(environments.map((e) => [e.Type, e.Image, e.PrivilegedMode])).toEqual([
      ['LINUX_CONTAINER', 'aws/codebuild/standard:7.0', true],
      ['ARM_CONTAINER', 'aws/codebuild/amazonlinux-aarch64-standard:3.0', true],
    ]);
  });

  it("runs each profile's task definition from its architecture's image, after its build at deploy", () => {
    const images = ofType(json, 'AWS::ECS::TaskDefinition').map(([, definition]) => [
      (definition.Properties.ContainerDefinitions as Array<{ Image: unknown }>)[0]?.Image,
      (definition as { DependsOn?: string[] }).DependsOn,
    ]);
    expect(images).toEqual([
      [`{{resolve:ssm:${PARAMETER}/x86_64}}`, ['RunnerImageX8664']],
      [`{{resolve:ssm:${PARAMETER}/arm64}}`, ['RunnerImageArm64']],
    ]);
  });

  it('alarms on a failed build of either project', () => {
    const [alarm] = ofType(json, 'AWS::CloudWatch::Alarm')
      .filter(([id]) => id.startsWith('ImageBuildFailed'))
      .map(([, a]) => a.Properties);
    expect(alarm?.Metrics).toEqual(
      expect.arrayContaining([expect.objectContaining({ Expression: 'FILL(m0, 0) + FILL(m1, 0)' })]),
    );
  });
});

describe('settings of the image build', () => {
  const read = (context: Record<string, unknown>) => readSettings((key) => context[key], {});

  it('takes the rebuild schedule from imageRebuildSchedule, refusing what EventBridge would', () => {
    expect(read({ imageRebuildSchedule: 'cron(0 4 ? * SUN *)' }).imageBuild?.rebuildSchedule).toBe(
      'cron(0 4 ? * SUN *)',
    );
    expect(() => read({ imageRebuildSchedule: 'weekly' })).toThrow(SettingsError);
  });

  it('builds nothing when the operator names an image', () => {
    expect(read({ imageUri: 'registry.example.com/runner:2.338.0' }).imageBuild).toBeUndefined();
    expect(read({ imageTag: '2.338.0-2' }).imageBuild).toBeUndefined();
  });

  it("gives GitHub Enterprise Server's tasks its server and API addresses", async () => {
    const { json } = await synthesize({
      githubApiUrl: 'https://ghes.example.com/api/v3',
      webhookAllowedCidrs: '10.0.0.0/8',
    });
    const [[, taskDefinition]] = ofType(json, 'AWS::ECS::TaskDefinition') as [
      [string, TemplateJson['Resources'][string]],
    ];
    const [container] = taskDefinition.Properties.ContainerDefinitions as Array<{
      Environment: Array<{ Name: string; Value: string }>;
    }>;
    expect(container?.Environment.filter((e) => e.Name.startsWith('GITHUB_'))).toEqual([
      { Name: 'GITHUB_SERVER_URL', Value: 'https://ghes.example.com' },
      { Name: 'GITHUB_API_URL', Value: 'https://ghes.example.com/api/v3' },
    ]);
    // actions/runner's releases are github.com's, GitHub Enterprise Server or not.
    const variables = (
      functionOf(json, 'ImageRelease').Properties.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(variables.GITHUB_API_URL).toBe('https://api.github.com');
  });
});
