import { Logger } from '@aws-lambda-powertools/logger';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { boundedRequestHandler } from '../call-timeout';
import { createGitHubDoctor } from '../doctor/github-doctor';
import { createManifestConversion } from '../github/app-manifest-conversion';
import type { SetupDependencies } from './handle-setup';
import { checkReadiness } from './readiness';
import { parseSetupConfig } from './setup-config';
import { parseSetupRecord } from './setup-record';
import { newState } from './setup-session';

/**
 * The setup function's real adapters, built once per cold start: Secrets Manager through the SDK
 * (no cache: setup's completion must be seen by the next request), GitHub through Octokit.
 * @throws ConfigError when the environment is wrong.
 */
export function createSetupDependencies(
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: Partial<SetupDependencies> = {},
): SetupDependencies {
  const config = parseSetupConfig(env);
  const logger = new Logger({ serviceName: 'github-runners-setup' });
  const client = new SecretsManagerClient({ requestHandler: boundedRequestHandler });
  const read = async (arn: string) => {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    return SecretString ?? '';
  };
  const put = async (arn: string, value: string) => {
    await client.send(new PutSecretValueCommand({ SecretId: arn, SecretString: value }));
  };
  return {
    config,
    store: {
      read: async () => parseSetupRecord(await read(config.setupSecretArn)),
      write: (record) => put(config.setupSecretArn, JSON.stringify(record)),
    },
    secrets: { put },
    conversion: createManifestConversion(config.apiUrl),
    readiness: (record) =>
      checkReadiness(
        config,
        record,
        {
          readSecret: read,
          github: (credentials, value) => createGitHubDoctor(config.apiUrl, credentials, value),
        },
        new Date(),
      ),
    now: () => new Date(),
    newState,
    log: {
      info: (message, detail = {}) => logger.info(message, detail),
      error: (message, detail = {}) => logger.error(message, detail),
    },
    ...overrides,
  };
}
