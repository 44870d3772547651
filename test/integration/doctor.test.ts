/**
 * `npm run doctor` with the real AWS SDK clients and Octokit against loopback stand-ins of
 * CloudFormation, Secrets Manager, ECS, ECR, CloudWatch, SNS and GitHub: a healthy deployment has
 * no problem, and each quiet failure, seeded alone, is the problem found.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createAwsDoctor } from '../../shared/doctor/aws-doctor';
import { parseDoctorOptions } from '../../shared/doctor/doctor-options';
import type { DoctorReport } from '../../shared/doctor/doctor-report';
import type { CheckName } from '../../shared/doctor/finding';
import { createGitHubDoctor } from '../../shared/doctor/github-doctor';
import { runDoctor } from '../../shared/doctor/run-doctor';
import { createRunnerReleases } from '../../shared/image/github-releases';
import type { StandIn } from '../support/aws-stand-in';
import { type StandInStack, startCloudFormationStandIn } from '../support/cloudformation-stand-in';
import { type StandInAlarm, startCloudWatchStandIn } from '../support/cloudwatch-stand-in';
import { startEcrStandIn } from '../support/ecr-stand-in';
import { type EcsResources, startEcsResourcesStandIn } from '../support/ecs-resources-stand-in';
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in';
import { type StandInBuild, startCodeBuildStandIn } from '../support/image-build-stand-ins';
import { runnerRelease } from '../support/runner-releases';
import { startSecretsManagerStandIn } from '../support/secrets-manager-stand-in';
import { type StandInSubscription, startSnsStandIn } from '../support/sns-stand-in';

const TOKEN = 'ghp_doctor_token';
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret';
const WEBHOOK_SECRET_ARN = `${ARN}:github-runners-webhook-secret-AbCdEf`;
const GITHUB_AUTH_ARN = `${ARN}:github-runners-github-auth-GhIjKl`;
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:runner-alarms';
const REPOSITORY = 'github-actions-self-hosted-runner-debian';
const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/${REPOSITORY}:2.339.0-x64-8`;
const PROJECT = 'RunnerImageBuildX8664-AbCdEf';
const DAY = 86_400_000;
const FAMILY = 'github-actions-self-hosted-runner-debian-task';

const stack: StandInStack = {
  name: 'GitHubRunners',
  status: 'UPDATE_COMPLETE',
  outputs: {},
  tags: {},
  resources: [],
};
const secrets: Record<string, string> = {};
const ecsResources: EcsResources = { clusters: [], taskDefinitions: [], capacityProviders: [] };
const repositories = new Map<string, string[]>();
const alarms: StandInAlarm[] = [];
const topics = new Map<string, StandInSubscription[]>();

/** The deployment as it should be after the deploy checklist; each test then breaks one thing. */
function healthy() {
  Object.assign(stack, {
    status: 'UPDATE_COMPLETE',
    outputs: {
      WebhookSecretArn: WEBHOOK_SECRET_ARN,
      GitHubAuthSecretArn: GITHUB_AUTH_ARN,
      ClusterName: 'runners',
      CapacityProviderName: 'runners-capacity',
      TaskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/${FAMILY}:3`,
      WebhookUrl: 'https://abc.execute-api.us-east-1.amazonaws.com/webhook',
      // Deployed with runnerScope=org: the checks below are an organisation's.
      RunnerScope: 'org',
      ImageBuildProjects: PROJECT,
      ImageReleaseFunction: 'GitHubRunners-ImageReleaseFunction-AbCdEf',
    },
    tags: { Env: 'sandpit' },
    resources: [
      { logicalId: 'Webhook', physicalId: 'GitHubRunners-Webhook', type: 'AWS::Lambda::Function' },
      {
        logicalId: 'WebhookErrorsAlarm',
        physicalId: 'GitHubRunners-WebhookErrors',
        type: 'AWS::CloudWatch::Alarm',
      },
      { logicalId: 'Overflow', physicalId: 'https://sqs/overflow', type: 'AWS::SQS::Queue' },
      {
        logicalId: 'DeadLettersAlarm',
        physicalId: 'GitHubRunners-DeadLetters',
        type: 'AWS::CloudWatch::Alarm',
      },
      {
        logicalId: 'LauncherErrorsAlarm',
        physicalId: 'GitHubRunners-LauncherErrors',
        type: 'AWS::CloudWatch::Alarm',
      },
    ],
  });
  secrets[WEBHOOK_SECRET_ARN] = 'k3Jd93LxQp0vZr7TnYb2Wm5Hs8Fc1Ga4Ue6Io9Pq';
  secrets[GITHUB_AUTH_ARN] = JSON.stringify({ token: TOKEN });
  ecsResources.clusters = [{ name: 'runners', status: 'ACTIVE', capacityProviders: ['runners-capacity'] }];
  ecsResources.taskDefinitions = [{ family: FAMILY, revision: 3, status: 'ACTIVE', image: IMAGE }];
  ecsResources.capacityProviders = [{ name: 'runners-capacity', status: 'ACTIVE' }];
  repositories.clear();
  repositories.set(REPOSITORY, ['2.339.0-x64-8', '2.338.0-x64-7']);
  // The image has GitHub's latest runner release, built by a build that succeeded.
  releases(['2.339.0', 2], ['2.338.0', 40]);
  codeBuild.builds.splice(0, codeBuild.builds.length, build('SUCCEEDED', 2));
  alarms.length = 0;
  for (const name of [
    'GitHubRunners-WebhookErrors',
    'GitHubRunners-DeadLetters',
    'GitHubRunners-LauncherErrors',
  ]) {
    alarms.push({ name, actionsEnabled: true, actions: [TOPIC] });
  }
  topics.clear();
  topics.set(TOPIC, [{ protocol: 'email', endpoint: 'platform@example.com', confirmed: true }]);
  github.groups.clear();
  github.groups.set('org:octo-org', [
    { id: 10, name: 'octo-org-sandpit', allows_public_repositories: false },
  ]);
  github.deliveries.length = 0;
  github.fault = undefined;
  delivery(200, 5);
  delivery(202, 30);
}

let github: GitHubStandIn;
let codeBuild: StandIn & { builds: StandInBuild[] };

/** actions/runner's releases, newest first: each a version published some days ago. */
function releases(...versions: Array<[string, number]>) {
  github.releases.splice(
    0,
    github.releases.length,
    ...versions.map(([version, daysAgo]) =>
      runnerRelease({
        version,
        publishedAt: new Date(Date.now() - daysAgo * DAY).toISOString(),
        downloadUrl: `https://github.com/actions/runner/releases/download/v${version}/actions-runner-linux-{arch}-${version}.tar.gz`,
        checksums: { x64: 'a'.repeat(64), arm64: 'b'.repeat(64) },
      }),
    ),
  );
}

/** A build of the image project that ended `daysAgo`. */
const build = (status: StandInBuild['status'], daysAgo: number, number = 8): StandInBuild => ({
  id: `${PROJECT}:0000000${number}-0000-4000-8000-000000000000`,
  project: PROJECT,
  number,
  environment: {},
  status,
  startedAt: Date.now() - daysAgo * DAY - 600_000,
  endedAt: Date.now() - daysAgo * DAY,
});
let nextDelivery = 1;
const standIns: StandIn[] = [];

/** One attempt of a workflow_job delivery `minutes` ago, answered `statusCode`; newest first, as GitHub lists. */
function delivery(statusCode: number, minutes: number, guid: string = randomUUID()) {
  github.deliveries.push({
    id: nextDelivery++,
    guid,
    delivered_at: new Date(Date.now() - minutes * 60_000).toISOString(),
    redelivery: false,
    status: statusCode === 401 ? 'Invalid HTTP Response: 401' : 'OK',
    status_code: statusCode,
    event: 'workflow_job',
    action: 'queued',
    payload: {},
  });
  github.deliveries.sort((a, b) => Date.parse(b.delivered_at) - Date.parse(a.delivered_at));
}

const endpoints: Record<string, string> = {};

beforeAll(async () => {
  github = await startGitHubStandIn({ token: TOKEN });
  codeBuild = await startCodeBuildStandIn([PROJECT]);
  const [cloudFormation, secretsManager, ecs, ecr, cloudWatch, sns] = await Promise.all([
    startCloudFormationStandIn([stack]),
    startSecretsManagerStandIn(secrets),
    startEcsResourcesStandIn(ecsResources),
    startEcrStandIn(repositories),
    startCloudWatchStandIn(alarms),
    startSnsStandIn(topics),
  ]);
  standIns.push(cloudFormation, secretsManager, ecs, ecr, cloudWatch, sns, codeBuild);
  Object.assign(endpoints, {
    AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    AWS_ENDPOINT_URL_ECS: ecs.url,
    AWS_ENDPOINT_URL_ECR: ecr.url,
    AWS_ENDPOINT_URL_CLOUDWATCH: cloudWatch.url,
    AWS_ENDPOINT_URL_SNS: sns.url,
    AWS_ENDPOINT_URL_CODEBUILD: codeBuild.url,
  });
  Object.assign(process.env, endpoints);
});
afterAll(async () => {
  for (const name of Object.keys(endpoints)) delete process.env[name];
  await Promise.all([github.close(), ...standIns.map((s) => s.close())]);
});
beforeEach(() => healthy());
afterEach(() => expect(github.violations).toEqual([]));

const flags = { org: 'octo-org', 'hook-id': '77' };

function doctorWith(given: Record<string, string | boolean>): Promise<DoctorReport> {
  const options = parseDoctorOptions(
    { 'releases-api-url': github.url, ...given },
    { GITHUB_API_URL: github.url },
  );
  return runDoctor(options, {
    aws: createAwsDoctor(),
    releases: createRunnerReleases(options.releasesApiUrl),
    github: (credentials, value) => createGitHubDoctor(options.apiUrl, credentials, value),
  });
}
const doctor = (extra: Record<string, string> = {}) => doctorWith({ ...flags, ...extra });

const problems = (report: DoctorReport) =>
  report.findings.filter((f) => f.status === 'problem').map((f) => f.check);
const finding = (report: DoctorReport, check: CheckName) => report.findings.find((f) => f.check === check);

describe('npm run doctor against a deployment', () => {
  it('finds no problem in a healthy deployment, and checks every part of it', async () => {
    const report = await doctor();
    // JIT registration (the default) has no registration token secret to check; a token's
    // permissions cannot be read.
    expect(report.findings.filter((f) => f.status !== 'ok').map((f) => f.check)).toEqual([
      'registration-token',
      'github-permissions',
    ]);
    expect(report.region).toBe('us-east-1');
    expect(finding(report, 'alarm-actions')?.summary).toContain('3 alarms');
    expect(finding(report, 'runner-group')?.summary).toContain('octo-org-sandpit');
  });

  it('finds the webhook secret left as a placeholder', async () => {
    secrets[WEBHOOK_SECRET_ARN] = 'placeholder';
    const report = await doctor();
    expect(problems(report)).toEqual(['webhook-secret']);
    expect(finding(report, 'webhook-secret')?.fix).toContain(`--secret-id ${WEBHOOK_SECRET_ARN}`);
  });

  it('finds the GitHub credentials secret still holding the generated placeholder', async () => {
    secrets[GITHUB_AUTH_ARN] = 'q!Zr8#Lm2^Xv9&Tb4*Wn6(Yc1)Pd3-Hs';
    const report = await doctor();
    expect(problems(report)).toEqual(['github-credentials']);
    expect(finding(report, 'github-credentials')?.summary).toContain('placeholder');
    expect(finding(report, 'webhook-deliveries')?.status).toBe('skipped');
  });

  it('finds deliveries GitHub signed with another secret, with the fix', async () => {
    delivery(401, 1);
    const report = await doctor();
    expect(problems(report)).toEqual(['webhook-deliveries']);
    expect(finding(report, 'webhook-deliveries')?.summary).toMatch(/1 of 3 deliveries .* failed \(1× 401\)/);
    expect(finding(report, 'webhook-deliveries')?.fix).toContain('WebhookSecretCommand');
  });

  it('counts a delivery as healthy once its redelivery succeeded', async () => {
    const guid = randomUUID();
    delivery(503, 20, guid);
    delivery(202, 2, guid);
    expect(problems(await doctor())).toEqual([]);
  });

  it('finds GitHub credentials that GitHub refuses', async () => {
    secrets[GITHUB_AUTH_ARN] = JSON.stringify({ token: 'ghp_revoked' });
    const report = await doctor();
    expect(problems(report)).toEqual(['webhook-deliveries', 'github-access', 'runner-group']);
    expect(finding(report, 'github-access')?.fix).toContain('refuses the credentials');
  });

  it('finds credentials that may not manage runners', async () => {
    github.fault = (request) =>
      request.operation.endsWith('/actions/runners')
        ? { status: 403, body: { message: 'Resource not accessible by integration' } }
        : undefined;
    const report = await doctor();
    expect(problems(report)).toEqual(['github-access']);
    expect(finding(report, 'github-access')?.fix).toContain('Self-hosted runners');
  });

  it('finds the runner group the template names missing', async () => {
    github.groups.set('org:octo-org', [{ id: 11, name: 'other', allows_public_repositories: false }]);
    const report = await doctor();
    expect(problems(report)).toEqual(['runner-group']);
    expect(finding(report, 'runner-group')?.summary).toContain('no runner group named octo-org-sandpit');
  });

  it('finds the image tag the task definition names missing from ECR', async () => {
    repositories.set(REPOSITORY, ['v1']);
    const report = await doctor();
    expect(problems(report)).toEqual(['runner-image']);
    expect(finding(report, 'runner-image')?.fix).toContain(`docker push ${IMAGE}`);
  });

  it("fails when the image's runner is past GitHub's 30 days to install a newer release", async () => {
    releases(['2.340.0', 35], ['2.339.0', 70]);
    const report = await doctor();
    expect(problems(report)).toEqual(['runner-version']);
    expect(finding(report, 'runner-version')?.summary).toMatch(
      /runner 2\.339\.0, older than GitHub allows: runner 2\.340\.0 came out on .* every job stays queued/,
    );
    expect(finding(report, 'runner-version')?.fix).toContain(
      `aws lambda invoke --function-name GitHubRunners-ImageReleaseFunction-AbCdEf`,
    );
  });

  it('warns within 7 days of that date', async () => {
    releases(['2.340.0', 25], ['2.339.0', 70]);
    const report = await doctor();
    expect(problems(report)).toEqual([]);
    expect(finding(report, 'runner-version')).toMatchObject({
      status: 'warning',
      summary: expect.stringMatching(/GitHub stops queuing jobs to it on \d{4}-\d\d-\d\d, in 5 days/),
    });
  });

  it('counts the 30 days from the first release newer than the image, not the latest', async () => {
    releases(['2.341.0', 1], ['2.340.0', 31], ['2.339.0', 70]);
    expect(problems(await doctor())).toEqual(['runner-version']);
  });

  it("reads the runner of the family's latest revision: the one the rollout registered after the deploy", async () => {
    const older = `123456789012.dkr.ecr.us-east-1.amazonaws.com/${REPOSITORY}:2.338.0-x64-7`;
    ecsResources.taskDefinitions = [
      { family: FAMILY, revision: 3, status: 'ACTIVE', image: older },
      { family: FAMILY, revision: 4, status: 'ACTIVE', image: IMAGE },
    ];
    const report = await doctor();
    expect(finding(report, 'runner-version')).toMatchObject({
      status: 'ok',
      summary: "the image has runner 2.339.0, GitHub's latest release",
    });
  });

  it('says when the last image build ran and that it succeeded', async () => {
    const report = await doctor();
    expect(finding(report, 'image-build')).toMatchObject({
      status: 'ok',
      summary: expect.stringMatching(new RegExp(`^${PROJECT}: succeeded, \\d{4}-`)),
    });
  });

  it('warns when the last image build failed, naming it, the tasks keeping the last good image', async () => {
    codeBuild.builds.push(build('FAILED', 0, 9));
    const report = await doctor();
    expect(problems(report)).toEqual([]);
    expect(finding(report, 'image-build')).toMatchObject({
      status: 'warning',
      summary: expect.stringContaining(`${PROJECT}: failed,`),
      fix: expect.stringContaining(`--ids ${PROJECT}:00000009`),
    });
  });

  it('finds the task definition deregistered', async () => {
    ecsResources.taskDefinitions = [{ family: FAMILY, revision: 3, status: 'INACTIVE', image: IMAGE }];
    const report = await doctor();
    expect(problems(report)).toEqual(['task-definition']);
    expect(finding(report, 'task-definition')?.summary).toContain('INACTIVE');
  });

  it('finds the capacity provider missing', async () => {
    ecsResources.capacityProviders = [];
    const report = await doctor();
    expect(problems(report)).toEqual(['capacity-provider']);
    expect(finding(report, 'capacity-provider')?.summary).toContain('does not exist');
  });

  it('finds alarms that notify nobody', async () => {
    for (const alarm of alarms) alarm.actions = [];
    const report = await doctor();
    expect(problems(report)).toEqual(['alarm-actions']);
    expect(finding(report, 'alarm-actions')?.fix).toContain('alarmTopicArn');
    expect(finding(report, 'alarm-subscribers')?.status).toBe('skipped');
  });

  it('finds an alarm topic whose only subscription was never confirmed', async () => {
    topics.set(TOPIC, [{ protocol: 'email', endpoint: 'platform@example.com', confirmed: false }]);
    const report = await doctor();
    expect(problems(report)).toEqual(['alarm-subscribers']);
    expect(finding(report, 'alarm-subscribers')?.summary).toContain('email:platform@example.com');
  });

  it("checks the GitHub App's webhook and runners with the App's credentials", async () => {
    const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    secrets[GITHUB_AUTH_ARN] = JSON.stringify({ appId: 1, privateKey, installationId: 4242 });
    delivery(401, 1);
    const report = await doctorWith({ org: 'octo-org', app: true });
    expect(problems(report)).toEqual(['webhook-deliveries']);
    expect(finding(report, 'github-credentials')?.summary).toContain('GitHub App 1');
    const listing = github.requests.find((r) => r.operation === 'GET /app/hook/deliveries');
    expect(listing?.authorization).toMatch(/^bearer /i);
  });

  it('says which flag to pass when the stack is not found', async () => {
    const report = await doctor({ stack: 'Nope' });
    expect(problems(report)).toEqual(['stack']);
    expect(finding(report, 'stack')?.fix).toContain('--stack');
  });
});

describe('npm run doctor, by the scope the stack was deployed with', () => {
  const privateKey = () =>
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  const asApp = () => {
    secrets[GITHUB_AUTH_ARN] = JSON.stringify({ appId: 1, privateKey: privateKey() });
  };
  const repoScope = () => {
    stack.outputs = { ...stack.outputs, RunnerScope: 'repo' };
    github.installationPermissions = { administration: 'write', actions: 'read', metadata: 'read' };
  };
  afterEach(() => {
    github.notInstalled.clear();
  });

  it('passes a default deployment (RUNNER_SCOPE=repo) of a GitHub App: the repository, its permissions, no runner group', async () => {
    repoScope();
    asApp();
    const before = github.requests.length;
    const report = await doctorWith({ repo: 'octo-org/app', app: true });
    const requests = github.requests.slice(before);
    expect(problems(report)).toEqual([]);
    expect(finding(report, 'github-access')?.summary).toContain('runners of repository octo-org/app');
    expect(finding(report, 'github-permissions')).toMatchObject({
      status: 'ok',
      summary: expect.stringContaining('administration: write, actions: read'),
    });
    expect(finding(report, 'runner-group')?.status).toBe('skipped');
    // No organisation runner or runner group was asked for.
    expect(requests.some((r) => r.path.startsWith('/orgs/'))).toBe(false);
    expect(requests.some((r) => r.operation === 'GET /repos/{owner}/{repo}/installation')).toBe(true);
  });

  it('finds a repository-scope App without the Administration permission', async () => {
    repoScope();
    asApp();
    github.installationPermissions = { actions: 'read', metadata: 'read' };
    const report = await doctorWith({ repo: 'octo-org/app', app: true });
    expect(problems(report)).toEqual(['github-permissions']);
    expect(finding(report, 'github-permissions')?.summary).toContain('lacks administration: write');
  });

  it('finds the App not installed on the repository', async () => {
    repoScope();
    asApp();
    github.notInstalled.add('repo:octo-org/app');
    const report = await doctorWith({ repo: 'octo-org/app', app: true });
    expect(problems(report)).toContain('github-permissions');
    expect(finding(report, 'github-permissions')?.summary).toBe(
      'the GitHub App is not installed on repository octo-org/app',
    );
  });

  it('asks for --repo, not a runner group, when a repository-scope deployment is checked with --org', async () => {
    repoScope();
    const before = github.requests.length;
    const report = await doctor();
    expect(problems(report)).toEqual([]);
    expect(finding(report, 'github-access')?.summary).toContain('pass --repo OWNER/NAME');
    expect(finding(report, 'runner-group')?.summary).toContain("repository's Default group");
    expect(github.requests.slice(before).some((r) => r.path.includes('/runner-groups'))).toBe(false);
  });

  it('checks an organisation-scope App: its Self-hosted runners permission and the runner group', async () => {
    asApp();
    github.installationPermissions = { administration: 'write', actions: 'read', metadata: 'read' };
    const report = await doctorWith({ org: 'octo-org', app: true });
    expect(problems(report)).toEqual(['github-permissions']);
    expect(finding(report, 'github-permissions')?.summary).toContain(
      'lacks organization_self_hosted_runners: write',
    );
    expect(finding(report, 'runner-group')?.status).toBe('ok');
  });

  it('checks enterprise runners with a token, and their runner group', async () => {
    stack.outputs = { ...stack.outputs, RunnerScope: 'enterprise' };
    github.groups.set('enterprise:octo-corp', [
      { id: 12, name: 'Default', allows_public_repositories: false },
    ]);
    const report = await doctorWith({ enterprise: 'octo-corp', group: 'Default' });
    expect(problems(report)).toEqual([]);
    expect(finding(report, 'github-access')?.summary).toContain('enterprise octo-corp');
    expect(finding(report, 'runner-group')?.summary).toContain('runner group Default exists');
  });
});

describe('npm run doctor, the command', () => {
  const run = promisify(execFile);
  beforeAll(async () => {
    await run(process.execPath, ['esbuild.config.mjs', '--only', 'doctor']);
  });
  const cli = (...args: string[]) =>
    run(process.execPath, ['dist/doctor/index.mjs', '--releases-api-url', github.url, ...args], {
      env: { ...process.env, ...endpoints, GITHUB_API_URL: github.url },
    }).catch((error: { code: number; stdout: string; stderr: string }) => error);

  it('exits 0 and says so when nothing is wrong', async () => {
    const result = await cli('--org', 'octo-org', '--hook-id', '77');
    expect(result).toMatchObject({ stdout: expect.stringContaining('No problem found.') });
    // No AWS SDK warning about the Node.js version on an operator's terminal.
    expect((result as { stderr: string }).stderr).not.toContain('NodeVersionSupportWarning');
    expect((result as { code?: number }).code ?? 0).toBe(0);
  });

  it('exits 1 with the problem and its fix in JSON for scripts', async () => {
    repositories.set(REPOSITORY, []);
    const result = await cli('--org', 'octo-org', '--json');
    expect(result).toMatchObject({ code: 1 });
    const report = JSON.parse((result as { stdout: string }).stdout) as DoctorReport & { ok: boolean };
    expect(report.ok).toBe(false);
    expect(report.findings.find((f) => f.check === 'runner-image')).toMatchObject({
      status: 'problem',
      fix: expect.stringContaining('docker push'),
    });
  });

  it('exits 2 naming the flag that is wrong', async () => {
    const result = await cli('--hook-id', '77');
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining('--hook-id needs --org') });
  });
});
