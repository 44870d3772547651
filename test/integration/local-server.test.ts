/**
 * End to end as a new user runs it: the bundled `npm start` server in dry run, and
 * `npm run replay` posting committed real-derived payloads to it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
let url = '';
let server: ChildProcess;
let output = '';

beforeAll(async () => {
  await run(process.execPath, ['esbuild.config.mjs', '--only', 'serve,replay,status']);
  // PORT=0: the server takes a free port and prints its URL.
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', POWERTOOLS_LOG_LEVEL: 'INFO' };
  for (const name of ['WEBHOOK_SECRET', 'WEBHOOK_SECRET_ARN', 'ECS_CLUSTER', 'DRY_RUN']) delete env[name];
  server = spawn(process.execPath, ['dist/serve/index.mjs'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  server.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  while (!output.includes('webhook listening')) {
    if (server.exitCode !== null) throw new Error(`server exited: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  url = /POST (http:\/\/\S+\/webhook)/.exec(output)?.[1] ?? '';
});
afterAll(async () => {
  server.kill('SIGTERM');
  if (server.exitCode === null) await once(server, 'exit');
});

const replay = (...args: string[]) =>
  run(process.execPath, ['dist/replay/index.mjs', ...args, '--url', url]).then(
    (result) => ({ code: 0, ...result }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe('npm start + npm run replay', () => {
  it('tells the user the secret and how to replay', () => {
    expect(output).toContain('dry run');
    expect(output).toContain('local-development-secret');
    expect(output).toContain('npm run replay --');
  });

  it('prints the registration and the RunTask request it would send for a queued job of ours', async () => {
    const result = await replay('test/fixtures/payloads/workflow-job-queued-ours.json');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^200 .*runner task started/);
    // The default path: a JIT registration in the job's own repository, never sent to GitHub.
    expect(output).toContain(
      '[dry run] GitHub generate-jitconfig in repository octo-org/elastic-machines-testing',
    );
    expect(output).toContain('labels [octo-org-sandpit-4747967848-1]');
    expect(output).toContain('RUNNER_JIT_CONFIG=**** (');
    expect(output).toContain('[dry run] ECS RunTask request:');
    expect(output).toContain('"environmentFiles"');
    expect(output).not.toContain('"RUNNER_CONFIG_ARGS"');
    expect(output).not.toContain(Buffer.from('dry-run-jit-config-1').toString('base64'));
  });

  it('shows the job in the local ledger to npm run status -- --url', async () => {
    expect((await replay('test/fixtures/payloads/workflow-job-queued-ours.json')).code).toBe(0);
    const result = await run(process.execPath, [
      'dist/status/index.mjs',
      '--url',
      url.replace('/webhook', ''),
    ]);
    expect(result.stdout).toMatch(/12877621891\s+octo-org\/elastic-machines-testing\s+task-started\s+1 /);
    expect(result.stdout).toContain('0 stuck');
  });

  it('answers 202 for a GitHub-hosted job and exits 0', async () => {
    const result = await replay('test/fixtures/payloads/workflow-job-queued-github-hosted.json');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^202 /);
  });

  it('replays a folder with a summary', async () => {
    const result = await replay('test/fixtures/payloads');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('4 deliveries');
  });

  it('exits non-zero when a delivery is refused', async () => {
    const result = await replay('test/fixtures/payloads/ping.json', '--secret', 'wrong');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^401 /);
  });
});
