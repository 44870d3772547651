/**
 * A real S3-protocol server (s3rver, path-style) on loopback, started by the tests themselves, with
 * the runner config bucket made. The real S3 client reaches it through `AWS_ENDPOINT_URL_S3`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { FAKE_AWS_CREDENTIALS } from './fake-aws-credentials';

// s3rver checks every signature against the key pairs of its one account: give it the tests' own.
const { DUMMY_ACCOUNT } = createRequire(import.meta.url)('s3rver/lib/models/account.js') as {
  DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void };
};
DUMMY_ACCOUNT.createKeyPair(
  FAKE_AWS_CREDENTIALS.AWS_ACCESS_KEY_ID,
  FAKE_AWS_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
);

export const RUNNER_CONFIG_BUCKET = 'github-runners-config-123456789012';

export interface S3Server {
  readonly url: string;
  /** The objects in the bucket, by key, as S3 returns them. */
  objects(): Promise<Map<string, string>>;
  close(): Promise<void>;
}

export async function startS3Server(): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), 's3rver-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: RUNNER_CONFIG_BUCKET, configs: [] }],
  });
  const { port } = (await server.run()) as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async objects() {
      const { S3Client, ListObjectsV2Command, GetObjectCommand } = await import('@aws-sdk/client-s3');
      const client = new S3Client({ endpoint: url, forcePathStyle: true });
      const listed = await client.send(new ListObjectsV2Command({ Bucket: RUNNER_CONFIG_BUCKET }));
      const objects = new Map<string, string>();
      for (const { Key } of listed.Contents ?? []) {
        if (!Key) continue;
        const object = await client.send(new GetObjectCommand({ Bucket: RUNNER_CONFIG_BUCKET, Key }));
        objects.set(Key, (await object.Body?.transformToString()) ?? '');
      }
      client.destroy();
      return objects;
    },
    async close() {
      // Clients keep their connections alive; the server would wait for them.
      (
        server as unknown as { httpServer?: { closeAllConnections(): void } }
      ).httpServer?.closeAllConnections();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
