/**
 * The runner image, built from infra/runner-image/ with the stub runner release (served on
 * loopback, its checksum a build argument) and run as the task definition runs it: an init as
 * PID 1, the task's own dockerd, the health check of the synthesized task definition. Needs a
 * Docker engine (`npm run test:image`; `.ci/run` starts one). The sandbox refuses `--privileged`,
 * so the containers get every privilege but one instead (PRIVILEGED_BUT_SYS_RESOURCE in ./docker);
 * the task definition keeps `privileged: true`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_IMAGE_TAG } from '../../infra/settings';
import { startPresignedObjectStandIn } from '../support/presigned-object-stand-in';
import {
  type FileServer,
  type GitHubApiStandIn,
  jitConfigFor,
  packStubRelease,
  REGISTRATION_TOKEN,
  type StubRelease,
  serveFile,
  startGitHubApiStandIn,
  until,
} from '../support/runner-image-stubs';
import { only, synthesize } from '../support/synth-stack';
import {
  type Container,
  type ContainerOptions,
  type DockerResult,
  docker,
  dockerOk,
  startContainer,
  TEST_IMAGE,
} from './docker';

const CONTEXT = 'infra/runner-image';

interface ContainerDefinition {
  HealthCheck: { Command: string[]; Retries: number; Timeout: number };
  StopTimeout: number;
}

let release: StubRelease;
let releaseServer: FileServer;
let build: DockerResult;
let definition: ContainerDefinition;
const containers: Container[] = [];

function buildImage(tag: string, sha256: string, ...args: string[]): Promise<DockerResult> {
  return docker([
    'build',
    ...args,
    // The build downloads Debian's packages and the release from loopback; containers get no network.
    '--network=host',
    '--build-arg',
    `RUNNER_URL=${releaseServer.url}`,
    '--build-arg',
    `RUNNER_SHA256_X64=${sha256}`,
    '--build-arg',
    `RUNNER_SHA256_ARM64=${sha256}`,
    '--tag',
    tag,
    CONTEXT,
  ]);
}

async function start(options: ContainerOptions): Promise<Container> {
  const container = await startContainer(TEST_IMAGE, options);
  containers.push(container);
  return container;
}

/** Docker's health check running the task definition's command (`CMD-SHELL`: `sh -c`), every second. */
function healthCheckOptions(): string[] {
  const { Command, Retries, Timeout } = definition.HealthCheck;
  expect(Command[0]).toBe('CMD-SHELL');
  return [
    `--health-cmd=${Command[1]}`,
    '--health-interval=1s',
    `--health-timeout=${Timeout}s`,
    `--health-retries=${Retries}`,
  ];
}

const healthOf = async (container: Container) =>
  dockerOk(['inspect', '--format', '{{.State.Health.Status}}', container.id]);

/** Until the container's output has `text`. */
const untilLogged = (container: Container, text: string, ms = 60_000) =>
  until(async () => (await container.logs()).includes(text), ms);

beforeAll(async () => {
  release = await packStubRelease();
  releaseServer = await serveFile(release.archive);
  build = await buildImage(TEST_IMAGE, release.sha256);
  const { json } = await synthesize();
  const task = only(json, 'AWS::ECS::TaskDefinition');
  [definition] = task.Properties.ContainerDefinitions as [ContainerDefinition];
}, 600_000);

afterAll(async () => {
  await Promise.all(containers.map((container) => container.remove()));
  await releaseServer.close();
});

describe('the build', () => {
  it('builds from the release at RUNNER_URL, for its architecture, when it matches its checksum', async () => {
    expect(build.stderr + build.stdout).toContain('runner.tar.gz: OK');
    expect(build.code).toBe(0);
    // Node's names for the architectures are the runner release's: x64, arm64.
    expect(releaseServer.paths).toContain(`/actions-runner-linux-${process.arch}-stub.tar.gz`);
    const listing = await dockerOk(['run', '--rm', '--network=none', '--entrypoint=ls', TEST_IMAGE]);
    expect(listing.split('\n')).toEqual(expect.arrayContaining(['bin', 'config.sh', 'run.sh']));
  });

  it('fails when the release does not match its checksum', async () => {
    const refused = await buildImage('ecs-github-runners/runner:refused', '0'.repeat(64));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr + refused.stdout).toContain('runner.tar.gz: FAILED');
  });

  it("fails when the release does not match RUNNER_SHA256, the stack's build argument, which wins", async () => {
    // The per-architecture checksums are right: the one the stack's build passes is not.
    const refused = await buildImage(
      'ecs-github-runners/runner:refused-single',
      release.sha256,
      '--build-arg',
      `RUNNER_SHA256=${'f'.repeat(64)}`,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr + refused.stdout).toContain('runner.tar.gz: FAILED');
  });

  it('labels the runner release it carries', async () => {
    const labels = await dockerOk(['image', 'inspect', '--format', '{{json .Config.Labels}}', TEST_IMAGE]);
    expect(JSON.parse(labels)).toMatchObject({ 'org.opencontainers.image.version': DEFAULT_IMAGE_TAG });
  });

  it('keeps no credential in any layer or in its configuration', async () => {
    const history = await dockerOk(['history', '--no-trunc', '--format', '{{.CreatedBy}}', TEST_IMAGE]);
    const config = await dockerOk(['image', 'inspect', '--format', '{{json .Config}}', TEST_IMAGE]);
    const credential =
      /gh[pousr]_|github_pat_|RUNNER_ADMIN_TOKEN=|RUNNER_REGISTRATION_TOKEN=|RUNNER_JIT_CONFIG=|ACTIONS_RUNNER_INPUT_/;
    expect(history).not.toMatch(credential);
    expect(config).not.toMatch(credential);
    // The build arguments in the history are the release's, not a secret.
    const args = new Set([...history.matchAll(/ ([A-Z0-9_]+)=/g)].map((match) => match[1]));
    expect([...args].filter((name) => name?.startsWith('RUNNER_')).sort()).toEqual([
      'RUNNER_ALLOW_RUNASROOT',
      'RUNNER_HOME',
      'RUNNER_SHA256',
      'RUNNER_SHA256_ARM64',
      'RUNNER_SHA256_X64',
      'RUNNER_URL',
      'RUNNER_VERSION',
    ]);
  });
});

describe('a task with a JIT config, waiting for a job', () => {
  const jitConfig = jitConfigFor('octo-image-runner-1', 'https://github.com/foo-organisation');
  let task: Container;

  beforeAll(async () => {
    task = await start({
      env: { RUNNER_JIT_CONFIG: jitConfig, STUB_RUN: 'idle' },
      extra: healthCheckOptions(),
    });
    await untilLogged(task, 'Listening for Jobs');
  }, 120_000);

  it('has its own dockerd answering', async () => {
    const inside = await task.exec(['docker', 'info', '--format', '{{.ID}}']);
    expect(inside.code).toBe(0);
    expect(inside.stdout.trim()).not.toBe(await dockerOk(['info', '--format', '{{.ID}}']));
  });

  it("runs a job's container on its own dockerd", async () => {
    // No registry here: an image of /usr/bin/true and its libraries, from the task's own files.
    const ran = await task.exec([
      'bash',
      '-c',
      'tar -ch /usr/bin/true $(ldd /usr/bin/true | grep -o "/[^ ]*") 2>/dev/null | docker import - job-step &&' +
        ' docker run --rm --network=none job-step /usr/bin/true && echo ran',
    ]);
    expect(ran.stderr).toBe('');
    expect(ran.stdout).toMatch(/ran\n$/);
  });

  it('hands the JIT config to the runner', async () => {
    expect(JSON.parse(await task.read('/actions-runner/.runner'))).toMatchObject({
      AgentName: 'octo-image-runner-1',
    });
  });

  it('keeps the JIT config off every command line', async () => {
    const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
    const commandLines = await Promise.all(
      pids.map((pid) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')),
    );
    expect(commandLines.some((line) => line.includes('Runner.Listener'))).toBe(true);
    expect(commandLines.filter((line) => line.includes(jitConfig))).toEqual([]);
  });

  it('passes the health check of the task definition while the runner runs', async () => {
    await until(async () => (await healthOf(task)) !== 'starting', 30_000);
    expect(await healthOf(task)).toBe('healthy');
  });

  it('on SIGTERM stops the runner and dockerd and exits 0 well within stopTimeout', async () => {
    const started = Date.now();
    await dockerOk(['stop', '--time', String(definition.StopTimeout), task.id]);
    const seconds = (Date.now() - started) / 1000;
    expect(await task.wait()).toBe(0);
    expect(seconds).toBeLessThan(definition.StopTimeout / 4);
    const logs = await task.logs();
    expect(logs).toContain('SIGTERM: cleaning up');
    expect(logs).toContain('Exiting...'); // the listener's graceful stop, on the SIGINT of run.sh
    expect(logs).toContain('stopping dockerd');
    expect(await task.read('/var/log/dockerd.log')).toContain('Daemon shutdown complete');
  });
});

it('fails the health check of the task definition where no runner runs', async () => {
  const idle = await start({ entrypoint: 'sleep', command: ['300'], extra: healthCheckOptions() });
  await until(async () => (await healthOf(idle)) !== 'starting', 30_000);
  expect(await healthOf(idle)).toBe('unhealthy');
});

it('gives up after RUNNER_IDLE_TIMEOUT without a job, and the task ends', async () => {
  const task = await start({
    env: {
      RUNNER_JIT_CONFIG: jitConfigFor('octo-image-runner-2', 'https://github.com/foo-organisation'),
      STUB_RUN: 'idle',
      RUNNER_IDLE_TIMEOUT: '2',
    },
  });
  expect(await task.wait()).toBe(0);
  const logs = await task.logs();
  expect(logs).toContain('no job within 2s: stopping');
  expect(logs).toContain('stopping dockerd');
});

it('ends with the job the runner took, exit 0, the job having used the task dockerd', async () => {
  const task = await start({
    env: {
      RUNNER_JIT_CONFIG: jitConfigFor('octo-image-runner-3', 'https://github.com/foo-organisation'),
      STUB_RUN: 'job',
      STUB_JOB_AFTER: '1',
      // The entry point looks for the Worker log every second.
      STUB_JOB_SECONDS: '2',
    },
  });
  expect(await task.wait()).toBe(0);
  expect(await task.logs()).toContain('the runner took a job');
  expect(await task.read('/actions-runner/stub-job-docker.txt')).toMatch(/^\d+\.\d+/);
  expect(await task.read('/actions-runner/stub-job-env.txt')).not.toContain('JIT');
});

it('exits 78 when GitHub refuses the runner release, the runner having exited 0', async () => {
  const task = await start({
    env: {
      RUNNER_JIT_CONFIG: jitConfigFor('octo-image-runner-5', 'https://github.com/foo-organisation'),
      STUB_RUN: 'refused',
    },
  });
  expect(await task.wait()).toBe(78);
  const logs = await task.logs();
  expect(logs).toContain('Runner version v2.330.0 is deprecated and cannot receive messages.');
  expect(logs).toContain('GitHub refuses this runner release');
  expect(logs).toContain('stopping dockerd');
});

it('as a standby, takes the JIT config a job writes at its presigned URL, deletes it and ends with the job', async () => {
  const object = await startPresignedObjectStandIn();
  try {
    const task = await start({
      // The stand-in is on the host's loopback (as for token registration, below).
      network: 'host',
      env: {
        RUNNER_STANDBY_URL: object.getUrl,
        RUNNER_STANDBY_DELETE_URL: object.deleteUrl,
        RUNNER_STANDBY_UNTIL: String(Math.floor(Date.now() / 1000) + 300),
        DOCKERD_ARGS: '--bridge=none --iptables=false',
        STUB_RUN: 'job',
        // As the JIT test: a job that lasts longer than the entry point's one-second look for it.
        STUB_JOB_AFTER: '1',
        STUB_JOB_SECONDS: '2',
      },
    });
    await untilLogged(task, "standby: waiting for a job's config");
    object.put(
      `RUNNER_JIT_CONFIG=${jitConfigFor('octo-image-runner-6', 'https://github.com/foo-organisation')}\n`,
    );
    expect(await task.wait()).toBe(0);
    const logs = await task.logs();
    expect(logs).toContain('standby: config received after');
    expect(logs).toContain('the runner took a job');
    expect(object.requests.slice(-2).map((request) => `${request.method} ${request.status}`)).toEqual([
      'GET 200',
      'DELETE 204',
    ]);
    for (const signature of object.signatures) expect(logs).not.toContain(signature);
    expect(await task.read('/actions-runner/stub-job-env.txt')).not.toMatch(
      /RUNNER_STANDBY_(DELETE_)?URL|JIT/,
    );
  } finally {
    await object.close();
  }
});

describe('a task with RUNNER_REGISTRATION_TOKEN (token registration)', () => {
  const adminToken = 'ghp_image-test-admin-token-0123456789';
  let github: GitHubApiStandIn;
  let task: Container;
  let registered: number[];

  beforeAll(async () => {
    github = await startGitHubApiStandIn(adminToken);
    task = await start({
      // The stand-in is on the host's loopback, so this task shares the host's network; its
      // dockerd then makes no bridge and no iptables rules there.
      network: 'host',
      env: {
        RUNNER_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
        GITHUB_SERVER_URL: github.url,
        ORGANIZATION: 'foo-organisation',
        RUNNER_CONFIG_ARGS: '--unattended --replace --name octo-image-runner-4 --ephemeral',
        RUNNER_LABELS: 'octo-sandpit-hello',
        DOCKERD_ARGS: '--bridge=none --iptables=false',
        STUB_RUN: 'idle',
      },
    });
    await untilLogged(task, 'Listening for Jobs');
    registered = [...github.runners.keys()];
  }, 120_000);

  afterAll(() => github.close());

  it('registers the runner at GitHub', () => {
    expect([...github.runners.values()]).toEqual([{ name: 'octo-image-runner-4' }]);
  });

  it('calls no runners API with an admin token: only config.sh registers, with the registration token', () => {
    expect(github.requests.map((request) => request.path)).toEqual(['/api/v3/actions/runner-registration']);
  });

  it('stops on SIGTERM and exits 0, printing no token', async () => {
    expect(registered).toHaveLength(1);
    await dockerOk(['stop', '--time', String(definition.StopTimeout), task.id]);
    expect(await task.wait()).toBe(0);
    // No remove token in the task: the registration stays for the reconciler (or GitHub) to delete.
    expect(await task.logs()).not.toContain(REGISTRATION_TOKEN);
    expect(await task.logs()).not.toContain(adminToken);
  });
});
