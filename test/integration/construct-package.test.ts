/**
 * The construct library as a user gets it: `npm pack` (its prepack builds the functions and the
 * library), the tarball installed in a scratch CDK app beside aws-cdk-lib, constructs and cdk-nag
 * at the project's versions, and apps of both module kinds synthesized with node.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEPLOYED_FUNCTIONS, type TemplateJson, type ValidationReport } from '../support/synth-stack';

const run = promisify(execFile);

/** The CDK libraries the user's app brings, at the versions the project is built and tested with. */
const PEERS = ['aws-cdk-lib', 'constructs', 'cdk-nag'];

/**
 * A CommonJS app (CDK's own TypeScript template compiles to one): two stacks of one account and
 * region, cdk-nag's checks added by the app, a property of the construct used in an output of its own.
 */
const COMMONJS_APP = `// @ts-check
const { App, CfnOutput, Stack, Validations } = require('aws-cdk-lib');
const { AwsSolutionsChecks } = require('cdk-nag');
const { EcsGitHubRunners } = require('ecs-github-runners');

const app = new App({ outdir: process.argv[2] });
const env = { region: 'eu-west-1', account: '123456789012' };
const mine = new Stack(app, 'Mine', { env });
const runners = new EcsGitHubRunners(mine, 'Runners', {
  allowedOrgs: 'octo-org',
  logRetentionDays: 14,
  instanceTypes: ['t3.large'],
});
new CfnOutput(mine, 'HookForMyApp', { value: runners.webhookUrl });
new EcsGitHubRunners(new Stack(app, 'Theirs', { env }), 'Runners');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
`;

/** An ES module app, with settings as text the way \`-c\` gives them. */
const ESM_APP = `// @ts-check
import { App, Stack } from 'aws-cdk-lib';
import { EcsGitHubRunners } from 'ecs-github-runners';

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'Esm', { env: { region: 'us-east-1' } });
new EcsGitHubRunners(stack, 'Runners', { registration: 'token', setupPage: 'false', maxCapacity: '3' });
app.synth();
`;

/** A misspelt key: a type error for TypeScript, and for JavaScript a synth that names the setting meant. */
const MISSPELT_APP = `// @ts-check
import { App, Stack } from 'aws-cdk-lib';
import { EcsGitHubRunners } from 'ecs-github-runners';

const stack = new Stack(new App(), 'Mine', { env: { region: 'eu-west-1' } });
// @ts-expect-error maxCapcity is no setting
new EcsGitHubRunners(stack, 'Runners', { maxCapcity: 4 });
`;

let work: string;
let app: string;
let installed: string;
const outdirs = { commonjs: '', esm: '' };
let misspelt: { code: number; stderr: string };
let typecheck: { code: number; stdout: string };

/** A command's exit code and output, without throwing on a failure. */
async function outcome(file: string, args: readonly string[], cwd: string) {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const template = (outdir: string, stack: string): TemplateJson =>
  JSON.parse(readFileSync(join(outdir, `${stack}.template.json`), 'utf8')) as TemplateJson;

const resourcesOf = (json: TemplateJson, type: string) =>
  Object.values(json.Resources).filter((resource) => resource.Type === type);

beforeAll(async () => {
  const project = resolve('.');
  work = mkdtempSync(join(tmpdir(), 'construct-package-'));
  await run('npm', ['pack', '--pack-destination', work], { cwd: project, maxBuffer: 64 * 1024 * 1024 });
  const [tarball] = readdirSync(work).filter((file) => file.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${work}`);

  app = join(work, 'app');
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
    packages: Record<string, { version: string }>;
  };
  const peers = PEERS.map((name) => `${name}@${lock.packages[`node_modules/${name}`]?.version}`);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'scratch-cdk-app', private: true })}\n`);
  await run(
    'npm',
    ['install', join(work, tarball), ...peers, '--prefer-offline', '--no-audit', '--no-fund'],
    { cwd: app, maxBuffer: 64 * 1024 * 1024 },
  );
  installed = join(app, 'node_modules', 'ecs-github-runners');
  writeFileSync(join(app, 'app.cjs'), COMMONJS_APP);
  writeFileSync(join(app, 'app.mjs'), ESM_APP);
  writeFileSync(join(app, 'misspelt.mjs'), MISSPELT_APP);

  outdirs.commonjs = join(work, 'commonjs.out');
  outdirs.esm = join(work, 'esm.out');
  const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
  const [, , wrong, checked] = await Promise.all([
    run(process.execPath, ['app.cjs', outdirs.commonjs], { cwd: app }),
    run(process.execPath, ['app.mjs', outdirs.esm], { cwd: app }),
    outcome(process.execPath, ['misspelt.mjs'], app),
    // As a TypeScript app with CDK's template settings would (module nodenext, skipLibCheck).
    outcome(
      process.execPath,
      [
        tsc,
        ...['--noEmit', '--allowJs', '--checkJs', '--strict', '--skipLibCheck', '--target', 'es2022'],
        ...['--module', 'nodenext', '--moduleResolution', 'nodenext'],
        ...['--types', 'node', '--typeRoots', join(project, 'node_modules', '@types')],
        ...['app.cjs', 'app.mjs', 'misspelt.mjs'],
      ],
      app,
    ),
  ]);
  misspelt = wrong;
  typecheck = { code: checked.code, stdout: checked.stdout };
}, 300_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the packed construct library', () => {
  it('holds the library for both module kinds, its declarations and the deployable functions, no CLI', () => {
    for (const file of ['lib/index.mjs', 'lib/index.cjs', 'lib/types/infra/index.d.ts']) {
      expect(readFileSync(join(installed, file)).length).toBeGreaterThan(0);
    }
    expect(readdirSync(join(installed, 'dist')).sort()).toEqual([...DEPLOYED_FUNCTIONS].sort());
    expect(readdirSync(join(installed, 'infra', 'runner-image')).sort()).toEqual([
      'Dockerfile',
      'entrypoint.sh',
    ]);
  });

  it('needs nothing installed beside the CDK libraries the app brings: it ships bundles', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      peerDependencies: Record<string, string>;
    };
    expect(manifest.dependencies).toBeUndefined();
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual([...PEERS].sort());
  });

  it("deploys every function from the package's own bundles", () => {
    const json = template(outdirs.commonjs, 'Mine');
    const assets = resourcesOf(json, 'AWS::Lambda::Function').map((resource) => {
      const key = (resource.Properties.Code as { S3Key: string }).S3Key;
      return readFileSync(join(outdirs.commonjs, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8');
    });
    expect(assets).toHaveLength(DEPLOYED_FUNCTIONS.length);
    const bundles = DEPLOYED_FUNCTIONS.map((name) =>
      readFileSync(join(installed, 'dist', name, 'index.mjs'), 'utf8'),
    );
    expect(new Set(assets)).toEqual(new Set(bundles));
  });

  it("honours the app's settings", () => {
    const json = template(outdirs.commonjs, 'Mine');
    // The runner's log group and every function's; CDK's own (the image build's provider) keep theirs.
    const groups = resourcesOf(json, 'AWS::Logs::LogGroup');
    expect(groups.find((group) => group.Properties.LogGroupName === 'mine-runner')?.Properties).toMatchObject(
      {
        RetentionInDays: 14,
      },
    );
    expect(groups.filter((group) => group.Properties.RetentionInDays === 14).length).toBeGreaterThan(
      DEPLOYED_FUNCTIONS.length,
    );
    const variables = resourcesOf(json, 'AWS::Lambda::Function').map(
      (fn) => (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
    );
    expect(variables.filter((v) => v.ALLOWED_ORGS === 'octo-org').length).toBeGreaterThan(0);
    const templates = resourcesOf(json, 'AWS::EC2::LaunchTemplate').map((t) =>
      JSON.stringify(t.Properties.LaunchTemplateData),
    );
    expect(templates.some((data) => data.includes('"InstanceType":"t3.large"'))).toBe(true);
  });

  it('keeps the output names the doctor, npm run status and the setup page read', () => {
    expect(Object.keys(template(outdirs.commonjs, 'Mine').Outputs)).toEqual(
      expect.arrayContaining([
        'WebhookUrl',
        'WebhookSecretArn',
        'GitHubAuthSecretArn',
        'SetupUrl',
        'SetupLinkCommand',
        'ClusterName',
        'JobsTableName',
        'HookForMyApp',
      ]),
    );
  });

  it('names its resources after the enclosing stack: two stacks of one account share no name', () => {
    const NAMED: ReadonlyArray<readonly [type: string, property: string]> = [
      ['AWS::IAM::Role', 'RoleName'],
      ['AWS::CloudWatch::Dashboard', 'DashboardName'],
      ['AWS::SecretsManager::Secret', 'Name'],
      ['AWS::ECR::Repository', 'RepositoryName'],
      ['AWS::Logs::LogGroup', 'LogGroupName'],
      ['AWS::ECS::TaskDefinition', 'Family'],
      ['AWS::Lambda::Function', 'FunctionName'],
      ['AWS::SSM::Parameter', 'Name'],
      ['AWS::WAFv2::WebACL', 'Name'],
      ['AWS::WAFv2::IPSet', 'Name'],
    ];
    const names = (stack: string) =>
      Object.values(template(outdirs.commonjs, stack).Resources).flatMap((resource) => {
        const named = NAMED.find(([type]) => type === resource.Type);
        const name = named && resource.Properties?.[named[1]];
        return typeof name === 'string' ? [`${resource.Type}|${name}`] : [];
      });
    const mine = names('Mine');
    expect(mine).toContain('AWS::IAM::Role|mine-runner-task-eu-west-1');
    expect(mine.length).toBeGreaterThan(5);
    expect(mine.filter((name) => names('Theirs').includes(name))).toEqual([]);
  });

  it("passes the app's cdk-nag AwsSolutions checks with the parts' acknowledgements", () => {
    const report = JSON.parse(
      readFileSync(join(outdirs.commonjs, 'validation-report.json'), 'utf8'),
    ) as ValidationReport;
    const [nag] = report.pluginReports;
    expect(nag).toMatchObject({ pluginName: 'AwsSolutions', conclusion: 'success', violations: [] });
    expect(nag?.suppressedViolations.length).toBeGreaterThan(0);
  });

  it('synthesizes in an ES module app too', () => {
    const json = template(outdirs.esm, 'Esm');
    expect(resourcesOf(json, 'AWS::Lambda::Function').length).toBeGreaterThan(0);
    expect(Object.keys(json.Outputs)).toContain('RegistrationTokenSecretArn');
    expect(Object.keys(json.Outputs)).not.toContain('SetupUrl');
  });

  it('fails the synth of a misspelt key, naming the setting meant', () => {
    expect(misspelt.code).not.toBe(0);
    expect(misspelt.stderr).toContain(
      'EcsGitHubRunners key "maxCapcity" is no setting; did you mean maxCapacity?',
    );
  });

  it('type-checks both apps against its declarations, a misspelt key a type error', () => {
    expect(typecheck).toEqual({ code: 0, stdout: '' });
  });
});
