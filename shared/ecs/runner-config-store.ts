import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { boundedRequestHandler } from '../call-timeout';

/** The variables that carry a runner's credential to its container, from the environment file. */
export const RUNNER_CREDENTIAL_ENV = {
  jit: 'RUNNER_JIT_CONFIG',
  token: 'RUNNER_REGISTRATION_TOKEN',
} as const;

/**
 * A runner's one credential: a JIT config (the runner is registered already) or a registration
 * token (the runner registers itself with `config.sh --token`). Never a long-lived GitHub token.
 */
export type RunnerCredential =
  | { readonly kind: 'jit'; readonly value: string }
  | { readonly kind: 'token'; readonly value: string };

/** The environment file of a credential: one `NAME=value` line. */
export const environmentFileOf = (credential: RunnerCredential): string =>
  `${RUNNER_CREDENTIAL_ENV[credential.kind]}=${credential.value}\n`;

/** An environment file of variables whose values are one line each. */
export const environmentFileOfVariables = (variables: Readonly<Record<string, string>>): string =>
  Object.entries(variables)
    .map(([name, value]) => {
      if (/[\r\n]/.test(value)) throw new Error(`${name} must be one line`);
      return `${name}=${value}\n`;
    })
    .join('');

/**
 * Where a runner's credential waits for its task: an environment file the ECS agent reads with the
 * task execution role (job code never has that role), so no API request or response carries it.
 */
export interface RunnerConfigStore {
  /** Writes the credential's environment file ({@link environmentFileOf}) under `key`. */
  put(key: string, credential: RunnerCredential, signal?: AbortSignal): Promise<void>;
  /** Writes an environment file of these variables (one `NAME=value` line each) under `key`. */
  putEnvironment(
    key: string,
    variables: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<void>;
  /** The object's ARN, for the task's `environmentFiles`. */
  arn(key: string): string;
  /** Deletes the object; a missing one is not an error. */
  delete(key: string, signal?: AbortSignal): Promise<void>;
  /** Whether the object exists (a standby that has read its config has deleted it). */
  exists(key: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * Presigned URLs of the object, to read it and to delete it for `expiresInSeconds`: a
   * standby runner's container holds them, not a role. They work only while the signer's
   * credentials do.
   */
  presign(key: string, expiresInSeconds: number): Promise<{ readonly get: string; readonly delete: string }>;
}

/** Where the runner configs are in the bucket: the functions' S3 permissions are on this prefix alone. */
export const RUNNER_CONFIG_PREFIX = 'runner-config/';

/**
 * A fresh object name for one launch attempt's config: 128 random bits (ECS wants the name to end
 * in `.env`). Nothing about the job is in it, so only the RunTask request (and the ledger, for the
 * retries of the attempt) knows it: a task's execution role cannot find another job's config.
 */
export const runnerConfigKey = (): string => `${RUNNER_CONFIG_PREFIX}${randomBytes(16).toString('hex')}.env`;

/** The partition of a region's ARNs (`aws`, `aws-cn`, `aws-us-gov`). */
const partitionOf = (region: string | undefined) =>
  region?.startsWith('cn-') ? 'aws-cn' : region?.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

type S3Module = typeof import('@aws-sdk/client-s3');

/**
 * The S3 adapter. The client loads on first use; with `AWS_ENDPOINT_URL_S3` set (an S3-compatible
 * server or a local stand-in) it addresses buckets path-style, as those expect.
 */
export function createS3RunnerConfigStore(bucket: string): RunnerConfigStore {
  // The SDK reads its endpoint settings from the process environment: so do these checks.
  const env = process.env;
  let loaded: Promise<{ client: S3Client; sdk: S3Module }> | undefined;
  const s3 = () => {
    loaded ??= import('@aws-sdk/client-s3').then((sdk) => ({
      client: new sdk.S3Client({
        forcePathStyle: env.AWS_ENDPOINT_URL_S3 !== undefined,
        maxAttempts: 2,
        requestHandler: boundedRequestHandler,
      }),
      sdk,
    }));
    return loaded;
  };
  const partition = partitionOf(env.AWS_REGION ?? env.AWS_DEFAULT_REGION);
  const putFile = async (key: string, body: string, signal: AbortSignal | undefined) => {
    const { client, sdk } = await s3();
    await client.send(
      new sdk.PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: 'text/plain',
        ServerSideEncryption: 'AES256',
      }),
      signal ? { abortSignal: signal } : {},
    );
  };
  return {
    put: (key, credential, signal) => putFile(key, environmentFileOf(credential), signal),
    putEnvironment: (key, variables, signal) => putFile(key, environmentFileOfVariables(variables), signal),
    arn: (key) => `arn:${partition}:s3:::${bucket}/${key}`,
    async delete(key, signal) {
      const { client, sdk } = await s3();
      await client.send(
        new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }),
        signal ? { abortSignal: signal } : {},
      );
    },
    async exists(key, signal) {
      const { client, sdk } = await s3();
      try {
        await client.send(
          new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }),
          signal ? { abortSignal: signal } : {},
        );
        return true;
      } catch (error) {
        // Without ListBucket S3 answers a missing object with 403, with it 404.
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404 || status === 403 || (error as Error).name === 'NotFound') return false;
        throw error;
      }
    },
    async presign(key, expiresInSeconds) {
      const [{ client, sdk }, { getSignedUrl }] = await Promise.all([
        s3(),
        import('@aws-sdk/s3-request-presigner'),
      ]);
      const expiresIn = Math.max(1, Math.floor(expiresInSeconds));
      const [get, remove] = await Promise.all([
        getSignedUrl(client, new sdk.GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn }),
        getSignedUrl(client, new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }), { expiresIn }),
      ]);
      return { get, delete: remove };
    },
  };
}

/** The dry run's store: says what it would write, with the config masked. */
export function createPrintingRunnerConfigStore(print: (line: string) => void): RunnerConfigStore {
  return {
    async putEnvironment(key, variables) {
      print(`[dry run] S3 environment file ${key}: ${Object.keys(variables).join(', ')} (values masked)`);
    },
    async put(key, credential) {
      print(
        `[dry run] S3 environment file ${key}: ${RUNNER_CREDENTIAL_ENV[credential.kind]}=**** (${credential.value.length} characters, masked)`,
      );
    },
    arn: (key) => `arn:aws:s3:::dry-run-runner-config/${key}`,
    async delete() {},
    async exists() {
      return false;
    },
    async presign(key, expiresInSeconds) {
      const url = `https://dry-run-runner-config.s3.amazonaws.com/${key}?X-Amz-Expires=${Math.floor(expiresInSeconds)}`;
      return { get: url, delete: url };
    },
  };
}
