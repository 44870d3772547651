/** Synthesizes the stack as `npm run synth` does, with a stand-in bundle instead of `dist/`. */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { createRunnerApp } from '../../infra/runner-app';

/** A CloudFormation template as JSON. */
export type TemplateJson = {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: unknown }>;
  Outputs: Record<string, { Value: unknown; Description?: string }>;
  Parameters?: Record<string, unknown>;
};

export interface ValidationReport {
  pluginReports: Array<{
    pluginName: string;
    conclusion: string;
    violations: unknown[];
    suppressedViolations: Array<{ ruleName: string; reason: string; acknowledgedId: string }>;
  }>;
}

/** The functions the stack deploys, each from `dist/<name>/`. */
export const DEPLOYED_FUNCTIONS = [
  'webhook',
  'launcher',
  'reconciler',
  'capacity',
  'redeliver',
  'hook-ranges',
  'image-release',
  'image-rollout',
  'setup',
] as const;

/** A folder like `dist/` with one-line bundles: the stack needs the folders, not the code. */
export async function standInDist(): Promise<string> {
  const dist = await mkdtemp(join(tmpdir(), 'dist-'));
  for (const name of DEPLOYED_FUNCTIONS) {
    await mkdir(join(dist, name));
    await writeFile(
      join(dist, name, 'index.mjs'),
      'export const handler = async () => ({ statusCode: 200 });\n',
    );
  }
  return dist;
}

export async function synthesize(context: Record<string, unknown> = {}) {
  const outdir = await mkdtemp(join(tmpdir(), 'cdk.out-'));
  const { app, stack, settings } = createRunnerApp({
    context,
    env: {},
    outdir,
    distDir: await standInDist(),
  });
  app.synth();
  const template = Template.fromStack(stack);
  const report = JSON.parse(
    await readFile(join(outdir, 'validation-report.json'), 'utf8'),
  ) as ValidationReport;
  return { stack, settings, template, json: template.toJSON() as TemplateJson, report };
}

/** The one resource of a type, with its logical id. */
export function only(json: TemplateJson, type: string) {
  const found = Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  const [[id, resource]] = found as [[string, TemplateJson['Resources'][string]]];
  return { id, ...resource };
}

/** One of our functions by its construct id in the stack (`Webhook`, `Launcher`, `Reconciler`, `Redeliver`). */
export function functionOf(json: TemplateJson, id: string) {
  const found = Object.entries(json.Resources).filter(
    ([logicalId, resource]) =>
      resource.Type === 'AWS::Lambda::Function' && logicalId.startsWith(`${id}Function`),
  );
  if (found.length !== 1) throw new Error(`expected one ${id} function, found ${found.length}`);
  const [[logicalId, resource]] = found as [[string, TemplateJson['Resources'][string]]];
  return { id: logicalId, ...resource };
}

/** Whether the stack has the function of that construct id. */
export const hasFunction = (json: TemplateJson, id: string): boolean =>
  Object.entries(json.Resources).some(
    ([logicalId, resource]) =>
      resource.Type === 'AWS::Lambda::Function' && logicalId.startsWith(`${id}Function`),
  );

const allVariables = (json: TemplateJson, id: string) =>
  (functionOf(json, id).Properties.Environment as { Variables: Record<string, unknown> }).Variables;

/** Variables CDK sets for the Parameters and Secrets extension, not read by our code but its port. */
const isExtensionVariable = (name: string) =>
  /^(PARAMETERS_SECRETS_EXTENSION_|SECRETS_MANAGER_|SSM_PARAMETER_STORE_)/.test(name);

/** A function's own environment variables (without the extension's, see {@link extensionOf}). */
export const environmentOf = (json: TemplateJson, id: string) =>
  Object.fromEntries(Object.entries(allVariables(json, id)).filter(([name]) => !isExtensionVariable(name)));

/** A function's Parameters and Secrets extension: its layers and the variables that set it up. */
export const extensionOf = (json: TemplateJson, id: string) => ({
  layers: functionOf(json, id).Properties.Layers as unknown[] | undefined,
  variables: Object.fromEntries(
    Object.entries(allVariables(json, id)).filter(([name]) => isExtensionVariable(name)),
  ),
});

/** The statements of the one policy on a function's role. */
export function statementsOf(json: TemplateJson, id: string): Array<Record<string, unknown>> {
  const roleId = (functionOf(json, id).Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
  const policies = Object.values(json.Resources).filter(
    (resource) =>
      resource.Type === 'AWS::IAM::Policy' &&
      JSON.stringify(resource.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
  );
  const [policy] = policies;
  if (policy === undefined || policies.length !== 1)
    throw new Error(`expected one policy on ${roleId}, found ${policies.length}`);
  return (policy.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement;
}

/** The logical id CDK gave a resource of that type at that construct path (`Launcher/Logs` → `LauncherLogs` + hash). */
export function idOf(json: TemplateJson, type: string, path: string): string {
  const pattern = new RegExp(`^${path.replaceAll('/', '')}[0-9A-F]{8}$`);
  const ids = Object.entries(json.Resources)
    .filter(([id, resource]) => resource.Type === type && pattern.test(id))
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one ${type} at ${path}, found ${ids.length}`);
  return ids[0] as string;
}
