/** Who may read the credential secrets, and where the runner instances may write logs. */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readSettings } from '../../infra/settings';
import { idOf, synthesize, type TemplateJson, type ValidationReport } from '../support/synth-stack';

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

/** The principals the one statement of a secret's policy exempts from its deny. */
function exempted(statements: Statement[]): unknown[] {
  const [statement] = statements;
  if (statement === undefined || statements.length !== 1) throw new Error('expected one statement');
  return (statement.Condition as { ArnNotLike: { 'aws:PrincipalArn': unknown[] } }).ArnNotLike[
    'aws:PrincipalArn'
  ];
}

const sorted = (values: unknown[]) => values.map((value) => JSON.stringify(value)).sort();

const OPERATOR = 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_*';

/** The default stack, synthesized once for the describes that read it. */
let defaultStack: ReturnType<typeof synthesize>;
beforeAll(() => {
  defaultStack = synthesize();
});

describe('the GitHub credentials secret (JIT registration, the default)', () => {
  let json: TemplateJson;
  let report: ValidationReport;
  let secretId: string;
  beforeAll(async () => {
    ({ json, report } = await defaultStack);
    secretId = idOf(json, 'AWS::SecretsManager::Secret', 'GitHubAuth');
  });

  it('denies reading its value to every principal but the roles granted it', () => {
    const readers = grantedReaders(json, secretId);
    expect(readers.length).toBeGreaterThanOrEqual(3);
    expect(secretPolicy(json, secretId)).toEqual([
      {
        Sid: 'OnlyItsReadersGetTheValue',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'secretsmanager:GetSecretValue',
        Resource: '*',
        Condition: { ArnNotLike: { 'aws:PrincipalArn': expect.any(Array) } },
      },
    ]);
    expect(sorted(exempted(secretPolicy(json, secretId)))).toEqual(sorted(readers));
  });

  it('lets the webhook, the launcher, the reconciler and the capacity function read it', () => {
    const readers = JSON.stringify(grantedReaders(json, secretId));
    for (const name of ['WebhookRole', 'LauncherRole', 'ReconcilerRole', 'CapacityRole'])
      expect(readers).toContain(name);
  });

  it('leaves the webhook secret without a resource policy: the operator reads it to paste into GitHub', () => {
    expect(secretPolicy(json, idOf(json, 'AWS::SecretsManager::Secret', 'WebhookSecret'))).toEqual([]);
  });

  it('passes cdk-nag', () => {
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

describe('token registration without the sweep', () => {
  let json: TemplateJson;
  beforeAll(async () => {
    ({ json } = await synthesize({ registration: 'token' }));
  });

  it("lets the four functions that launch tasks read the seed's token, and no task: they mint each registration token", () => {
    const secretId = idOf(json, 'AWS::SecretsManager::Secret', 'RegistrationToken');
    const readers = grantedReaders(json, secretId);
    expect(sorted(exempted(secretPolicy(json, secretId)))).toEqual(sorted(readers));
    expect(readers).toHaveLength(4);
    for (const name of ['WebhookRole', 'LauncherRole', 'ReconcilerRole', 'CapacityRole'])
      expect(JSON.stringify(readers)).toContain(name);
    expect(JSON.stringify(readers)).not.toContain('TaskExecutionRole');
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

describe('the instance role', () => {
  let json: TemplateJson;
  beforeAll(async () => {
    ({ json } = await defaultStack);
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
