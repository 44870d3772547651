/**
 * What the runner image's entry point talks to, without a Docker engine or GitHub: stub
 * `config.sh` / `run.sh` / `Runner.Listener` in a runner folder, stub `dockerd` / `docker` on the
 * PATH, and a loopback stand-in for GitHub's runners API. Every stub appends a line to `calls`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ENTRYPOINT = 'infra/runner-image/entrypoint.sh';

const STUBS: Record<string, string> = {
  'runner/config.sh': `#!/usr/bin/env bash
echo "config.sh $*" >> "$CALLS"`,
  // STUB_RUN=job: takes a job (writes the Worker log) and exits; STUB_RUN=idle: waits until stopped.
  'runner/run.sh': `#!/usr/bin/env bash
echo "run.sh $*" >> "$CALLS"
env > "$STUB_DIR/run-env.txt"
"$(dirname "$0")/bin/Runner.Listener" &
listener=$!
trap 'echo "run.sh stopped" >> "$CALLS"; kill "$listener"; exit 0' TERM
if [[ $STUB_RUN == job ]]; then
  mkdir -p "$(dirname "$0")/_diag" && touch "$(dirname "$0")/_diag/Worker_20260101-000000-utc.log"
  sleep 0.2
  kill "$listener"
  echo "run.sh done" >> "$CALLS"
  exit 3
fi
wait "$listener"`,
  // A direct interpreter (not env), so the process is named Runner.Listener as the real one is.
  'runner/bin/Runner.Listener': `#!/bin/bash
sleep 60 &
trap 'kill $!; exit 0' TERM
wait $!`,
  'bin/dockerd': `#!/usr/bin/env bash
echo "dockerd started" >> "$CALLS"
touch "$STUB_DIR/docker-ready"
sleep 60 &
trap 'kill $!; echo "dockerd stopped" >> "$CALLS"; exit 0' TERM
wait $!`,
  'bin/docker': `#!/usr/bin/env bash
[[ -e "$STUB_DIR/docker-ready" ]]`,
};

export interface RunnerStubs {
  readonly dir: string;
  readonly runnerHome: string;
  readonly calls: () => Promise<string[]>;
  readonly runEnv: () => Promise<string>;
  readonly env: Record<string, string>;
}

export async function createRunnerStubs(): Promise<RunnerStubs> {
  const dir = await mkdtemp(join(tmpdir(), 'runner-image-'));
  for (const [path, text] of Object.entries(STUBS)) {
    const file = join(dir, path);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, `${text}\n`);
    await chmod(file, 0o755);
  }
  const callsFile = join(dir, 'calls.log');
  await writeFile(callsFile, '');
  return {
    dir,
    runnerHome: join(dir, 'runner'),
    calls: async () => (await readFile(callsFile, 'utf8')).split('\n').filter((line) => line !== ''),
    runEnv: () => readFile(join(dir, 'run-env.txt'), 'utf8'),
    env: {
      PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
      CALLS: callsFile,
      STUB_DIR: dir,
      RUNNER_HOME: join(dir, 'runner'),
      DOCKERD_LOG: join(dir, 'dockerd.log'),
    },
  };
}

export interface GitHubApiStandIn {
  readonly url: string;
  readonly requests: Array<{ method: string; path: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

/** GitHub's runners API on 127.0.0.1: registration and remove tokens for one admin token. */
export async function startGitHubApiStandIn(adminToken: string): Promise<GitHubApiStandIn> {
  const requests: GitHubApiStandIn['requests'] = [];
  const server: Server = createServer((request, response) => {
    const path = request.url ?? '';
    requests.push({ method: request.method ?? '', path, authorization: request.headers.authorization });
    const kind = /\/actions\/runners\/(registration-token|remove-token)$/.exec(path)?.[1];
    const [status, body] =
      request.headers.authorization !== `Bearer ${adminToken}`
        ? [401, { message: 'Bad credentials' }]
        : request.method !== 'POST' || kind === undefined
          ? [404, { message: 'Not Found' }]
          : [
              201,
              {
                token: kind === 'registration-token' ? 'REG-TOKEN-1' : 'REMOVE-TOKEN-1',
                expires_at: '2099-01-01T00:00:00Z',
              },
            ];
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface EntrypointRun {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/** Starts the entry point with bash, with only the given environment (plus the stubs'). */
export function startEntrypoint(env: Record<string, string>): EntrypointRun {
  const child = spawn('bash', [ENTRYPOINT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Waits until `check` holds, polling; fails after `ms`. */
export async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
