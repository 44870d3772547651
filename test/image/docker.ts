/** The Docker CLI for the image tests: `$DOCKER` (`.ci/run` sets Debian's, which has BuildKit), else `docker`. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DOCKER = process.env.DOCKER ?? 'docker';

/** The tag the tests build; `npm run bench` reports the size of the image under it. */
export const TEST_IMAGE = 'ecs-github-runners/runner:test';

/**
 * What the task definition's `privileged: true` grants, as far as this sandbox allows: it refuses
 * `--privileged` (CAP_SYS_RESOURCE is outside its bounding set), so the tests grant every other
 * capability, no seccomp or AppArmor profile, every device, and the cgroup hierarchy writable (as
 * `--privileged` mounts it with cgroup v1; the task's dockerd puts its containers in cgroups).
 */
export const PRIVILEGED_BUT_SYS_RESOURCE = [
  '--volume=/sys/fs/cgroup:/sys/fs/cgroup:rw',
  '--cap-add=ALL',
  '--cap-drop=SYS_RESOURCE',
  '--security-opt',
  'seccomp=unconfined',
  '--security-opt',
  'apparmor=unconfined',
  '--device-cgroup-rule=a *:* rwm',
];

export interface DockerResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the Docker CLI; never throws on a non-zero exit (the caller asserts the code). */
export function docker(args: readonly string[], env: Record<string, string> = {}): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(DOCKER, args, {
      env: { ...process.env, DOCKER_BUILDKIT: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the Docker CLI and returns its trimmed output; throws with its stderr on a non-zero exit. */
export async function dockerOk(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const result = await docker(args, env);
  if (result.code !== 0) {
    throw new Error(`docker ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  }
  return result.stdout.trim();
}

export interface Container {
  readonly id: string;
  /** Its output so far (the entry point's log and the runner's). */
  logs(): Promise<string>;
  /** Waits for it to end and returns its exit code. */
  wait(): Promise<number>;
  /** A command inside it. */
  exec(command: readonly string[]): Promise<DockerResult>;
  /** The text of a file inside it (it may have ended). */
  read(path: string): Promise<string>;
  remove(): Promise<void>;
}

export interface ContainerOptions {
  /** Set in the container; values go through the CLI's environment, never its command line. */
  readonly env?: Record<string, string>;
  readonly network?: 'none' | 'host';
  readonly entrypoint?: string;
  readonly command?: readonly string[];
  readonly extra?: readonly string[];
}

/**
 * Starts the image as ECS does, as far as the sandbox allows: with an init as PID 1
 * (`initProcessEnabled`), the privileges above, and no network unless asked.
 */
export async function startContainer(image: string, options: ContainerOptions = {}): Promise<Container> {
  const env = options.env ?? {};
  const id = await dockerOk(
    [
      'run',
      '--detach',
      '--init',
      `--network=${options.network ?? 'none'}`,
      ...PRIVILEGED_BUT_SYS_RESOURCE,
      ...Object.keys(env).flatMap((name) => ['--env', name]),
      ...(options.entrypoint === undefined ? [] : ['--entrypoint', options.entrypoint]),
      ...(options.extra ?? []),
      image,
      ...(options.command ?? []),
    ],
    env,
  );
  return {
    id,
    logs: async () => {
      const { stdout, stderr } = await docker(['logs', id]);
      return stdout + stderr;
    },
    wait: async () => Number(await dockerOk(['wait', id])),
    exec: (command) => docker(['exec', id, ...command]),
    read: async (path) => {
      // `docker cp` works on an ended container too.
      const copy = join(await mkdtemp(join(tmpdir(), 'container-file-')), 'file');
      await dockerOk(['cp', `${id}:${path}`, copy]);
      return readFile(copy, 'utf8');
    },
    remove: async () => {
      await docker(['rm', '--force', '--volumes', id]);
    },
  };
}
