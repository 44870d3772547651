import { Stack, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { addRunnerSystem, type RunnerSystem } from './runner-system';
import {
  type InfraSettings,
  readSettings,
  type SettingKey,
  type Settings,
  SettingsError,
  unknownSettings,
} from './settings';

/** Settings the enclosing stack decides: the construct takes them from it. */
const STACK_KEYS = ['stackName', 'region', 'account'] as const satisfies readonly SettingKey[];

/** The standalone app's: it reads that file, a user's app passes the settings themselves. */
const APP_KEYS = ['settingsFile'] as const satisfies readonly SettingKey[];

/**
 * The settings of runners.config.json (docs/infrastructure.md lists them, with their defaults), the
 * values as that file takes them: JSON (`"maxCapacity": 10`, `"profiles": [...]`) or text as `-c`
 * gives it. Not `stackName`, `region` and `account`, which are the enclosing stack's, nor
 * `settingsFile`, the standalone app's.
 */
export type EcsGitHubRunnersProps = Omit<Settings, (typeof STACK_KEYS)[number] | (typeof APP_KEYS)[number]>;

/**
 * The whole runner system (docs/construct.md) in a stack of your own: the same parts, settings and
 * checks as the standalone app's stack, with the functions' bundles shipped in the package.
 *
 * ```ts
 * const stack = new Stack(app, 'Runners', { env: { region: 'eu-west-1' } });
 * const runners = new EcsGitHubRunners(stack, 'Runners', { allowedOrgs: 'octo-org', maxCapacity: 10 });
 * ```
 *
 * Its physical names derive from the stack's name (or `namePrefix`), so two stacks of one account
 * each hold one; a stack holds one at most. It adds no Aspect to the app: cdk-nag's AwsSolutions
 * checks run when the app adds them (`Validations.of(app).addPlugins(new AwsSolutionsChecks(app))`),
 * and the parts' acknowledgements come with the construct. Its properties are {@link RunnerSystem}'s.
 */
export class EcsGitHubRunners extends Construct implements RunnerSystem {
  /** The settings as parsed, defaults filled in. */
  readonly settings: InfraSettings;
  readonly webhookUrl: string;
  readonly webhookSecret: secretsmanager.Secret;
  readonly githubCredentials: secretsmanager.Secret;
  readonly setupUrl: string | undefined;
  readonly setupSecret: secretsmanager.Secret | undefined;
  readonly setupLinkCommand: string | undefined;
  readonly clusterName: string;
  readonly clusterArn: string;
  readonly capacityProviderName: string;
  readonly runnerRepository: ecr.Repository;
  readonly jobsTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: EcsGitHubRunnersProps = {}) {
    super(scope, id);
    this.settings = constructSettings(Stack.of(this), props);
    const system = addRunnerSystem(this, { settings: this.settings });
    this.webhookUrl = system.webhookUrl;
    this.webhookSecret = system.webhookSecret;
    this.githubCredentials = system.githubCredentials;
    this.setupUrl = system.setupUrl;
    this.setupSecret = system.setupSecret;
    this.setupLinkCommand = system.setupLinkCommand;
    this.clusterName = system.clusterName;
    this.clusterArn = system.clusterArn;
    this.capacityProviderName = system.capacityProviderName;
    this.runnerRepository = system.runnerRepository;
    this.jobsTable = system.jobsTable;
  }
}

/**
 * The construct's settings, parsed by the standalone app's parser: the props, with the stack's
 * name, region and account. Every problem is reported at once, an unknown key with the nearest
 * setting's name, as the app does for a settings file.
 */
function constructSettings(stack: Stack, props: EcsGitHubRunnersProps): InfraSettings {
  const given: Readonly<Record<string, unknown>> = props;
  const keys = Object.keys(given).filter((key) => given[key] !== undefined);
  const stackKeys: readonly string[] = STACK_KEYS;
  const appKeys: readonly string[] = APP_KEYS;
  const problems = [
    ...keys
      .filter((key) => stackKeys.includes(key))
      .map(
        (key) =>
          `${key} is the enclosing stack's: EcsGitHubRunners takes the name, region and account of its Stack (new Stack(app, id, { stackName, env: { region, account } })); leave ${key} out`,
      ),
    ...keys
      .filter((key) => appKeys.includes(key))
      .map(
        () =>
          "settingsFile is the standalone app's: read the file in your app and pass its settings to EcsGitHubRunners",
      ),
    // A CDK context key (a feature flag) would pass the app's check: here it is no setting either.
    ...keys
      .filter((key) => key.includes(':'))
      .map(
        (key) =>
          `EcsGitHubRunners key "${key}" is a CDK context key, no setting: set it in the app's context`,
      ),
    ...unknownSettings(
      keys.filter((key) => !key.includes(':')),
      'EcsGitHubRunners key',
    ),
  ];
  // The names of IAM roles and the setup link carry the region: an environment-agnostic stack has none.
  if (Token.isUnresolved(stack.region)) {
    problems.push(
      `EcsGitHubRunners needs its stack's region: give the Stack an environment (new Stack(app, '${stack.node.id}', { env: { region: 'eu-west-1' } }))`,
    );
  }
  if (Token.isUnresolved(stack.stackName)) {
    problems.push(`EcsGitHubRunners needs a stack of a known name (${stack.node.path} has none)`);
  }
  if (problems.length > 0) throw new SettingsError(problems, OF);
  const fromStack: Readonly<Record<string, string | undefined>> = {
    stackName: stack.stackName,
    region: stack.region,
    account: Token.isUnresolved(stack.account) ? undefined : stack.account,
  };
  try {
    return readSettings((key) => (stackKeys.includes(key) ? fromStack[key] : given[key]), {});
  } catch (error) {
    throw error instanceof SettingsError ? new SettingsError(error.problems, OF) : error;
  }
}

/** Whose settings a {@link SettingsError} of the construct lists. */
const OF = 'EcsGitHubRunners settings';
