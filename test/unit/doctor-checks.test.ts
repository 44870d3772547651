import { describe, expect, it } from '@jest/globals';
import { checkAlarmActions, checkAlarmSubscribers } from '../../shared/doctor/check-alarms';
import { checkDeliveries, type DeliveryFacts } from '../../shared/doctor/check-deliveries';
import {
  checkCapacityProvider,
  checkCluster,
  checkTaskDefinition,
  type EcsFacts,
} from '../../shared/doctor/check-ecs';
import {
  checkGitHubAccess,
  checkGitHubPermissions,
  checkRunnerGroup,
  type GitHubAccessFacts,
} from '../../shared/doctor/check-github-access';
import { checkRunnerImage } from '../../shared/doctor/check-runner-image';
import {
  checkGitHubCredentials,
  checkRegistrationToken,
  checkWebhookSecret,
  type SecretFacts,
} from '../../shared/doctor/check-secrets';
import { checkStack } from '../../shared/doctor/check-stack';
import { type DoctorFacts, diagnose } from '../../shared/doctor/diagnose';
import { parseEcrImage } from '../../shared/doctor/ecr-image';
import { CHECKS, hasProblems } from '../../shared/doctor/finding';
import type { HookDelivery } from '../../shared/github/hook-deliveries';

const value = <T>(v: T) => ({ ok: true as const, value: v });
const failed = (code: string) => ({ ok: false as const, error: `${code}: refused`, code });
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:s';

describe('the secrets check', () => {
  const secrets = (webhook: string, github = '{"token":"ghp_x"}'): SecretFacts => ({
    webhookSecret: { ...value(webhook), arn: ARN },
    githubCredentials: { ...value(github), arn: ARN },
    registrationToken: undefined,
  });

  it('passes a long random webhook secret', () => {
    expect(checkWebhookSecret(secrets('k3Jd93LxQp0vZr7TnYb2Wm5Hs8Fc1Ga4')).status).toBe('ok');
  });

  it.each(['', 'placeholder', 'CHANGEME', 'local-development-secret'])(
    'finds the webhook secret "%s" a placeholder',
    (secret) => {
      expect(checkWebhookSecret(secrets(secret))).toMatchObject({
        status: 'problem',
        fix: expect.stringContaining(ARN),
      });
    },
  );

  it('finds a placeholder in the previous secret of a rotation too', () => {
    expect(
      checkWebhookSecret(secrets('{"secret":"k3Jd93LxQp0vZr7TnYb2Wm5H","previous":"todo"}')).status,
    ).toBe('problem');
  });

  it('finds a stored rotation with empty values a problem, as the webhook refuses it', () => {
    expect(checkWebhookSecret(secrets('{"secret":"","previous":""}'))).toMatchObject({
      status: 'problem',
      summary: expect.stringContaining('non-empty "secret"'),
    });
  });

  it('warns of a short webhook secret', () => {
    expect(checkWebhookSecret(secrets('short-but-set')).status).toBe('warning');
  });

  it('says a secret it cannot read is missing when Secrets Manager does not know it', () => {
    const facts: SecretFacts = {
      webhookSecret: { ...failed('ResourceNotFoundException'), arn: ARN },
      githubCredentials: undefined,
      registrationToken: undefined,
    };
    expect(checkWebhookSecret(facts)).toMatchObject({
      status: 'problem',
      fix: expect.stringContaining('recreate'),
    });
  });

  it("points to secretReaders when the credentials secret's resource policy denies the reader", () => {
    const facts: SecretFacts = {
      webhookSecret: undefined,
      githubCredentials: {
        ...failed(
          'AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/Ops/me is not authorized to perform: secretsmanager:GetSecretValue with an explicit deny in a resource-based policy',
        ),
        arn: ARN,
      },
      registrationToken: undefined,
    };
    expect(checkGitHubCredentials(facts)).toMatchObject({
      status: 'problem',
      fix: expect.stringContaining('secretReaders'),
    });
  });

  it('finds the GitHub credentials secret still holding the generated value', () => {
    expect(checkGitHubCredentials(secrets('x'.repeat(40), 'a8#Kq!z'))).toMatchObject({
      status: 'problem',
      summary: expect.stringContaining('placeholder'),
      fix: expect.stringContaining('file://github-auth.json'),
    });
  });

  it('says which field of JSON GitHub credentials is wrong', () => {
    expect(checkGitHubCredentials(secrets('x'.repeat(40), '{"appId": 12}')).summary).toContain('privateKey');
  });

  it('passes a registration token shaped like a GitHub token, and finds one that is not', () => {
    const token = (t: string): SecretFacts => ({
      ...secrets('x'.repeat(40)),
      registrationToken: { ...value(t), arn: ARN },
    });
    expect(checkRegistrationToken(token(`ghp_${'a'.repeat(36)}`)).status).toBe('ok');
    expect(checkRegistrationToken(token('Zq8#mW2!')).status).toBe('problem');
  });
});

describe('the deliveries check', () => {
  let id = 0;
  const attempt = (statusCode: number, guid = `g${++id}`): HookDelivery => ({
    id: ++id,
    guid,
    deliveredAt: '2026-11-28T10:00:00Z',
    redelivery: false,
    status: statusCode === 200 ? 'OK' : `Invalid HTTP Response: ${statusCode}`,
    statusCode,
    event: 'workflow_job',
    action: 'queued',
  });
  const facts = (deliveries: HookDelivery[]): DeliveryFacts => ({
    hook: { kind: 'org', org: 'octo', hookId: 7 },
    since: '24h',
    deliveries: value(deliveries),
  });

  it('is skipped, naming the flags, without a hook', () => {
    expect(checkDeliveries({ ...facts([]), hook: undefined })).toMatchObject({
      status: 'skipped',
      summary: expect.stringContaining('--hook-id'),
    });
  });

  it('warns when the hook sent nothing', () => {
    expect(checkDeliveries(facts([])).status).toBe('warning');
  });

  it.each([
    [401, 'WebhookSecretCommand'],
    [404, 'WebhookUrl'],
    [0, 'WebhookUrl'],
    [415, 'application/json'],
    [503, 'npm run redeliver'],
  ])('gives the fix for deliveries answered %i', (code, fix) => {
    expect(checkDeliveries(facts([attempt(code), attempt(200)]))).toMatchObject({
      status: 'problem',
      fix: expect.stringContaining(fix),
    });
  });

  it('judges a delivery by its newest attempt', () => {
    expect(checkDeliveries(facts([attempt(200, 'same'), attempt(503, 'same')])).status).toBe('ok');
    expect(checkDeliveries(facts([attempt(503, 'same'), attempt(200, 'same')])).status).toBe('problem');
  });

  it('names --org and --hook-id when GitHub knows no such hook', () => {
    expect(checkDeliveries({ ...facts([]), deliveries: failed('HTTP 404') }).fix).toContain('--hook-id');
  });
});

describe('the GitHub access checks', () => {
  const facts = (over: Partial<GitHubAccessFacts> = {}): GitHubAccessFacts => ({
    scopeKind: 'org',
    scopeFrom: 'stack',
    scope: { kind: 'org', org: 'octo' },
    runners: value(2),
    group: { name: 'octo-sandpit', exists: value(true) },
    installation: undefined,
    ...over,
  });

  it('passes credentials that list runners, and an existing group', () => {
    expect([checkGitHubAccess(facts()).status, checkRunnerGroup(facts()).status]).toEqual(['ok', 'ok']);
  });

  it.each([
    ['HTTP 401', 'refuses the credentials'],
    ['HTTP 403', 'Self-hosted runners'],
    ['HTTP 404', 'installed'],
  ])('explains a listing answered %s', (code, fix) => {
    expect(checkGitHubAccess(facts({ runners: failed(code) })).fix).toContain(fix);
  });

  it('finds a missing runner group and says how to get one', () => {
    const finding = checkRunnerGroup(facts({ group: { name: 'octo-sandpit', exists: value(false) } }));
    expect(finding).toMatchObject({ status: 'problem', fix: expect.stringContaining('runnerGroupCreate') });
  });

  it('is skipped, naming --org, without a scope', () => {
    expect(checkGitHubAccess(facts({ scope: undefined })).summary).toContain('--org');
  });
});

describe('the GitHub checks of repository runners (RUNNER_SCOPE=repo)', () => {
  const repo = { kind: 'repo', owner: 'octo', repo: 'app' } as const;
  const needs = { administration: 'write', actions: 'read', metadata: 'read' } as const;
  const facts = (over: Partial<GitHubAccessFacts> = {}): GitHubAccessFacts => ({
    scopeKind: 'repo',
    scopeFrom: 'stack',
    scope: repo,
    runners: value(0),
    group: undefined,
    installation: {
      where: 'repository octo/app',
      needs,
      found: value({ id: 1, permissions: { ...needs }, repositorySelection: 'all' }),
    },
    ...over,
  });
  const installed = (permissions: Record<string, string>) =>
    facts({
      installation: {
        where: 'repository octo/app',
        needs,
        found: value({ id: 1, permissions, repositorySelection: 'selected' }),
      },
    });

  it('checks the repository, and no runner group: repository runners use its Default group', () => {
    expect(checkGitHubAccess(facts())).toMatchObject({
      status: 'ok',
      summary: expect.stringContaining('repository octo/app'),
    });
    expect(checkRunnerGroup(facts())).toMatchObject({
      status: 'skipped',
      summary: expect.stringContaining('Default group: no runner group to check'),
    });
  });

  it('asks for --repo, not --org, to check where runners register', () => {
    expect(checkGitHubAccess(facts({ scope: undefined })).summary).toContain('pass --repo OWNER/NAME');
  });

  it("explains a listing refused 403 with the repository's Administration permission", () => {
    expect(checkGitHubAccess(facts({ runners: failed('HTTP 403') })).fix).toContain('"Administration"');
  });

  it('passes an installation that grants administration write and actions read', () => {
    expect(checkGitHubPermissions(facts()).status).toBe('ok');
    expect(checkGitHubPermissions(installed({ ...needs, actions: 'write' })).status).toBe('ok');
  });

  it('finds an installation that lacks a permission, naming what it has', () => {
    expect(checkGitHubPermissions(installed({ administration: 'read', metadata: 'read' }))).toMatchObject({
      status: 'problem',
      summary:
        "the GitHub App's installation on repository octo/app lacks administration: write (has read), actions: read",
    });
  });

  it('finds the App not installed on the repository, and says where to install it', () => {
    const finding = checkGitHubPermissions(
      facts({ installation: { where: 'repository octo/app', needs, found: failed('HTTP 404') } }),
    );
    expect(finding).toMatchObject({ status: 'problem', fix: expect.stringContaining('Install App') });
  });

  it("skips a token's permissions, which GitHub does not show", () => {
    expect(checkGitHubPermissions(facts({ installation: 'token' })).status).toBe('skipped');
  });
});

describe('the GitHub checks of organisation runners (RUNNER_SCOPE=org)', () => {
  it("needs the organisation's Self-hosted runners permission and checks the runner group", () => {
    const needs = { organization_self_hosted_runners: 'write', actions: 'read', metadata: 'read' } as const;
    const facts: GitHubAccessFacts = {
      scopeKind: 'org',
      scopeFrom: 'flag',
      scope: { kind: 'org', org: 'octo' },
      runners: value(1),
      group: { name: 'octo-sandpit', exists: value(false) },
      installation: {
        where: 'organisation octo',
        needs,
        found: value({
          id: 1,
          permissions: { administration: 'write', metadata: 'read' },
          repositorySelection: 'all',
        }),
      },
    };
    expect(checkGitHubPermissions(facts).summary).toContain('lacks organization_self_hosted_runners: write');
    expect(checkRunnerGroup(facts).status).toBe('problem');
  });
});

describe('the GitHub checks of enterprise runners (RUNNER_SCOPE=enterprise)', () => {
  it('check the enterprise and its group, and no App installation', () => {
    const facts: GitHubAccessFacts = {
      scopeKind: 'enterprise',
      scopeFrom: 'stack',
      scope: { kind: 'enterprise', enterprise: 'octo-corp' },
      runners: value(3),
      group: { name: 'octo-sandpit', exists: value(true) },
      installation: undefined,
    };
    expect([checkGitHubAccess(facts).status, checkRunnerGroup(facts).status]).toEqual(['ok', 'ok']);
    expect(checkGitHubPermissions(facts).summary).toContain('classic token');
  });
});

describe('the runner image check', () => {
  const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/runner:v2';

  it('reads an ECR image reference, with latest when no tag is given', () => {
    expect(parseEcrImage(image)).toEqual({
      registryId: '123456789012',
      region: 'eu-west-1',
      repository: 'runner',
      tag: 'v2',
      digest: undefined,
    });
    expect(parseEcrImage('123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/runner')?.tag).toBe('latest');
    expect(parseEcrImage('ghcr.io/actions/actions-runner:latest')).toBeUndefined();
  });

  it('finds a tag missing from ECR and gives the push commands', () => {
    expect(checkRunnerImage({ image, state: value('no-image') })).toMatchObject({
      status: 'problem',
      fix: expect.stringContaining(`docker push ${image}`),
    });
  });

  it('skips an image outside ECR', () => {
    expect(checkRunnerImage({ image: 'ghcr.io/a/b:1', state: undefined }).status).toBe('skipped');
  });
});

describe('the ECS checks', () => {
  const facts = (over: Partial<EcsFacts> = {}): EcsFacts => ({
    cluster: { name: 'runners', found: value({ status: 'ACTIVE', capacityProviders: ['cp'] }) },
    taskDefinition: { name: 'family:3', found: value({ status: 'ACTIVE' }) },
    capacityProvider: { name: 'cp', found: value({ status: 'ACTIVE' }) },
    ...over,
  });

  it('passes an active cluster, task definition and attached capacity provider', () => {
    expect(
      [checkCluster(facts()), checkTaskDefinition(facts()), checkCapacityProvider(facts())].map(
        (f) => f.status,
      ),
    ).toEqual(['ok', 'ok', 'ok']);
  });

  it('finds a deregistered task definition', () => {
    expect(
      checkTaskDefinition(facts({ taskDefinition: { name: 'f:3', found: value({ status: 'INACTIVE' }) } }))
        .status,
    ).toBe('problem');
  });

  it('finds a missing cluster', () => {
    expect(checkCluster(facts({ cluster: { name: 'runners', found: value(undefined) } })).summary).toContain(
      'does not exist',
    );
  });

  it('finds a capacity provider not attached to the cluster', () => {
    const detached = facts({
      cluster: { name: 'runners', found: value({ status: 'ACTIVE', capacityProviders: [] }) },
    });
    expect(checkCapacityProvider(detached).summary).toContain('not attached');
  });
});

describe('the alarm checks', () => {
  const TOPIC = 'arn:aws:sns:us-east-1:123456789012:alarms';
  const alarms = (actions: string[], actionsEnabled = true) =>
    value([{ name: 'A', actionsEnabled, actions }]);

  it('finds alarms without actions, or with actions disabled', () => {
    expect(checkAlarmActions({ alarms: alarms([]), subscriptions: new Map() }).status).toBe('problem');
    expect(checkAlarmActions({ alarms: alarms([TOPIC], false), subscriptions: new Map() }).status).toBe(
      'problem',
    );
  });

  it('finds a topic with no subscriber, and one with only unconfirmed ones', () => {
    const none = checkAlarmSubscribers({
      alarms: alarms([TOPIC]),
      subscriptions: new Map([[TOPIC, value([])]]),
    });
    expect(none).toMatchObject({ status: 'problem', fix: expect.stringContaining('aws sns subscribe') });
    const pending = checkAlarmSubscribers({
      alarms: alarms([TOPIC]),
      subscriptions: new Map([[TOPIC, value([{ protocol: 'email', endpoint: 'a@b.c', confirmed: false }])]]),
    });
    expect(pending).toMatchObject({ status: 'problem', fix: expect.stringContaining('confirm') });
  });

  it('passes a topic with a confirmed subscriber', () => {
    const finding = checkAlarmSubscribers({
      alarms: alarms([TOPIC]),
      subscriptions: new Map([[TOPIC, value([{ protocol: 'email', endpoint: 'a@b.c', confirmed: true }])]]),
    });
    expect(finding.status).toBe('ok');
  });
});

describe('the stack check and the exit code', () => {
  it('finds a stack whose last deploy rolled back', () => {
    expect(checkStack({ name: 'S', region: 'r', status: value('UPDATE_ROLLBACK_COMPLETE') }).status).toBe(
      'problem',
    );
  });

  it('names --region when no region is configured', () => {
    const status = { ok: false as const, error: 'Error: Region is missing' };
    expect(checkStack({ name: 'S', region: 'the default region', status }).fix).toContain('--region');
  });

  it('fails only on problems, not on warnings or skipped checks', () => {
    expect(hasProblems([{ check: 'stack', status: 'warning', summary: '', fix: '' }])).toBe(false);
    expect(hasProblems([{ check: 'stack', status: 'problem', summary: '', fix: '' }])).toBe(true);
  });
});

describe('diagnose', () => {
  it('gives one finding per check, in the documented order, even with nothing gathered', () => {
    const nothing: DoctorFacts = {
      stack: { name: 'S', region: 'r', status: value(undefined) },
      secrets: { webhookSecret: undefined, githubCredentials: undefined, registrationToken: undefined },
      deliveries: { hook: undefined, since: '24h', deliveries: undefined },
      github: {
        scopeKind: 'repo',
        scopeFrom: 'default',
        scope: undefined,
        runners: undefined,
        group: undefined,
        installation: undefined,
      },
      image: { image: undefined, state: undefined },
      runnerVersion: { image: undefined, releases: undefined, now: 0, rebuild: '' },
      imageBuild: { projects: undefined, builds: undefined },
      ecs: { cluster: undefined, taskDefinition: undefined, capacityProvider: undefined },
      alarms: { alarms: undefined, subscriptions: new Map() },
    };
    const findings = diagnose(nothing);
    expect(findings.map((f) => f.check)).toEqual([...CHECKS]);
    expect(findings.filter((f) => f.status !== 'skipped').map((f) => f.check)).toEqual(['stack']);
  });
});
