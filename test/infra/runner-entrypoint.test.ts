/**
 * The runner image's entry point, run by bash against the stub runner release, a stub dockerd and
 * a loopback stand-in for GitHub's runners API. The image itself is tested in test/image/.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RUNNER_HEALTH_CHECK } from '../../infra/seed-documents';
import {
  createRunnerStubs,
  ENTRYPOINT,
  type GitHubApiStandIn,
  jitConfigFor,
  REGISTRATION_TOKEN,
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
      GITHUB_SERVER_URL: api.url,
      ORGANIZATION: 'foo-organisation',
      RUNNER_CONFIG_ARGS:
        '--unattended --replace --labels octo-sandpit-hello --name octo-runner-1 --ephemeral',
      RUNNER_LABELS: 'octo-sandpit-hello',
      STUB_RUN: 'job',
      STUB_JOB_EXIT: '3',
      ...extra,
    },
  ];
}

describe('registration with RUNNER_REGISTRATION_TOKEN (token mode)', () => {
  let stubs: RunnerStubs;
  let code: number | null;
  let output: string;
  let before = 0;

  beforeAll(async () => {
    let env: Record<string, string>;
    [stubs, env] = await entrypointEnv({ RUNNER_REGISTRATION_TOKEN: REGISTRATION_TOKEN });
    before = api.requests.length;
    const run = startEntrypoint(env);
    code = await run.exited;
    output = run.output();
  });

  it('configures the runner with the registration token of its environment file and the task definition flags', async () => {
    expect(await stubs.calls()).toContain(
      `config.sh --url ${api.url}/foo-organisation --token ${REGISTRATION_TOKEN} --unattended --replace --labels octo-sandpit-hello --name octo-runner-1 --ephemeral`,
    );
  });

  it("calls none of GitHub's runners API: only config.sh's registration, with the registration token", () => {
    expect(api.requests.slice(before)).toEqual([
      {
        method: 'POST',
        path: '/api/v3/actions/runner-registration',
        authorization: `RemoteAuth ${REGISTRATION_TOKEN}`,
      },
    ]);
  });

  it('registers the runner at GitHub under its name', async () => {
    expect((await stubs.runnerFile()).AgentName).toBe('octo-runner-1');
  });

  it('starts dockerd before the runner and stops it after', async () => {
    const calls = await stubs.calls();
    expect(calls.findIndex((line) => line.startsWith('dockerd started'))).toBeLessThan(
      calls.findIndex((line) => line.startsWith('run.sh')),
    );
    expect(calls.at(-1)).toBe('dockerd stopped');
  });

  it('leaves the registration token in no environment of the job', async () => {
    expect(await stubs.jobEnv()).not.toContain('RUNNER_REGISTRATION_TOKEN');
    expect(await stubs.jobEnv()).not.toContain(REGISTRATION_TOKEN);
  });

  it('never prints the registration token', () => {
    expect(output).toContain(`registering at ${api.url}/foo-organisation`);
    expect(output).not.toContain(REGISTRATION_TOKEN);
  });

  it('exits with the exit code of the runner after its job', () => {
    expect(code).toBe(3);
  });
});

describe('the admin token', () => {
  it('is no variable of the entry point: no task needs or reads one', async () => {
    const script = await readFile(ENTRYPOINT, 'utf8');
    expect(script).not.toMatch(/ADMIN_TOKEN|admin_token|remove-token/);
  });

  it('registers nothing with one alone, as an old task definition would hand it', async () => {
    const [stubs, env] = await entrypointEnv({ RUNNER_ADMIN_TOKEN: ADMIN_TOKEN });
    const before = api.requests.length;
    const run = startEntrypoint(env);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('set RUNNER_REGISTRATION_TOKEN (or RUNNER_JIT_CONFIG)');
    expect(run.output()).not.toContain(ADMIN_TOKEN);
    expect(api.requests.length).toBe(before);
    expect((await stubs.calls()).some((line) => line.startsWith('config.sh'))).toBe(false);
  });
});

it.each([
  [{ REPOSITORY: 'octo-org/hello' }, '/octo-org/hello'],
  [{ ENTERPRISE: 'octo-ent' }, '/enterprises/octo-ent'],
])('registers at the scope the webhook set over the default ORGANIZATION: %j', async (scope, url) => {
  const [stubs, env] = await entrypointEnv({ RUNNER_REGISTRATION_TOKEN: REGISTRATION_TOKEN, ...scope });
  expect(await startEntrypoint(env).exited).toBe(3);
  expect((await stubs.calls()).find((line) => line.startsWith('config.sh'))).toContain(
    `--url ${api.url}${url} `,
  );
});

describe('with RUNNER_JIT_CONFIG', () => {
  const jitConfig = jitConfigFor('octo-jit-runner-1', 'https://github.com/foo-organisation');

  it('starts the runner from it without configuring it or calling the API', async () => {
    const [stubs, env] = await entrypointEnv({ RUNNER_JIT_CONFIG: jitConfig });
    const before = api.requests.length;
    expect(await startEntrypoint(env).exited).toBe(3);
    expect((await stubs.runnerFile()).AgentName).toBe('octo-jit-runner-1');
    expect((await stubs.calls()).some((line) => line.startsWith('config.sh'))).toBe(false);
    expect(api.requests.length).toBe(before);
  });

  it('hands it to the runner in its environment, not on the command line of run.sh', async () => {
    const [stubs, env] = await entrypointEnv({ RUNNER_JIT_CONFIG: jitConfig });
    expect(await startEntrypoint(env).exited).toBe(3);
    expect((await stubs.calls()).filter((line) => line.startsWith('run.sh'))).toEqual(['run.sh ']);
  });

  it('leaves it in no environment of the job', async () => {
    const [stubs, env] = await entrypointEnv({ RUNNER_JIT_CONFIG: jitConfig });
    expect(await startEntrypoint(env).exited).toBe(3);
    const jobEnv = await stubs.jobEnv();
    expect(jobEnv).not.toContain('RUNNER_JIT_CONFIG');
    expect(jobEnv).not.toContain('ACTIONS_RUNNER_INPUT_JITCONFIG');
    expect(jobEnv).not.toContain(jitConfig);
  });

  it('is on no process command line while the runner runs', async () => {
    const [, env] = await entrypointEnv({ RUNNER_JIT_CONFIG: jitConfig, STUB_RUN: 'idle' });
    const run = startEntrypoint(env);
    await until(async () => run.output().includes('Listening for Jobs'));
    const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
    const commandLines = await Promise.all(
      pids.map((pid) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')),
    );
    run.child.kill('SIGTERM');
    await run.exited;
    expect(commandLines.some((line) => line.includes('Runner.Listener'))).toBe(true);
    expect(commandLines.filter((line) => line.includes(jitConfig))).toEqual([]);
  });
});

it('passes DOCKERD_ARGS to dockerd', async () => {
  const [stubs, env] = await entrypointEnv({
    RUNNER_JIT_CONFIG: jitConfigFor('octo-jit-runner-2', 'https://github.com/foo-organisation'),
    DOCKERD_ARGS: '--bridge=none --iptables=false',
  });
  expect(await startEntrypoint(env).exited).toBe(3);
  expect(await stubs.calls()).toContain('dockerd started --bridge=none --iptables=false');
});

it('stops the runner and dockerd and exits 0 when no job arrives within RUNNER_IDLE_TIMEOUT', async () => {
  const [stubs, env] = await entrypointEnv({
    RUNNER_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
    STUB_RUN: 'idle',
    RUNNER_IDLE_TIMEOUT: '2',
  });
  const run = startEntrypoint(env);
  expect(await run.exited).toBe(0);
  expect(run.output()).toContain('no job within 2s: stopping');
  const calls = await stubs.calls();
  expect(calls).toEqual(expect.arrayContaining(['run.sh stopped', 'dockerd stopped']));
  // No remove token: the registration is left to the reconciler and to GitHub (offline ephemeral runners).
  expect(calls.some((line) => line.startsWith('config.sh remove'))).toBe(false);
});

it('on SIGTERM stops the runner, then dockerd', async () => {
  const [stubs, env] = await entrypointEnv({
    RUNNER_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
    STUB_RUN: 'idle',
  });
  const run = startEntrypoint(env);
  await until(async () => run.output().includes('Listening for Jobs'));
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
  const calls = await stubs.calls();
  expect(calls.slice(-3)).toEqual(['run.sh stopped', 'Runner.Listener stopped', 'dockerd stopped']);
  expect(run.output()).not.toContain(REGISTRATION_TOKEN);
});

it('fails without printing the token when GitHub refuses the registration token', async () => {
  const [stubs, env] = await entrypointEnv({ RUNNER_REGISTRATION_TOKEN: 'AABC-EXPIRED-TOKEN' });
  const run = startEntrypoint(env);
  expect(await run.exited).toBe(1);
  expect(run.output()).toContain('config.sh could not register at');
  expect(run.output()).not.toContain('AABC-EXPIRED-TOKEN');
  expect((await stubs.calls()).some((line) => line.startsWith('run.sh'))).toBe(false);
});

it('fails with what to set when it has neither a registration token nor a JIT config', async () => {
  const [, env] = await entrypointEnv({});
  const run = startEntrypoint(env);
  expect(await run.exited).toBe(1);
  expect(run.output()).toContain('set RUNNER_REGISTRATION_TOKEN (or RUNNER_JIT_CONFIG)');
});

it('stops dockerd when it fails after starting it', async () => {
  const [stubs, env] = await entrypointEnv({ RUNNER_REGISTRATION_TOKEN: 'AABC-EXPIRED-TOKEN' });
  expect(await startEntrypoint(env).exited).toBe(1);
  expect((await stubs.calls()).at(-1)).toBe('dockerd stopped');
});

describe('a runner release GitHub no longer allows', () => {
  it('exits 78 when the listener says its version is deprecated, though the runner exits 0', async () => {
    const [stubs, env] = await entrypointEnv({
      RUNNER_JIT_CONFIG: jitConfigFor('octo-old-runner-1', 'https://github.com/foo-organisation'),
      STUB_RUN: 'refused',
    });
    const run = startEntrypoint(env);
    expect(await run.exited).toBe(78);
    // The runner's own words still reach the task's log, and the entry point's say what to do.
    expect(run.output()).toContain('Runner version v2.330.0 is deprecated and cannot receive messages.');
    expect(run.output()).toContain('GitHub refuses this runner release');
    expect(run.output()).toContain('rebuild the image');
    expect((await stubs.calls()).at(-1)).toBe('dockerd stopped');
  });

  it('exits 78 when config.sh says the version can no longer register', async () => {
    const [stubs, env] = await entrypointEnv({
      RUNNER_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
      STUB_RUN: 'refused',
    });
    const run = startEntrypoint(env);
    expect(await run.exited).toBe(78);
    expect(run.output()).toContain('Your runner version is out of date and can no longer register');
    expect(run.output()).not.toContain(REGISTRATION_TOKEN);
    expect((await stubs.calls()).some((line) => line.startsWith('run.sh'))).toBe(false);
  });
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
    const [stubs, env] = await entrypointEnv({
      RUNNER_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
      STUB_RUN: 'idle',
    });
    const run = startEntrypoint(env);
    await until(async () => (await stubs.calls()).some((line) => line.startsWith('run.sh')));
    await until(async () => (await check()) === 0);
    expect(await check()).toBe(0);
    run.child.kill('SIGTERM');
    await run.exited;
  });
});
