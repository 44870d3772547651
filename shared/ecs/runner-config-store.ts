import type { S3Client } from '@aws-sdk/client-s3';
import { boundedRequestHandler } from '../call-timeout';

/**
 * Where a JIT config waits for its task: an environment file the ECS agent reads with the task
 * execution role (job code never has that role), so no API request or response carries it.
 */
export interface RunnerConfigStore {
  /** Writes `RUNNER_JIT_CONFIG=<config>` under `key`. */
  put(key: string, jitConfig: string, signal?: AbortSignal): Promise<void>;
  /** The object's ARN, for the task's `environmentFiles`. */
  arn(key: string): string;
  /** Deletes the object; a missing one is not an error. */
  delete(key: string, signal?: AbortSignal): Promise<void>;
}

/** Where the JIT configs are in the bucket: the functions' S3 permissions are on this prefix alone. */
export const RUNNER_CONFIG_PREFIX = 'runner-config/';

/** The object of one launch attempt's JIT config (ECS wants the name to end in `.env`). */
export const runnerConfigKey = (jobId: number, attempt: number): string =>
  `${RUNNER_CONFIG_PREFIX}${jobId}-${attempt}.env`;

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
  return {
    async put(key, jitConfig, signal) {
      const { client, sdk } = await s3();
      await client.send(
        new sdk.PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: `RUNNER_JIT_CONFIG=${jitConfig}\n`,
          ContentType: 'text/plain',
          ServerSideEncryption: 'AES256',
        }),
        signal ? { abortSignal: signal } : {},
      );
    },
    arn: (key) => `arn:${partition}:s3:::${bucket}/${key}`,
    async delete(key, signal) {
      const { client, sdk } = await s3();
      await client.send(
        new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }),
        signal ? { abortSignal: signal } : {},
      );
    },
  };
}

/** The dry run's store: says what it would write, with the config masked. */
export function createPrintingRunnerConfigStore(print: (line: string) => void): RunnerConfigStore {
  return {
    async put(key, jitConfig) {
      print(
        `[dry run] S3 environment file ${key}: RUNNER_JIT_CONFIG=**** (${jitConfig.length} characters, masked)`,
      );
    },
    arn: (key) => `arn:aws:s3:::dry-run-runner-config/${key}`,
    async delete() {},
  };
}
