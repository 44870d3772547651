/** Physical names of the stack's own: two stacks fit one account, the seed's names stay a setting. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defaultNamePrefix, seedNames, stackNames } from '../../infra/resource-names';
import { RunnerStack } from '../../infra/runner-stack';
import { readSettings } from '../../infra/settings';
import { SEED } from '../../shared/defaults';
import { standInDist, type TemplateJson } from '../support/synth-stack';

const fromContext = (context: Record<string, unknown>) => readSettings((key) => context[key], {});

/**
 * The physical names CloudFormation would refuse twice: the property that names each resource, and
 * whether the name is account-wide (IAM, dashboards) or regional.
 */
const NAMED: ReadonlyArray<readonly [type: string, property: string, scope: 'account' | 'region']> = [
  ['AWS::IAM::Role', 'RoleName', 'account'],
  ['AWS::CloudWatch::Dashboard', 'DashboardName', 'account'],
  ['AWS::SecretsManager::Secret', 'Name', 'region'],
  ['AWS::ECR::Repository', 'RepositoryName', 'region'],
  ['AWS::Logs::LogGroup', 'LogGroupName', 'region'],
  // Not refused, but two stacks' revisions would interleave in one family.
  ['AWS::ECS::TaskDefinition', 'Family', 'region'],
  ['AWS::DynamoDB::Table', 'TableName', 'region'],
  ['AWS::SQS::Queue', 'QueueName', 'region'],
  ['AWS::Lambda::Function', 'FunctionName', 'region'],
  ['AWS::S3::Bucket', 'BucketName', 'account'],
  ['AWS::SNS::Topic', 'TopicName', 'region'],
  ['AWS::WAFv2::WebACL', 'Name', 'region'],
  ['AWS::WAFv2::IPSet', 'Name', 'region'],
];

/** Every fixed physical name of a template, as `scope|type|name`. */
function physicalNames(json: TemplateJson, region: string): string[] {
  return Object.values(json.Resources).flatMap((resource) => {
    const named = NAMED.find(([type]) => type === resource.Type);
    const name = named && resource.Properties?.[named[1]];
    if (named === undefined || name === undefined) return [];
    if (typeof name !== 'string') throw new Error(`${resource.Type} ${named[1]} is not a plain string`);
    return [`${named[2] === 'account' ? '*' : region}|${resource.Type}|${name}`];
  });
}

describe('two stacks in one account', () => {
  it('share no physical name: two stacks in one region, and the same stack name in another', async () => {
    const app = new App({ outdir: await mkdtemp(join(tmpdir(), 'cdk.out-')) });
    const distDir = await standInDist();
    const stacks = [
      { id: 'Production', context: { stackName: 'GitHubRunners', region: 'eu-west-1' } },
      { id: 'Staging', context: { stackName: 'GitHubRunnersStaging', region: 'eu-west-1' } },
      { id: 'Us', context: { stackName: 'GitHubRunners', region: 'us-east-1' } },
      { id: 'Prefixed', context: { stackName: 'Runners', region: 'eu-west-1', namePrefix: 'ci-runners' } },
    ].map(({ id, context }) => {
      const settings = fromContext(context);
      const stack = new RunnerStack(app, id, {
        settings,
        stackName: settings.stackName,
        env: { region: settings.region },
        distDir,
      });
      return { stack, region: settings.region };
    });
    app.synth();
    const names = stacks.map(({ stack, region }) =>
      physicalNames(Template.fromStack(stack).toJSON() as TemplateJson, region),
    );
    for (const list of names) expect(list.length).toBeGreaterThan(5);
    const all = names.flat();
    const repeated = all.filter((name, index) => all.indexOf(name) !== index);
    expect(repeated).toEqual([]);
  });

  it('name the resources after the stack, or the namePrefix, the IAM roles also after the region', () => {
    expect(fromContext({ stackName: 'GitHubRunnersStaging', region: 'eu-west-1' }).names).toMatchObject({
      taskFamily: 'githubrunnersstaging-runner',
      imageRepositoryName: 'githubrunnersstaging-runner',
      githubAuthSecretName: 'githubrunnersstaging/github-auth',
      webhookSecretName: 'githubrunnersstaging/webhook-secret',
      taskRoleName: 'githubrunnersstaging-runner-task-eu-west-1',
      taskExecutionRoleName: 'githubrunnersstaging-runner-exec-eu-west-1',
      logGroupName: 'githubrunnersstaging-runner',
      dashboardName: 'githubrunnersstaging-runners-eu-west-1',
    });
    expect(fromContext({ namePrefix: 'ci' }).names.githubAuthSecretName).toBe('ci/github-auth');
  });

  it('keep role names within IAM 64 characters for the longest prefix and region', () => {
    const prefix = defaultNamePrefix(`A${'b'.repeat(127)}`);
    expect(prefix).toMatch(/^ab+-[0-9a-f]{8}$/);
    expect(prefix.length).toBeLessThanOrEqual(32);
    const { taskRoleName, taskExecutionRoleName } = stackNames(prefix, 'ap-southeast-4');
    expect(Math.max(taskRoleName.length, taskExecutionRoleName.length)).toBeLessThanOrEqual(64);
  });
});

describe('the seed names', () => {
  it("stay a setting for a deployment made with them (seedNames=true), each name's own key still winning", () => {
    const settings = fromContext({ seedNames: 'true', logGroupName: 'my-runner-logs' });
    expect(settings.names).toEqual({ ...seedNames('GitHubRunners'), logGroupName: 'my-runner-logs' });
    expect(settings.names.taskFamily).toBe(SEED.taskFamily);
    expect(settings.names.githubAuthSecretName).toBe('github-actions-runner-github-auth');
  });

  it('refuse a prefix that is no name, and a prefix with seedNames', () => {
    expect(() => fromContext({ namePrefix: 'Runners_1' })).toThrow(
      'namePrefix must be lower-case letters, digits and inner hyphens, up to 32 characters (got "Runners_1")',
    );
    expect(() => fromContext({ namePrefix: 'ci', seedNames: 'true' })).toThrow('not both');
  });
});
