import { type CfnElement, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { addRunnerSystem, type RunnerSystem } from './runner-system';
import type { InfraSettings } from './settings';
import { PartTransparentIds } from './system-part';

export { LAUNCHER_BATCH_SIZE } from './overflow-launcher';

export interface RunnerStackProps extends StackProps {
  readonly settings: InfraSettings;
  /** Where the esbuild output is (default: the project's `dist/`). */
  readonly distDir?: string;
}

/**
 * The standalone app's stack: the runner system (see {@link addRunnerSystem}) and nothing else,
 * its parts the stack's own children as before there was a construct library. Its parts add no
 * level to logical ids (see {@link PartTransparentIds}).
 */
export class RunnerStack extends Stack {
  readonly runners: RunnerSystem;
  private ids: PartTransparentIds | undefined;

  constructor(scope: Construct, id: string, props: RunnerStackProps) {
    super(scope, id, props);
    this.runners = addRunnerSystem(this, { settings: props.settings, distDir: props.distDir });
  }

  /** Parts add no level to logical ids: see {@link PartTransparentIds}. */
  protected override allocateLogicalId(element: CfnElement): string {
    this.ids ??= new PartTransparentIds(this);
    return this.ids.allocate(element);
  }
}
