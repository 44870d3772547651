// `npm run infra:render -- --account A --region R [--out DIR] [--partition P] [-c key=value]...`
// Writes the seed's documents, filled in, for teams that register the resources by hand.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { readSettingsFile } from './runner-app';
import { SEED_FILES, seedDocuments } from './seed-documents';
import { type InfraSettings, readSettings, SettingsError, unknownSettings } from './settings';

const USAGE =
  'usage: npm run infra:render -- --account 123456789012 --region us-east-1 [--out seed-documents] [--partition aws] [-c key=value]...';

const HELP = `${USAGE}

Writes the five documents a hand-made setup registers (the two IAM roles' trust and inline policies, and the
runner task definition), filled in from the same settings as the CDK stack, and prints the aws commands that
register them. Unlike the seed, the task definition carries no secret in either registration mode: the
functions read the registration-token secret (GITHUB_AUTH_SECRET_ARN) and hand each task a short-lived
credential in an S3 environment file; the execution role reads no secret.

  --account      the 12-digit AWS account id (required)
  --region       the AWS region (required)
  --out          the folder to write to (default: seed-documents, ignored by git and the linter)
  --partition    the AWS partition (default: aws)
  -c key=value   a setting, as for cdk deploy (repeatable); cdk.json's context is read first
  -h, --help     this text
`;

/** Renders the documents into `out` and returns the paths written, in the seed's order. */
export async function renderSeed(options: {
  readonly settings: InfraSettings;
  readonly account: string;
  readonly region: string;
  readonly partition?: string;
  readonly out: string;
}): Promise<string[]> {
  const documents = seedDocuments(options.settings, {
    partition: options.partition ?? 'aws',
    region: options.region,
    account: options.account,
  });
  await mkdir(options.out, { recursive: true });
  const written: string[] = [];
  for (const name of Object.values(SEED_FILES)) {
    const path = join(options.out, name);
    await writeFile(path, `${JSON.stringify(documents[name], null, 2)}\n`);
    written.push(path);
  }
  return written;
}

/** The context the stack would see: the settings file's, cdk.json's, then `-c key=value` on the command line. */
async function readContext(pairs: readonly string[]): Promise<Record<string, unknown>> {
  const cdkJson = JSON.parse(await readFile('cdk.json', 'utf8')) as { context?: Record<string, unknown> };
  const context: Record<string, unknown> = {
    ...readSettingsFile(
      process.env.RUNNERS_CONFIG ?? 'runners.config.json',
      process.env.RUNNERS_CONFIG !== undefined,
    ),
    ...cdkJson.context,
  };
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`-c takes key=value (got "${pair}")`);
    context[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return context;
}

/** `parseArgs`, whose errors (an unknown option, a missing value) end with the usage line. */
function parseArgsOrUsage<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgsOrUsage({
    options: {
      account: { type: 'string' },
      region: { type: 'string' },
      partition: { type: 'string', default: 'aws' },
      out: { type: 'string', default: 'seed-documents' },
      context: { type: 'string', short: 'c', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (values.account === undefined || !/^\d{12}$/.test(values.account) || values.region === undefined) {
    throw new Error(`--account (12 digits) and --region are required\n${USAGE}`);
  }
  const context = await readContext(values.context);
  const unknown = unknownSettings(Object.keys(context), 'context key');
  if (unknown.length > 0) throw new SettingsError(unknown);
  const settings = readSettings((key) => context[key], {});
  const written = await renderSeed({
    settings,
    account: values.account,
    region: values.region,
    partition: values.partition,
    out: values.out,
  });
  const [taskTrust, taskPolicy, executionTrust, executionPolicy, taskDefinition] = written;
  const { names } = settings;
  process.stdout.write(
    [
      `wrote ${written.length} documents to ${values.out}/. Register them as the seed does:`,
      `# the functions' GitHub credentials (GITHUB_AUTH_SECRET_ARN); no task reads them`,
      `aws --region ${values.region} secretsmanager create-secret --name ${names.registrationTokenSecretName} --secret-string "$RUNNER_ADMIN_TOKEN"`,
      `aws iam create-role --role-name ${names.taskRoleName} --assume-role-policy-document file://${taskTrust}`,
      `aws iam put-role-policy --role-name ${names.taskRoleName} --policy-name ${names.taskRolePolicyName} --policy-document file://${taskPolicy}`,
      `aws iam create-role --role-name ${names.taskExecutionRoleName} --assume-role-policy-document file://${executionTrust}`,
      `aws iam put-role-policy --role-name ${names.taskExecutionRoleName} --policy-name ${names.taskExecutionRolePolicyName} --policy-document file://${executionPolicy}`,
      `aws --region ${values.region} ecs register-task-definition --cli-input-json file://${taskDefinition}`,
      '',
    ].join('\n'),
  );
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
