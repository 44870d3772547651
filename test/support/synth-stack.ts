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

/** A folder like `dist/` with a one-line webhook bundle: the stack needs the folder, not the code. */
export async function standInDist(): Promise<string> {
  const dist = await mkdtemp(join(tmpdir(), 'dist-'));
  await mkdir(join(dist, 'webhook'));
  await writeFile(
    join(dist, 'webhook', 'index.mjs'),
    'export const handler = async () => ({ statusCode: 200 });\n',
  );
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
