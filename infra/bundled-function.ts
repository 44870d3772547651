import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { SECRET_MAX_AGE_SECONDS } from '../shared/secrets/webhook-secrets';
import { packageFile } from './package-files';

/** The project's esbuild output (`npm run build`; in the package, its deployable functions): one folder per function. */
const DEFAULT_DIST_DIR = packageFile('dist');

export interface BundledFunctionProps {
  /** The esbuild target (an `entries` key of esbuild.config.mjs): the code is `dist/<name>/`. */
  readonly name: string;
  readonly description: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  readonly reservedConcurrentExecutions?: number | undefined;
  /** A name of our choosing (other functions call it by name); none: CloudFormation's. */
  readonly functionName?: string;
  /** Where the esbuild output is; tests point it elsewhere. */
  readonly distDir?: string;
}

const EXTENSION_VERSION = lambda.ParamsAndSecretsVersions.V1_0_103;

/** Whether CDK knows the Parameters and Secrets extension's arm64 layer in `region` (not every region has it). */
export const secretsExtensionKnown = (region: string): boolean =>
  !Token.isUnresolved(region) &&
  RegionInfo.get(region).paramsAndSecretsLambdaLayerArn(
    EXTENSION_VERSION,
    lambda.Architecture.ARM_64.name,
  ) !== undefined;

/** Where a function's code is and how long its logs are kept: the same for every function of the stack. */
export type FunctionPlacement = Pick<BundledFunctionProps, 'distDir' | 'logRetention'>;

/**
 * One of our functions: the esbuild bundle (one bundler for the project, not NodejsFunction's),
 * Node.js 24 on arm64, the Parameters and Secrets extension, its own log group with retention,
 * and a role that may only write to it.
 * Callers add their permissions to `role`.
 */
export class BundledFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BundledFunctionProps) {
    super(scope, id);
    const codeDir = join(props.distDir ?? DEFAULT_DIST_DIR, props.name);
    if (!existsSync(join(codeDir, 'index.mjs'))) {
      throw new Error(
        `${codeDir}/index.mjs is missing: run \`npm run build\` first (the stack deploys the esbuild output)`,
      );
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: `${props.name} function: logs only; callers add the rest`,
    });
    // Written out instead of AWSLambdaBasicExecutionRole, which may write to every log group.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new lambda.Function(this, 'Function', {
      ...(props.functionName !== undefined && { functionName: props.functionName }),
      description: props.description,
      code: lambda.Code.fromAsset(codeDir),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(15),
      role: this.role,
      logGroup: this.logGroup,
      // Secrets read through AWS's Parameters and Secrets extension: no SDK client to load at a
      // cold start, and a cache shared by the sandbox's invocations (shared/secrets/secrets-extension.ts).
      // In a region whose layer CDK does not know, the functions read Secrets Manager through the SDK.
      ...(secretsExtensionKnown(Stack.of(this).region) && {
        paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(EXTENSION_VERSION, {
          secretsManagerTtl: Duration.seconds(SECRET_MAX_AGE_SECONDS),
          logLevel: lambda.ParamsAndSecretsLogLevel.WARN,
        }),
      }),
      // No NODE_OPTIONS=--enable-source-maps: Node 20+ reads and parses every loaded chunk's map
      // at load, a cold-start cost on every delivery that finds a new instance (docs/performance.md).
      // Stack traces keep the real function names (esbuild keepNames); the maps ship beside the code.
      environment: { ...props.environment },
      ...(props.reservedConcurrentExecutions !== undefined && {
        reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      }),
    });
  }
}
