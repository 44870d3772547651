import type { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { acknowledge } from './acknowledge';
import type { AlarmDefinition } from './alarms';
import { BundledFunction, type FunctionPlacement } from './bundled-function';
import { checkEnvironment } from './check-environment';
import { SystemPart } from './system-part';

export interface ScheduledSweepProps {
  /** The function's construct id (`Reconciler`, `Redeliver`): its resources keep the ids it names. */
  readonly functionId: string;
  /** The esbuild target. */
  readonly name: string;
  readonly description: string;
  readonly environment: Readonly<Record<string, string>>;
  /** The function's own configuration check, run at synth. */
  readonly check: (env: Record<string, string>) => unknown;
  readonly rate: Duration;
  readonly timeout: Duration;
  /** The function's name, when other functions call it by name; none: CloudFormation's. */
  readonly functionName?: string;
  /** Runs at most this many at once (none: no limit of its own). */
  readonly reservedConcurrency?: number;
  /**
   * How long an invocation may wait in Lambda's queue (throttled) before Lambda drops it; none:
   * Lambda's 6 hours. Only a function that also takes events sets it: a sweep is one a period.
   */
  readonly maxEventAge?: Duration;
  /** Where the schedule's events go; default: the function itself. */
  readonly scheduleTarget?: events.IRuleTarget;
  readonly placement: FunctionPlacement;
  readonly statements: readonly iam.PolicyStatement[];
  /** cdk-nag findings of the statements, with their reason. */
  readonly acknowledged?: { readonly reason: string; readonly findings: readonly string[] };
  /** What a failed sweep leaves undone (the errors alarm's description). */
  readonly failureMeans: string;
  /** Alarms on what the sweep publishes, besides its errors. */
  readonly alarms?: readonly AlarmDefinition[];
}

/**
 * One of our functions on an EventBridge schedule. A failed sweep is not retried: the next one
 * is its retry (and the error alarm counts each failure once).
 */
export class ScheduledSweep extends SystemPart {
  readonly fn: BundledFunction;
  readonly alarms: readonly AlarmDefinition[];

  constructor(scope: Construct, id: string, props: ScheduledSweepProps) {
    super(scope, id);
    checkEnvironment(props.name, props.environment, props.check);
    this.fn = new BundledFunction(this, props.functionId, {
      ...props.placement,
      name: props.name,
      description: props.description,
      environment: props.environment,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrency,
      ...(props.functionName !== undefined && { functionName: props.functionName }),
    });
    for (const statement of props.statements) this.fn.role.addToPolicy(statement);
    this.fn.function.configureAsyncInvoke({
      retryAttempts: 0,
      ...(props.maxEventAge !== undefined && { maxEventAge: props.maxEventAge }),
    });
    new events.Rule(this, `${props.functionId}Schedule`, {
      description: `Runs the ${props.name} function every ${props.rate.toHumanString()}`,
      schedule: events.Schedule.rate(props.rate),
      targets: [props.scheduleTarget ?? new targets.LambdaFunction(this.fn.function)],
    });
    if (props.acknowledged !== undefined) {
      acknowledge(this.fn.role, props.acknowledged.reason, ...props.acknowledged.findings);
    }
    this.alarms = [
      {
        id: `${props.functionId}Errors`,
        description: props.failureMeans,
        metric: this.fn.function.metricErrors(),
      },
      ...(props.alarms ?? []),
    ];
  }
}
