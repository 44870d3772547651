/** The setup page's part of the stack: its own API and routes, its one-time secret, its few permissions. */
import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  environmentOf,
  functionOf,
  idOf,
  statementsOf,
  synthesize,
  type TemplateJson,
} from '../support/synth-stack';

let json: TemplateJson;
const secret = (prefix: string) => ({ Ref: idOf(json, 'AWS::SecretsManager::Secret', prefix) });

beforeAll(async () => {
  ({ json } = await synthesize({}));
});

describe('the setup page', () => {
  it('answers GET and POST /setup and GET /setup/callback on an API of its own, throttled, without the webhook WAF', () => {
    const methods = Object.entries(json.Resources)
      .filter(([id, r]) => r.Type === 'AWS::ApiGateway::Method' && id.startsWith('SetupRestApi'))
      .map(
        ([id, r]) => `${r.Properties.HttpMethod} ${id.includes('callback') ? '/setup/callback' : '/setup'}`,
      )
      .sort();
    expect(methods).toEqual(['GET /setup', 'GET /setup/callback', 'POST /setup']);
    const stages = Object.entries(json.Resources).filter(([, r]) => r.Type === 'AWS::ApiGateway::Stage');
    const setupStage = stages.find(([id]) => id.startsWith('SetupRestApi'));
    expect(setupStage?.[1].Properties).toMatchObject({
      StageName: 'github',
      MethodSettings: [expect.objectContaining({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 20 })],
    });
    // The web ACL guards the webhook's stage alone.
    const association = Object.values(json.Resources).find((r) => r.Type === 'AWS::WAFv2::WebACLAssociation');
    expect(JSON.stringify(association?.Properties.ResourceArn)).not.toContain(setupStage?.[0] ?? 'none');
  });

  it('generates a one-time key at deploy, in a secret of its own', () => {
    const setupSecret = json.Resources[idOf(json, 'AWS::SecretsManager::Secret', 'SetupSecret')];
    expect(setupSecret?.Properties).toMatchObject({
      Name: 'githubrunners/setup',
      GenerateSecretString: { SecretStringTemplate: '{}', GenerateStringKey: 'key', PasswordLength: 40 },
    });
  });

  it('may write the GitHub credentials and the webhook secret, and use its own secret: nothing else', () => {
    const statements = statementsOf(json, 'Setup').filter((s) => s.Sid !== undefined);
    expect(statements).toEqual([
      {
        Sid: 'UseSetupSecret',
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        Resource: secret('SetupSecret'),
      },
      {
        Sid: 'StoreGitHubCredentials',
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        Resource: [secret('GitHubAuth'), secret('WebhookSecret')],
      },
    ]);
    const actions = statementsOf(json, 'Setup').flatMap((s) => [s.Action].flat());
    expect(actions.filter((action) => String(action).includes('PutSecretValue'))).toHaveLength(2);
  });

  it("gets the stack's secrets, webhook URL and scope in its environment", () => {
    expect(functionOf(json, 'Setup').Properties.Timeout).toBe(29);
    expect(environmentOf(json, 'Setup')).toMatchObject({
      SETUP_SECRET_ARN: secret('SetupSecret'),
      GITHUB_AUTH_SECRET_ARN: secret('GitHubAuth'),
      WEBHOOK_SECRET_ARN: secret('WebhookSecret'),
      RUNNER_SCOPE: 'repo',
      STACK_NAME: 'GitHubRunners',
    });
    expect(JSON.stringify(environmentOf(json, 'Setup').WEBHOOK_URL)).toContain('/webhook');
  });

  it('outputs the page, its secret, and the command that prints the one-time link', () => {
    expect(JSON.stringify(json.Outputs.SetupUrl?.Value)).toContain('/setup');
    expect(json.Outputs.SetupSecretArn?.Value).toEqual(secret('SetupSecret'));
    expect(JSON.stringify(json.Outputs.SetupLinkCommand?.Value)).toContain(
      '?key=$(aws secretsmanager get-secret-value',
    );
    expect(json.Outputs.SetupSecretConsoleUrl?.Value).toBe(
      'https://us-east-1.console.aws.amazon.com/secretsmanager/secret?name=githubrunners%2Fsetup&region=us-east-1',
    );
  });

  it('is left out with setupPage=false', async () => {
    const { json: without } = await synthesize({ setupPage: 'false' });
    expect(Object.keys(without.Outputs).filter((key) => key.startsWith('Setup'))).toEqual([]);
    expect(Object.keys(without.Resources).some((id) => id.startsWith('SetupRestApi'))).toBe(false);
  });
});
