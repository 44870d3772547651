import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RunnerStack } from './runner-stack';
import { type InfraSettings, readSettings } from './settings';

export interface RunnerAppOptions {
  /** Context as `-c key=value` or cdk.json would give it; none: what the CDK CLI passes in. */
  readonly context?: Record<string, unknown>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly outdir?: string;
  /** Where the esbuild output is (default: the project's `dist/`). */
  readonly distDir?: string;
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
  const settings = readSettings((key) => app.node.tryGetContext(key), options.env);
  const stack = new RunnerStack(app, settings.stackName, {
    settings,
    description: 'GitHub Actions ephemeral runners on ECS: one runner task per queued workflow job',
    env: { region: settings.region, ...(settings.account !== undefined && { account: settings.account }) },
    ...(options.distDir !== undefined && { distDir: options.distDir }),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack, settings };
}
