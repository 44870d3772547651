/** The webhook as it ships: dist/webhook/index.mjs, built by esbuild, in a fresh node process. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BENCH_GITHUB_TOKEN, STORED_SECRETS, webhookEnv } from '../../bench/bench-env';
import { FIRST_ANSWER, runFresh } from '../../bench/fresh-process';
import { githubHostedQueued, jobOfOurs } from '../fixtures/payloads';
import { httpApiEvent, signedRequest } from '../fixtures/requests';
import { type EcsStandIn, startEcsStandIn } from '../support/ecs-stand-in';
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in';
import { type S3Server, startS3Server } from '../support/s3-server';
import { startSecretsExtensionStandIn } from '../support/secrets-extension-stand-in';
import { startSecretsManagerStandIn } from '../support/secrets-manager-stand-in';

let ecs: EcsStandIn;
let github: GitHubStandIn;
let s3: S3Server;
let folder: string;

beforeAll(async () => {
  execFileSync(process.execPath, ['esbuild.config.mjs', '--only', 'webhook'], { stdio: 'inherit' });
  [ecs, github, s3] = await Promise.all([
    startEcsStandIn(),
    startGitHubStandIn({ token: BENCH_GITHUB_TOKEN }),
    startS3Server(),
  ]);
  folder = mkdtempSync(join(tmpdir(), 'webhook-bundle-'));
});
afterAll(async () => {
  await Promise.all([ecs.close(), github.close(), s3.close()]);
  rmSync(folder, { recursive: true, force: true });
});

describe('the built webhook bundle', () => {
  it('starts a runner task through the real ECS SDK loaded on first use', async () => {
    const payload = jobOfOurs({ jobId: 5_000_000_001 });
    const eventPath = join(folder, 'event.json');
    writeFileSync(eventPath, JSON.stringify(httpApiEvent(await signedRequest(payload))));
    const run = await runFresh(FIRST_ANSWER, {
      ...webhookEnv({ ecs: ecs.url, github: github.url, s3: s3.url }, true),
      BENCH_MODULE: pathToFileURL(resolve('dist/webhook/index.mjs')).href,
      BENCH_EVENT: eventPath,
    });
    expect(run.status).toBe(200);
    expect(ecs.tasks.map((task) => task.startedBy)).toEqual([`gha-job/${payload.workflow_job.id}/1`]);
  });

  it('reads the webhook secret through the Parameters and Secrets extension, as deployed, not Secrets Manager', async () => {
    const [extension, secretsManager] = await Promise.all([
      startSecretsExtensionStandIn(STORED_SECRETS),
      startSecretsManagerStandIn(STORED_SECRETS),
    ]);
    try {
      const eventPath = join(folder, 'not-ours.json');
      writeFileSync(eventPath, JSON.stringify(httpApiEvent(await signedRequest(githubHostedQueued()))));
      const run = await runFresh(FIRST_ANSWER, {
        ...webhookEnv({ ecs: ecs.url, secretsManager: secretsManager.url, secretsExtension: extension }),
        BENCH_MODULE: pathToFileURL(resolve('dist/webhook/index.mjs')).href,
        BENCH_EVENT: eventPath,
      });
      expect(run.status).toBe(202);
      expect(extension.calls).toEqual(Object.keys(STORED_SECRETS));
      expect(secretsManager.calls).toEqual([]);
    } finally {
      await Promise.all([extension.close(), secretsManager.close()]);
    }
  });

  it("imports Node's built-ins through process.getBuiltinModule, never as a static ES import", () => {
    const chunks = readdirSync('dist/webhook').filter((file) => file.endsWith('.mjs'));
    const staticImports = chunks.flatMap((file) =>
      [
        ...readFileSync(join('dist/webhook', file), 'utf8').matchAll(
          /(?:from|import)\s*"((?:node:)?[a-z_/]+)"/g,
        ),
      ]
        .map((match) => match[1] as string)
        .filter((id) => id.startsWith('node:') || builtinModules.includes(id))
        .map((id) => `${file}: ${id}`),
    );
    expect(staticImports).toEqual([]);
    expect(
      chunks.some((file) =>
        readFileSync(join('dist/webhook', file), 'utf8').includes('getBuiltinModule("node:http")'),
      ),
    ).toBe(true);
  });
});
