/**
 * The runner image's entry point, run by bash against the stub runner release, a stub dockerd and
 * a loopback stand-in for GitHub's runners API. The image itself is tested in test/image/.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RUNNER_HEALTH_CHECK } from '../../infra/seed-documents';
import {
  type PresignedObjectStandIn,
  startPresignedObjectStandIn,
} from '../support/presigned-object-stand-in';
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

/** The command lines of every process of the machine. */
async function commandLines(): Promise<string[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  return Promise.all(pids.map((pid) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')));
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
    const lines = await commandLines();
    run.child.kill('SIGTERM');
    await run.exited;
    expect(lines.some((line) => line.includes('Runner.Listener'))).toBe(true);
    expect(lines.filter((line) => line.includes(jitConfig))).toEqual([]);
  });
});

describe('a standby (hot pools): started before its job, with presigned URLs of its config object', () => {
  const jitConfig = jitConfigFor('octo-standby-runner-1', 'https://github.com/foo-organisation');
  const objects: PresignedObjectStandIn[] = [];
  afterAll(() => Promise.all(objects.map((object) => object.close())));

  const startObject = async (...options: Parameters<typeof startPresignedObjectStandIn>) => {
    const object = await startPresignedObjectStandIn(...options);
    objects.push(object);
    return object;
  };

  /** The entry point's environment for a standby on `object`, with its own TMPDIR to look into. */
  async function standbyEnv(
    object: PresignedObjectStandIn,
    extra: Record<string, string> = {},
  ): Promise<[RunnerStubs, Record<string, string>]> {
    const [stubs, env] = await entrypointEnv({
      RUNNER_STANDBY_URL: object.getUrl,
      RUNNER_STANDBY_DELETE_URL: object.deleteUrl,
      RUNNER_STANDBY_UNTIL: String(Math.floor(Date.now() / 1000) + 60),
      RUNNER_STANDBY_POLL: '0.2',
      ...extra,
    });
    await mkdir(join(stubs.dir, 'tmp'));
    return [stubs, { ...env, TMPDIR: join(stubs.dir, 'tmp') }];
  }

  /** The directories in a run's TMPDIR (where the standby keeps what it fetched), with their modes and files. */
  async function privateDirs(stubs: RunnerStubs) {
    const tmp = join(stubs.dir, 'tmp');
    const dirs = [];
    for (const entry of await readdir(tmp, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const path = join(tmp, entry.name);
      dirs.push({ mode: (await stat(path)).mode & 0o777, files: await readdir(path).catch(() => []) });
    }
    return dirs;
  }

  const began = (calls: string[], prefix: string) => calls.some((line) => line.startsWith(prefix));

  describe('claimed by a job 2 s after it started', () => {
    let object: PresignedObjectStandIn;
    let stubs: RunnerStubs;
    let code: number | null;
    let output: string;
    const seen: Array<{
      method: string;
      signedLines: string[];
      dirs: Awaited<ReturnType<typeof privateDirs>>;
    }> = [];

    beforeAll(async () => {
      object = await startObject({
        // While each request is in flight: the command lines with a signature, what the private folder holds.
        beforeAnswer: async (request) => {
          const lines = await commandLines();
          seen.push({
            method: request.method ?? '',
            signedLines: lines.filter((line) =>
              object.signatures.some((signature) => line.includes(signature)),
            ),
            dirs: await privateDirs(stubs),
          });
        },
      });
      let env: Record<string, string>;
      // The idle timeout is shorter than the standby's wait: it counts from the runner's start.
      [stubs, env] = await standbyEnv(object, {
        RUNNER_IDLE_TIMEOUT: '2',
        STUB_JOB_AFTER: '0.5',
        STUB_JOB_SECONDS: '2',
      });
      const run = startEntrypoint(env);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      object.put(`RUNNER_JIT_CONFIG=${jitConfig}\n`);
      code = await run.exited;
      output = run.output();
    }, 20_000);

    it('waits for its config, answered 403 AccessDenied until the job writes it', () => {
      expect(output).toContain("standby: waiting for a job's config");
      const gets = object.requests.filter((request) => request.method === 'GET');
      expect(gets.length).toBeGreaterThan(3);
      expect(gets.slice(0, -1).map((request) => request.status)).toEqual(gets.slice(0, -1).map(() => 403));
      expect(gets.at(-1)?.status).toBe(200);
      expect(output).toMatch(/standby: config received after [1-3]s/);
    });

    it('starts dockerd and warms the runner before it waits, and starts the runner from the JIT config it received', async () => {
      const calls = await stubs.calls();
      const at = (prefix: string) => calls.findIndex((line) => line.startsWith(prefix));
      expect(at('dockerd started')).toBe(0);
      expect(at('Runner.Listener --version')).toBeGreaterThan(at('dockerd started'));
      expect(calls.filter((line) => line.startsWith('run.sh'))).toEqual(['run.sh ']);
      expect(at('run.sh')).toBeGreaterThan(at('Runner.Listener --version'));
      expect((await stubs.runnerFile()).AgentName).toBe('octo-standby-runner-1');
      expect(began(calls, 'config.sh')).toBe(false);
    });

    it('deletes the object right after the GET that fetched it, and its own copy before that', () => {
      expect(object.requests.slice(-2)).toEqual([
        { method: 'GET', path: expect.stringMatching(/\/runner-config\/[0-9a-f]{32}\.env$/), status: 200 },
        { method: 'DELETE', path: expect.stringMatching(/\/runner-config\/[0-9a-f]{32}\.env$/), status: 204 },
      ]);
      expect(object.body()).toBeUndefined();
      const atDelete = seen.find((request) => request.method === 'DELETE');
      expect(atDelete?.dirs).toEqual([{ mode: 0o700, files: expect.not.arrayContaining(['config']) }]);
    });

    it('keeps what it fetches in a folder of its own, which it removes', async () => {
      const atGets = seen.filter((request) => request.method === 'GET');
      expect(atGets.map((request) => request.dirs.map((dir) => dir.mode))).toEqual(atGets.map(() => [0o700]));
      expect(await privateDirs(stubs)).toEqual([]);
    });

    it('puts its URLs on no command line and in no environment of dockerd or the job', async () => {
      expect(seen.length).toBe(object.requests.length);
      expect(seen.flatMap((request) => request.signedLines)).toEqual([]);
      for (const env of [await stubs.dockerdEnv(), await stubs.jobEnv()]) {
        expect(env).not.toMatch(/RUNNER_STANDBY_(DELETE_)?URL|X-Amz-/);
        for (const signature of object.signatures) expect(env).not.toContain(signature);
        expect(env).not.toContain(jitConfig);
      }
    });

    it('never prints its URLs, their signatures or the config', () => {
      expect(output).not.toContain('X-Amz-');
      for (const signature of object.signatures) expect(output).not.toContain(signature);
      expect(output).not.toContain(jitConfig);
    });

    it("counts the idle timeout from the runner's start, and exits with the job's exit code", () => {
      expect(output).toContain('the runner took a job');
      expect(output).not.toContain('no job within');
      expect(code).toBe(3);
    });
  });

  it('stops dockerd and exits 0 when no job claims it by RUNNER_STANDBY_UNTIL', async () => {
    const object = await startObject();
    const [stubs, env] = await standbyEnv(object, {
      RUNNER_STANDBY_UNTIL: String(Math.floor(Date.now() / 1000) + 3),
    });
    const run = startEntrypoint(env);
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/no job claimed this standby runner by \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    const calls = await stubs.calls();
    expect(calls.at(-1)).toBe('dockerd stopped');
    expect(began(calls, 'run.sh')).toBe(false);
    expect(object.requests.length).toBeGreaterThan(3);
    expect(object.requests.every((request) => request.method === 'GET' && request.status === 403)).toBe(true);
    expect(await privateDirs(stubs)).toEqual([]);
  });

  it('on SIGTERM while it waits stops dockerd and exits 0', async () => {
    const object = await startObject();
    const [stubs, env] = await standbyEnv(object);
    const run = startEntrypoint(env);
    await until(async () => object.requests.length >= 2);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('SIGTERM: cleaning up');
    const calls = await stubs.calls();
    expect(calls.at(-1)).toBe('dockerd stopped');
    expect(began(calls, 'run.sh')).toBe(false);
    expect(await privateDirs(stubs)).toEqual([]);
  });

  it.each([
    ['no RUNNER_JIT_CONFIG line', 'FOO=bar\n'],
    ['an empty one', 'RUNNER_JIT_CONFIG=\n'],
    ['a registration token instead', `RUNNER_REGISTRATION_TOKEN=${REGISTRATION_TOKEN}\n`],
  ])('fails, having deleted the object and stopped dockerd, when its config has %s', async (_, body) => {
    const object = await startObject();
    object.put(body);
    const [stubs, env] = await standbyEnv(object);
    const run = startEntrypoint(env);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('the config object has no RUNNER_JIT_CONFIG line, or an empty one');
    expect(run.output()).not.toContain(REGISTRATION_TOKEN);
    expect(object.requests.map((request) => request.method)).toEqual(['GET', 'DELETE']);
    const calls = await stubs.calls();
    expect(calls.at(-1)).toBe('dockerd stopped');
    expect(began(calls, 'run.sh')).toBe(false);
  });

  it('refuses RUNNER_REGISTRATION_TOKEN: a standby serves JIT registration only', async () => {
    const object = await startObject();
    const [stubs, env] = await standbyEnv(object, { RUNNER_REGISTRATION_TOKEN: REGISTRATION_TOKEN });
    const run = startEntrypoint(env);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain('a standby serves JIT registration only');
    expect(run.output()).not.toContain(REGISTRATION_TOKEN);
    expect(object.requests).toEqual([]);
    expect(await stubs.calls()).toEqual([]);
  });

  it('retries the GETs S3 fails (500) and starts once one answers', async () => {
    const object = await startObject();
    object.put(`RUNNER_JIT_CONFIG=${jitConfig}\n`);
    object.failNextGets(2, 500);
    const [stubs, env] = await standbyEnv(object);
    const run = startEntrypoint(env);
    expect(await run.exited).toBe(3);
    expect(object.requests.map((request) => `${request.method} ${request.status}`)).toEqual([
      'GET 500',
      'GET 500',
      'GET 200',
      'DELETE 204',
    ]);
    expect((await stubs.runnerFile()).AgentName).toBe('octo-standby-runner-1');
    // Told once a run of the same answer, without the URL.
    expect(run.output().match(/standby: the config's GET answered .*500; retrying until/g)).toHaveLength(1);
    expect(run.output()).not.toContain('X-Amz-');
  });

  it('starts no runner when the DELETE fails: the capacity function sees the config unread and replaces it', async () => {
    const object = await startObject();
    object.put(`RUNNER_JIT_CONFIG=${jitConfig}\n`);
    const [stubs, env] = await standbyEnv(object, { RUNNER_STANDBY_DELETE_URL: `${object.getUrl}&x=1` });
    const run = startEntrypoint(env);
    expect(await run.exited).toBe(1);
    expect(object.requests.map((request) => `${request.method} ${request.status}`)).toEqual([
      'GET 200',
      'DELETE 403',
    ]);
    expect(run.output()).toContain('standby: could not delete the config object');
    expect(run.output()).not.toContain('X-Amz-');
    expect(await stubs.runnerFile().catch(() => undefined)).toBeUndefined();
  });

  it.each([
    [
      { RUNNER_STANDBY_POLL: 'abc' },
      'RUNNER_STANDBY_POLL must be a number of seconds above 0, such as 0.5 (got "abc")',
    ],
    [{ RUNNER_STANDBY_POLL: '0' }, 'RUNNER_STANDBY_POLL must be a number of seconds above 0'],
    [{ RUNNER_STANDBY_UNTIL: 'soon' }, 'RUNNER_STANDBY_UNTIL must be a time in epoch seconds (got "soon")'],
    [{ RUNNER_STANDBY_DELETE_URL: '' }, 'set RUNNER_STANDBY_DELETE_URL with RUNNER_STANDBY_URL'],
  ])('fails before it starts anything with %j', async (settings, message) => {
    const object = await startObject();
    const [stubs, env] = await standbyEnv(object, settings);
    const run = startEntrypoint(env);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(message);
    expect(await stubs.calls()).toEqual([]);
    expect(object.requests).toEqual([]);
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
