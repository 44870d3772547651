/** The security settings an operator opts into, and the configurations the synth refuses. */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { createRunnerApp } from '../../infra/runner-app';
import { ORG_SCOPE_VARIANTS } from '../support/stack-variants';
import {
  environmentOf,
  standInDist,
  synthesize,
  type TemplateJson,
  type ValidationReport,
} from '../support/synth-stack';

describe('opted in: the seed task role policy, an allow-list of sources, a GitHub App hook', () => {
  let json: TemplateJson;
  let report: ValidationReport;
  let annotations: Annotations;

  beforeAll(async () => {
    const synthesized = await synthesize({
      taskRoleSeedPolicy: 'true',
      webhookAllowedCidrs: '192.30.252.0/22,185.199.108.0/22',
      githubHook: 'app',
      allowedOrgs: 'octo-org',
    });
    ({ json, report } = synthesized);
    annotations = Annotations.fromStack(synthesized.stack);
  });

  it("gives the task role the seed's ec2:Describe* policy", () => {
    const [policy] = (json.Resources.TaskRole?.Properties.Policies ?? []) as Array<{
      PolicyDocument: unknown;
    }>;
    expect(policy?.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Action: ['ec2:Describe*'], Effect: 'Allow', Resource: '*' }],
    });
  });

  it('passes the allowed sources, the hook and the organisations to the webhook, which enforces them', () => {
    expect(environmentOf(json, 'Webhook')).toMatchObject({
      WEBHOOK_ALLOWED_CIDRS: '192.30.252.0/22,185.199.108.0/22',
      GITHUB_HOOK: 'app',
      ALLOWED_ORGS: 'octo-org',
    });
  });

  it('deploys the redelivery sweep and warns of nothing about it', () => {
    expect(Object.keys(json.Resources).some((id) => id.startsWith('RedeliverFunction'))).toBe(true);
    annotations.hasNoWarning('*', Match.stringLikeRegexp('No redelivery sweep'));
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expect(report.pluginReports[0]?.violations).toEqual([]);
  });
});

it('warns when no redelivery sweep is deployed (token registration without a hook)', async () => {
  const { stack } = await synthesize({ registration: 'token' });
  Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('^No redelivery sweep'));
});

describe('runner groups of organisation runners', () => {
  const shared = Match.stringLikeRegexp('^Shared runner group');

  it.each(ORG_SCOPE_VARIANTS)(
    'warns when one group serves every repository of the organisation (%s)',
    async (_, context) => {
      const { stack } = await synthesize(context);
      Annotations.fromStack(stack).hasWarning('*', shared);
    },
  );

  it('warns of nothing once the operator accepts a shared group (runnerGroupShared)', async () => {
    const { stack, json } = await synthesize({ runnerScope: 'org', runnerGroupShared: 'true' });
    Annotations.fromStack(stack).hasNoWarning('*', shared);
    for (const id of ['Webhook', 'Launcher', 'Reconciler']) {
      expect(environmentOf(json, id).RUNNER_GROUP_SHARED).toBe('true');
    }
  });

  it('warns of nothing with a group per repository, or with repository runners', async () => {
    const perRepository = await synthesize({
      runnerScope: 'org',
      runnerGroupTemplate: '<detail_org>-<target_env>-<detail_repo_name>',
    });
    Annotations.fromStack(perRepository.stack).hasNoWarning('*', shared);
    Annotations.fromStack((await synthesize({})).stack).hasNoWarning('*', shared);
  });
});

it('passes the public repository opt-ins to the webhook, the launcher and the reconciler', async () => {
  const { json } = await synthesize({
    publicRepositoriesAllowed: ['octo-org/site', 'octo-org/docs'],
    internalRepositoriesTrusted: 'true',
  });
  for (const id of ['Webhook', 'Launcher', 'Reconciler']) {
    expect(environmentOf(json, id)).toMatchObject({
      PUBLIC_REPOSITORIES_ALLOWED: 'octo-org/site,octo-org/docs',
      INTERNAL_REPOSITORIES_TRUSTED: 'true',
    });
  }
});

it("warns that the default sweep reads the GitHub App's own hook until a hook is named", async () => {
  const { stack } = await synthesize({});
  Annotations.fromStack(stack).hasWarning(
    '*',
    Match.stringLikeRegexp("^The redelivery sweep reads the GitHub App's own webhook"),
  );
});

it('refuses at synth a GitHub App webhook without allowedOrgs', async () => {
  const distDir = await standInDist();
  expect(() => createRunnerApp({ context: { githubHook: 'app' }, env: {}, distDir })).toThrow(
    /githubHook=app needs allowedOrgs/,
  );
});

describe('alarm notifications', () => {
  it('sends the alarms to a topic of the stack with an email subscription (alarmEmail)', async () => {
    const { json, report } = await synthesize({ alarmEmail: 'platform@example.com' });
    const topics = Object.entries(json.Resources).filter(
      ([, resource]) => resource.Type === 'AWS::SNS::Topic',
    );
    expect(topics).toHaveLength(1);
    const [[topicId]] = topics as [[string, unknown]];
    expect(
      Object.values(json.Resources).find((resource) => resource.Type === 'AWS::SNS::Subscription')
        ?.Properties,
    ).toMatchObject({ Protocol: 'email', Endpoint: 'platform@example.com', TopicArn: { Ref: topicId } });
    const alarms = Object.values(json.Resources).filter(
      (resource) => resource.Type === 'AWS::CloudWatch::Alarm',
    );
    expect(alarms.length).toBeGreaterThan(5);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    expect(json.Outputs.AlarmTopicArn?.Value).toEqual({ Ref: topicId });
    expect(report.pluginReports[0]?.violations).toEqual([]);
  });

  it("sends the alarms to the operator's topic (alarmTopicArn)", async () => {
    const topicArn = 'arn:aws:sns:us-east-1:123456789012:ops';
    const { json, stack } = await synthesize({ alarmTopicArn: topicArn });
    for (const alarm of Object.values(json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties.AlarmActions).toEqual([topicArn]);
    }
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('notify nobody'));
  });

  it('warns when the alarms notify nobody', async () => {
    const { stack } = await synthesize({});
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('^The alarms notify nobody'));
  });
});

it('keeps the real names of errors in the bundles (esbuild keepNames)', () => {
  expect(readFileSync('esbuild.config.mjs', 'utf8')).toMatch(/\n\s+keepNames: true,\n/);
});
