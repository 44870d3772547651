import { existsSync, readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RunnerStack } from './runner-stack';
import { type InfraSettings, readSettings, SettingsError, unknownSettings } from './settings';

export interface RunnerAppOptions {
  /** Context as `-c key=value` or cdk.json would give it; none: what the CDK CLI passes in. */
  readonly context?: Record<string, unknown>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly outdir?: string;
  /** Where the esbuild output is (default: the project's `dist/`). */
  readonly distDir?: string;
  /**
   * The operator's settings file, read when it exists (the `settingsFile` context key wins);
   * none: only the context. `npm run synth` and `deploy` pass `runners.config.json`.
   */
  readonly settingsFile?: string;
}

/**
 * The CDK app: the stack from the context's settings, checked by cdk-nag's AwsSolutions pack.
 * An unacknowledged finding fails the synth; every acknowledgment in the stack says why.
 */
export function createRunnerApp(options: RunnerAppOptions = {}): {
  app: App;
  stack: RunnerStack;
  settings: InfraSettings;
} {
  const app = new App({
    ...(options.context !== undefined && { context: options.context }),
    ...(options.outdir !== undefined && { outdir: options.outdir }),
  });
  const unknown = unknownSettings(Object.keys(app.node.getAllContext()), 'context key');
  if (unknown.length > 0) throw new SettingsError(unknown);
  const path = (app.node.tryGetContext('settingsFile') as string | undefined) ?? options.settingsFile;
  const fromFile =
    path === undefined ? {} : readSettingsFile(path, app.node.tryGetContext('settingsFile') !== undefined);
  const settings = readSettings((key) => app.node.tryGetContext(key) ?? fromFile[key], options.env);
  const stack = new RunnerStack(app, settings.stackName, {
    settings,
    description: 'GitHub Actions ephemeral runners on ECS: one runner task per queued workflow job',
    env: { region: settings.region, ...(settings.account !== undefined && { account: settings.account }) },
    ...(options.distDir !== undefined && { distDir: options.distDir }),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack, settings };
}

/**
 * The operator's settings file: a JSON object of context keys, kept outside the repository's
 * cdk.json so that every deploy has the same settings without repeating `-c` (a deploy without
 * them would quietly drop them). A missing default file is no settings; a missing named one is an error.
 */
export function readSettingsFile(path: string, required: boolean): Record<string, unknown> {
  if (!existsSync(path)) {
    if (required) throw new SettingsError([`settingsFile ${path} does not exist`]);
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new SettingsError([`${path} is not JSON: ${(error as Error).message}`]);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SettingsError([`${path} must hold one JSON object of settings`]);
  }
  const unknown = unknownSettings(Object.keys(value), `${path}: key`);
  if (unknown.length > 0) throw new SettingsError(unknown);
  return value as Record<string, unknown>;
}
