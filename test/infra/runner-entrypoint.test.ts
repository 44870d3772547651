/**
 * The runner image's entry point, run by bash against stub config.sh / run.sh / dockerd and a
 * loopback stand-in for GitHub's runners API.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RUNNER_HEALTH_CHECK } from '../../infra/seed-documents';
import {
  createRunnerStubs,
  type GitHubApiStandIn,
  type RunnerStubs,
  startEntrypoint,
  startGitHubApiStandIn,
  until,
} from '../support/runner-image-stubs';

const ADMIN_TOKEN = 'ghp_admin-token-never-printed-0123456789';
let api: GitHubApiStandIn;

beforeAll(async () => {
  api = await startGitHubApiStandIn(ADMIN_TOKEN);
});
afterAll(() => api.close());

async function entrypointEnv(extra: Record<string, string>): Promise<[RunnerStubs, Record<string, string>]> {
  const stubs = await createRunnerStubs();
  return [
    stubs,
    {
      ...stubs.env,
      GITHUB_API_URL: api.url,
      GITHUB_SERVER_URL: 'https://github.example',
      ORGANIZATION: 'foo-organisation',
      RUNNER_CONFIG_ARGS:
        '--unattended --replace --labels octo-sandpit-hello --name octo-runner-1 --ephemeral',
      RUNNER_LABELS: 'octo-sandpit-hello',
      STUB_RUN: 'job',
      ...extra,
    },
  ];
}

describe('registration with RUNNER_ADMIN_TOKEN', () => {
  let stubs: RunnerStubs;
  let code: number | null;
  let output: string;
  const seen = () => api.requests.length;
  let before = 0;

  beforeAll(async () => {
    let env: Record<string, string>;
    [stubs, env] = await entrypointEnv({ RUNNER_ADMIN_TOKEN: ADMIN_TOKEN });
    before = seen();
    const run = startEntrypoint(env);
    code = await run.exited;
    output = run.output();
  });

  it('exchanges the admin token for a registration token of the organisation', () => {
    const mine = api.requests.slice(before);
    expect(mine[0]).toEqual({
      method: 'POST',
      path: '/orgs/foo-organisation/actions/runners/registration-token',
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
  });

  it('configures the runner with the registration token and the task definition flags', async () => {
    expect(await stubs.calls()).toContain(
      'config.sh --url https://github.example/foo-organisation --token REG-TOKEN-1 --unattended --replace --labels octo-sandpit-hello --name octo-runner-1 --ephemeral',
    );
  });

  it('starts dockerd before the runner and stops it after', async () => {
    const calls = await stubs.calls();
    expect(calls.indexOf('dockerd started')).toBeLessThan(
      calls.findIndex((line) => line.startsWith('run.sh')),
    );
    expect(calls.at(-1)).toBe('dockerd stopped');
  });

  it('leaves no admin token in the environment of the runner', async () => {
    expect(await stubs.runEnv()).not.toContain('RUNNER_ADMIN_TOKEN');
    expect(await stubs.runEnv()).not.toContain(ADMIN_TOKEN);
  });

  it('never prints the admin token', () => {
    expect(output).toContain('registering at https://github.example/foo-organisation');
    expect(output).not.toContain(ADMIN_TOKEN);
  });

  it('exits with the exit code of the runner after its job', () => {
    expect(code).toBe(3);
  });
});

it.each([
  [{ REPOSITORY: 'octo-org/hello' }, '/repos/octo-org/hello', 'https://github.example/octo-org/hello'],
  [{ ENTERPRISE: 'octo-ent' }, '/enterprises/octo-ent', 'https://github.example/enterprises/octo-ent'],
])('registers at the scope the webhook set over the default ORGANIZATION: %j', async (scope, path, url) => {
  const [stubs, env] = await entrypointEnv({ RUNNER_ADMIN_TOKEN: ADMIN_TOKEN, ...scope });
  const before = api.requests.length;
  expect(await startEntrypoint(env).exited).toBe(3);
  expect(api.requests[before]?.path).toBe(`${path}/actions/runners/registration-token`);
  expect((await stubs.calls()).find((line) => line.startsWith('config.sh'))).toContain(`--url ${url} `);
});

it('starts the runner from RUNNER_JIT_CONFIG without configuring it or calling the API', async () => {
  const [stubs, env] = await entrypointEnv({ RUNNER_JIT_CONFIG: 'eyJqaXQiOiJjb25maWcifQ==' });
  const before = api.requests.length;
  expect(await startEntrypoint(env).exited).toBe(3);
  const calls = await stubs.calls();
  expect(calls).toContain('run.sh --jitconfig eyJqaXQiOiJjb25maWcifQ==');
  expect(calls.some((line) => line.startsWith('config.sh'))).toBe(false);
  expect(api.requests.length).toBe(before);
  expect(await stubs.runEnv()).not.toContain('RUNNER_JIT_CONFIG');
});

it('stops, removes its registration and exits 0 when no job arrives within RUNNER_IDLE_TIMEOUT', async () => {
  const [stubs, env] = await entrypointEnv({
    RUNNER_ADMIN_TOKEN: ADMIN_TOKEN,
    STUB_RUN: 'idle',
    RUNNER_IDLE_TIMEOUT: '2',
  });
  const run = startEntrypoint(env);
  expect(await run.exited).toBe(0);
  expect(run.output()).toContain('no job within 2s: stopping');
  expect(await stubs.calls()).toEqual(
    expect.arrayContaining(['run.sh stopped', 'config.sh remove --token REMOVE-TOKEN-1', 'dockerd stopped']),
  );
});

it('on SIGTERM stops the runner, removes its registration and stops dockerd', async () => {
  const [stubs, env] = await entrypointEnv({ RUNNER_ADMIN_TOKEN: ADMIN_TOKEN, STUB_RUN: 'idle' });
  const run = startEntrypoint(env);
  await until(async () => (await stubs.calls()).some((line) => line.startsWith('run.sh')));
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
  const calls = await stubs.calls();
  expect(calls.slice(-3)).toEqual([
    'run.sh stopped',
    'config.sh remove --token REMOVE-TOKEN-1',
    'dockerd stopped',
  ]);
  expect(run.output()).not.toContain(ADMIN_TOKEN);
});

it('fails without printing the token when GitHub refuses the admin token', async () => {
  const [stubs, env] = await entrypointEnv({ RUNNER_ADMIN_TOKEN: 'ghp_wrong-token-0123456789' });
  const run = startEntrypoint(env);
  expect(await run.exited).toBe(1);
  expect(run.output()).toContain(
    'registration-token failed (is the admin token valid for orgs/foo-organisation?)',
  );
  expect(run.output()).not.toContain('ghp_wrong-token');
  expect((await stubs.calls()).some((line) => line.startsWith('run.sh'))).toBe(false);
});

it('fails with what to set when it has neither a token nor a JIT config', async () => {
  const [, env] = await entrypointEnv({});
  const run = startEntrypoint(env);
  expect(await run.exited).toBe(1);
  expect(run.output()).toContain('set RUNNER_ADMIN_TOKEN (or RUNNER_JIT_CONFIG)');
});

it('stops dockerd when it fails after starting it', async () => {
  const [stubs, env] = await entrypointEnv({ RUNNER_ADMIN_TOKEN: 'ghp_wrong-token-0123456789' });
  expect(await startEntrypoint(env).exited).toBe(1);
  expect((await stubs.calls()).at(-1)).toBe('dockerd stopped');
});

describe('the health check of the task definition', () => {
  const check = () =>
    promisify(execFile)('sh', ['-c', RUNNER_HEALTH_CHECK.command[1]]).then(
      () => 0,
      (error: { code: number }) => error.code,
    );

  it('fails when no runner listener is alive', async () => {
    // pgrep sees the whole machine: give the listeners of earlier tests time to end.
    await until(async () => (await check()) === 1);
    expect(await check()).toBe(1);
  });

  it('passes while the runner listener is alive', async () => {
    const [stubs, env] = await entrypointEnv({ RUNNER_ADMIN_TOKEN: ADMIN_TOKEN, STUB_RUN: 'idle' });
    const run = startEntrypoint(env);
    await until(async () => (await stubs.calls()).some((line) => line.startsWith('run.sh')));
    await until(async () => (await check()) === 0);
    expect(await check()).toBe(0);
    run.child.kill('SIGTERM');
    await run.exited;
  });
});
