/** Who may read the credential secrets, and where the runner instances may write logs, in every shape of the stack. */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readSettings } from '../../infra/settings';
import { STACK_VARIANTS, synthesizeVariant } from '../support/stack-variants';
import {
  environmentOf,
  idOf,
  synthesize,
  type TemplateJson,
  type ValidationReport,
} from '../support/synth-stack';

type Statement = Record<string, unknown>;

const statementsOfPolicy = (resource: TemplateJson['Resources'][string]) =>
  (resource.Properties.PolicyDocument as { Statement: Statement[] }).Statement;

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/** The roles whose policies allow secretsmanager:GetSecretValue on the secret, as `Fn::GetAtt` ARNs. */
function grantedReaders(json: TemplateJson, secretId: string): unknown[] {
  const readers: unknown[] = [];
  for (const resource of Object.values(json.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const reads = statementsOfPolicy(resource).some(
      (statement) =>
        statement.Effect === 'Allow' &&
        asList(statement.Action).includes('secretsmanager:GetSecretValue') &&
        asList(statement.Resource).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: secretId })),
    );
    if (!reads) continue;
    for (const role of resource.Properties.Roles as Array<{ Ref: string }>) {
      readers.push({ 'Fn::GetAtt': [role.Ref, 'Arn'] });
    }
  }
  return readers;
}

/** The resource policy statements of a secret. */
function secretPolicy(json: TemplateJson, secretId: string): Statement[] {
  const policies = Object.values(json.Resources).filter(
    (resource) =>
      resource.Type === 'AWS::SecretsManager::ResourcePolicy' &&
      JSON.stringify(resource.Properties.SecretId) === JSON.stringify({ Ref: secretId }),
  );
  return policies.flatMap(
    (policy) => (policy.Properties.ResourcePolicy as { Statement: Statement[] }).Statement,
  );
}

/**
 * The principals the one statement of a secret's policy exempts from its deny: none when it has no
 * condition (it denies everyone).
 */
function exempted(statements: Statement[]): unknown[] {
  const [statement] = statements;
  if (statement === undefined || statements.length !== 1) throw new Error('expected one statement');
  const condition = statement.Condition as { ArnNotLike: { 'aws:PrincipalArn': unknown[] } } | undefined;
  return condition?.ArnNotLike['aws:PrincipalArn'] ?? [];
}

const sorted = (values: unknown[]) => values.map((value) => JSON.stringify(value)).sort();

/** The GitHub credential secrets of a stack (every secret but the webhook's), by logical id. */
const credentialSecrets = (json: TemplateJson) =>
  Object.entries(json.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::SecretsManager::Secret')
    .map(([id]) => id)
    .filter((id) => id !== idOf(json, 'AWS::SecretsManager::Secret', 'WebhookSecret'))
    // The setup page's one-time key: the deployer reads it to open the page, and it is no GitHub credential.
    .filter((id) => !id.startsWith('SetupSecret'));

const OPERATOR = 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_*';

describe.each(STACK_VARIANTS)('the GitHub credential secrets with %s', (_, context) => {
  let json: TemplateJson;
  let report: ValidationReport;
  beforeAll(async () => {
    ({ json, report } = await synthesizeVariant(context));
  });

  it('deny reading their value to every principal but the roles granted it (everyone, with none)', () => {
    expect(credentialSecrets(json).length).toBeGreaterThan(0);
    for (const secretId of credentialSecrets(json)) {
      const [statement] = secretPolicy(json, secretId);
      expect(secretPolicy(json, secretId)).toHaveLength(1);
      expect(statement).toMatchObject({
        Sid: 'OnlyItsReadersGetTheValue',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'secretsmanager:GetSecretValue',
        Resource: '*',
      });
      const readers = grantedReaders(json, secretId);
      expect(sorted(exempted(secretPolicy(json, secretId)))).toEqual(sorted(readers));
      if (readers.length === 0) expect(statement?.Condition).toBeUndefined();
    }
  });

  it('let the webhook, the launcher, the reconciler and the capacity function read the credentials they are given', () => {
    const given = environmentOf(json, 'Webhook').GITHUB_AUTH_SECRET_ARN as { Ref: string };
    const readers = JSON.stringify(grantedReaders(json, given.Ref));
    for (const name of ['WebhookRole', 'LauncherRole', 'ReconcilerRole', 'CapacityRole'])
      expect(readers).toContain(name);
  });

  it('let no task or instance role read them', () => {
    for (const secretId of credentialSecrets(json)) {
      expect(JSON.stringify(grantedReaders(json, secretId))).not.toMatch(/Task|Instance/);
    }
  });

  it('leave the webhook secret without a resource policy: the operator reads it to paste into GitHub', () => {
    expect(secretPolicy(json, idOf(json, 'AWS::SecretsManager::Secret', 'WebhookSecret'))).toEqual([]);
  });

  it('pass cdk-nag', () => {
    expect(report.pluginReports.map((plugin) => plugin.conclusion)).toEqual(['success']);
  });
});

describe('token registration with the redelivery sweep and an operator reader', () => {
  let json: TemplateJson;
  let report: ValidationReport;
  beforeAll(async () => {
    ({ json, report } = await synthesize({
      registration: 'token',
      githubOrg: 'octo-org',
      githubHookId: '12345',
      secretReaders: OPERATOR,
    }));
  });

  const allowedBy = (secretPath: string) =>
    exempted(secretPolicy(json, idOf(json, 'AWS::SecretsManager::Secret', secretPath)));

  it("lets only the operator read the registration token: the functions use the sweep's credentials", () => {
    expect(allowedBy('RegistrationToken')).toEqual([OPERATOR]);
  });

  it('lets the functions, the redelivery sweep and the operator read the GitHub credentials', () => {
    const secretId = idOf(json, 'AWS::SecretsManager::Secret', 'GitHubAuth');
    expect(sorted(allowedBy('GitHubAuth'))).toEqual(sorted([...grantedReaders(json, secretId), OPERATOR]));
    const readers = JSON.stringify(grantedReaders(json, secretId));
    for (const name of ['WebhookRole', 'LauncherRole', 'ReconcilerRole', 'CapacityRole', 'RedeliverRole'])
      expect(readers).toContain(name);
  });

  it('passes cdk-nag', () => {
    expect(report.pluginReports.map((plugin) => plugin.conclusion)).toEqual(['success']);
  });
});

describe('secretReaders', () => {
  const fromContext = (context: Record<string, unknown>) => readSettings((key) => context[key], {});

  it('takes role ARNs, a trailing * included', () => {
    expect(
      fromContext({ secretReaders: `${OPERATOR},arn:aws:iam::123456789012:role/Ops` }).secretReaders,
    ).toEqual([OPERATOR, 'arn:aws:iam::123456789012:role/Ops']);
  });

  it('refuses what is not an IAM principal ARN, such as a session ARN or a name', () => {
    expect(() => fromContext({ secretReaders: 'Ops' })).toThrow(
      'secretReaders must be IAM role or user ARNs',
    );
    expect(() => fromContext({ secretReaders: 'arn:aws:sts::123456789012:assumed-role/Ops/me' })).toThrow(
      'secretReaders must be IAM role or user ARNs',
    );
  });
});

describe.each(STACK_VARIANTS)('the instance role with %s', (_, context) => {
  let json: TemplateJson;
  beforeAll(async () => {
    ({ json } = await synthesizeVariant(context));
  });

  const instanceStatements = () => {
    const roleId = idOf(json, 'AWS::IAM::Role', 'InstanceRole');
    return Object.values(json.Resources)
      .filter(
        (resource) =>
          resource.Type === 'AWS::IAM::Policy' &&
          JSON.stringify(resource.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
      )
      .flatMap(statementsOfPolicy);
  };

  it('may write logs only to the runner log group', () => {
    const logs = instanceStatements().filter((statement) =>
      asList(statement.Action).some((action) => String(action).startsWith('logs:')),
    );
    const runnerLogs = json.Resources[idOf(json, 'AWS::Logs::LogGroup', 'RunnerLogs')];
    expect(logs).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':logs:us-east-1:',
              { Ref: 'AWS::AccountId' },
              `:log-group:${runnerLogs?.Properties.LogGroupName as string}:*`,
            ],
          ],
        },
      },
    ]);
  });

  it('keeps the ECS agent permissions that take no resource', () => {
    expect(instanceStatements()).toContainEqual({
      Effect: 'Allow',
      Action: ['ecs:DiscoverPollEndpoint', 'ecr:GetAuthorizationToken'],
      Resource: '*',
    });
  });
});
