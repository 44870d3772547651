/**
 * What the processes under measurement get: the fake AWS credentials of the tests, the webhook's
 * settings as deployed (logs at INFO, metrics on), and the built bundle to import.
 */
import { TEST_SECRET } from '../test/fixtures/requests';
import { FAKE_AWS_CREDENTIALS } from '../test/support/fake-aws-credentials';

/** The built webhook function, next to this bench's own bundle in dist/. */
export const WEBHOOK_MODULE = new URL('../webhook/index.mjs', import.meta.url).href;

export const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-webhook-AbCdEf';

/** The Secrets Manager stand-in's content: the webhook secret the fixtures sign with. */
export const STORED_SECRETS = { [SECRET_ARN]: TEST_SECRET };

/** The functions' GitHub token, and the configs bucket: a launch needs both (token registration). */
export const BENCH_GITHUB_TOKEN = 'ghp_bench_token_0123456789';
export const BENCH_CONFIG_BUCKET = 'github-runners-config-123456789012';

export interface Endpoints {
  readonly ecs?: string;
  /** GitHub's API, which mints the runners' registration tokens. */
  readonly github?: string;
  /** S3, which keeps each runner's environment file. */
  readonly s3?: string;
  readonly secretsManager?: string;
  /** The Parameters and Secrets extension, as every function of the stack has it. */
  readonly secretsExtension?: { readonly port: number; readonly token: string };
}

/** The environment of a webhook process: the secret from Secrets Manager unless `plainSecret`. */
export function webhookEnv(endpoints: Endpoints, plainSecret = false): NodeJS.ProcessEnv {
  // Only what a Lambda has: nothing of the caller's AWS profile, endpoints or webhook settings.
  return {
    ...(process.env.PATH && { PATH: process.env.PATH }),
    ...(process.env.BENCH_NODE_OPTIONS && { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS }),
    ...FAKE_AWS_CREDENTIALS,
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_METRICS_DISABLED: 'false',
    ECS_CLUSTER: 'runners',
    RUNNER_REGISTRATION: 'token',
    GITHUB_TOKEN: BENCH_GITHUB_TOKEN,
    RUNNER_CONFIG_BUCKET: BENCH_CONFIG_BUCKET,
    // Never api.github.com with the bench's token: without a stand-in, a closed loopback port.
    GITHUB_API_URL: endpoints.github ?? 'http://127.0.0.1:9',
    ...(endpoints.s3 && { AWS_ENDPOINT_URL_S3: endpoints.s3 }),
    ...(plainSecret ? { WEBHOOK_SECRET: TEST_SECRET } : { WEBHOOK_SECRET_ARN: SECRET_ARN }),
    ...(endpoints.ecs && { AWS_ENDPOINT_URL_ECS: endpoints.ecs }),
    ...(endpoints.secretsManager && { AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager }),
    ...(endpoints.secretsExtension && {
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(endpoints.secretsExtension.port),
      AWS_SESSION_TOKEN: endpoints.secretsExtension.token,
    }),
    BENCH_MODULE: WEBHOOK_MODULE,
  };
}
