/**
 * What the runner image's entry point talks to, without GitHub: a stub runner release
 * (`config.sh`, `run.sh`, `bin/Runner.Listener`) that behaves like the real one where the entry
 * point depends on it, and a loopback stand-in for GitHub's runners API and registration.
 *
 * The entry point test runs the release from a folder, with stub `dockerd` / `docker` on the PATH;
 * the image test packs it as a release archive, serves it on loopback and builds the image from it.
 * Every stub appends a line to `calls` (`$CALLS`, else `stub-calls.log` in the runner folder).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const ENTRYPOINT = 'infra/runner-image/entrypoint.sh';

/**
 * The stub runner release, in the layout of GitHub's `actions-runner-linux-*.tar.gz`. As in the
 * real release, `config.sh` refuses root without RUNNER_ALLOW_RUNASROOT and hands over to the
 * listener; `run.sh` forwards SIGTERM to the listener as SIGINT and exits with its code only with
 * RUNNER_MANUALLY_TRAP_SIG (without it, it dies alone and always exits 0); the listener prints its
 * version for `--version`, reads its inputs from `--name value` or ACTIONS_RUNNER_INPUT_NAME and
 * removes the latter from its environment, writes the JIT config's files into the runner folder,
 * and writes `_diag/Worker_*.log` when it takes a job. What it does then is set by STUB_RUN: `job`
 * (after STUB_JOB_AFTER seconds, a job of STUB_JOB_SECONDS that records its environment and the
 * version of the Docker engine it reaches, then exits STUB_JOB_EXIT), `idle` (listens until
 * stopped) or `refused` (GitHub refuses its version: config.sh fails to register, the listener says
 * so and exits 0, both in the real runner's words).
 */
export const STUB_RELEASE: Record<string, string> = {
  'config.sh': `#!/bin/bash
dir=$(cd "$(dirname "$0")" && pwd)
echo "config.sh $*" >> "\${CALLS:-$dir/stub-calls.log}"
if [[ $(id -u) -eq 0 && -z \${RUNNER_ALLOW_RUNASROOT:-} ]]; then
  echo "Must not run with sudo"
  exit 1
fi
if [[ $1 == remove ]]; then
  exec "$dir/bin/Runner.Listener" "$@"
fi
exec "$dir/bin/Runner.Listener" configure "$@"`,
  'run.sh': `#!/bin/bash
dir=$(cd "$(dirname "$0")" && pwd)
calls=\${CALLS:-$dir/stub-calls.log}
echo "run.sh $*" >> "$calls"
if [[ -z \${RUNNER_MANUALLY_TRAP_SIG:-} ]]; then
  "$dir/bin/Runner.Listener" run "$@"
  echo "Exiting runner..."
  exit 0
fi
set -m
signaled=0
trap 'echo "run.sh stopped" >> "$calls"; signaled=1; kill -INT -- -$pid' INT TERM
"$dir/bin/Runner.Listener" run "$@" &
pid=$!
wait $pid
status=$?
if ((signaled)); then
  wait $pid
  status=$?
fi
echo "Exiting runner..."
exit $status`,
  // A direct interpreter (not env), so the process is named Runner.Listener as the real one is.
  'bin/Runner.Listener': `#!/bin/bash
dir=$(cd "$(dirname "$0")/.." && pwd)
calls=\${CALLS:-$dir/stub-calls.log}
command=$1
shift
input() {
  local name=$1 upper value=
  upper=$(tr '[:lower:]' '[:upper:]' <<<"$name")
  value=$(printenv "ACTIONS_RUNNER_INPUT_$upper")
  set -- "\${@:2}"
  while (($# > 0)); do
    [[ $1 == "--$name" ]] && value=$2
    shift
  done
  printf '%s' "$value"
}
args=("$@")
url=$(input url "\${args[@]}")
token=$(input token "\${args[@]}")
name=$(input name "\${args[@]}")
jitconfig=$(input jitconfig "\${args[@]}")
# The runner keeps its inputs and deletes them from its environment: its children never see them.
while read -r variable; do unset "$variable"; done < <(compgen -e | grep '^ACTIONS_RUNNER_INPUT_')

# github.com's API is api.github.com; GitHub Enterprise Server's is /api/v3 on the server.
api_of() {
  local origin
  origin=$(sed -E 's#^(https?://[^/]+).*#\\1#' <<<"$1")
  if [[ $origin == https://github.com ]]; then echo https://api.github.com; else echo "$origin/api/v3"; fi
}
registration() {
  printf 'header = "Authorization: RemoteAuth %s"\\n' "$2" |
    curl --silent --show-error --fail --config - --request POST \\
      --header 'Content-Type: application/json' --data "$3" "$(api_of "$1")/actions/runner-registration"
}

case $command in
--version)
  # What the real listener prints (its release's version), loading its .NET files on the way.
  echo "Runner.Listener --version" >> "$calls"
  echo "\${STUB_VERSION:-2.330.0}"
  ;;
configure)
  if [[ -z $url || -z $token ]]; then
    echo "--url and --token are required"
    exit 1
  fi
  if [[ \${STUB_RUN:-} == refused ]]; then
    # GitHub's refusal to register a release below its minimum, as config.sh prints it.
    echo "Your runner version is out of date and can no longer register with GitHub."
    echo "The minimum runner version required to register with GitHub Actions is now 2.329.0."
    exit 1
  fi
  answer=$(registration "$url" "$token" "$(jq -n --arg url "$url" --arg name "\${name:-$HOSTNAME}" \\
    '{url: $url, runner_event: "register", name: $name}')") || {
    echo "Http response code: Unauthorized from 'POST $(api_of "$url")/actions/runner-registration'"
    exit 1
  }
  jq --arg url "$url" '{AgentId: (.id | tostring), AgentName: .name, GitHubUrl: $url}' <<<"$answer" >"$dir/.runner"
  echo '{"Scheme": "OAuth"}' >"$dir/.credentials"
  echo "√ Runner successfully added"
  echo "√ Settings Saved."
  ;;
remove)
  if [[ ! -f $dir/.runner ]]; then
    echo "The runner is not configured."
    exit 0
  fi
  registration "$(jq -r .GitHubUrl "$dir/.runner")" "$token" \\
    "$(jq '{url: .GitHubUrl, runner_event: "remove", runner_id: (.AgentId | tonumber)}' "$dir/.runner")" >/dev/null || {
    echo "Failed: removing the runner from the server"
    exit 1
  }
  rm -f "$dir/.runner" "$dir/.credentials"
  echo "√ Runner removed successfully"
  ;;
run)
  if [[ -n $jitconfig ]]; then
    # A JIT config is base64 of {"file name": "base64 of the file", ...}.
    base64 -d <<<"$jitconfig" | jq -r 'to_entries[] | "\\(.key) \\(.value)"' |
      while read -r file content; do base64 -d <<<"$content" >"$dir/$file"; done
  fi
  if [[ ! -f $dir/.runner ]]; then
    echo "Not configured. Run config.(sh/cmd) to configure the runner."
    exit 1
  fi
  trap 'echo "Runner.Listener stopped" >> "$calls"; echo "Exiting..."; exit 0' INT TERM
  echo "√ Connected to GitHub"
  echo "Listening for Jobs"
  if [[ \${STUB_RUN:-idle} == refused ]]; then
    # GitHub's refusal of a runner release it no longer allows, as the listener prints it, and exits 0.
    echo "An error occured: Runner version v\${STUB_VERSION:-2.330.0} is deprecated and cannot receive messages."
    echo "Runner listener exit with terminated error, stop the service, no retry needed."
    exit 0
  fi
  if [[ \${STUB_RUN:-idle} == job ]]; then
    sleep "\${STUB_JOB_AFTER:-0.2}" &
    wait $!
    mkdir -p "$dir/_diag"
    touch "$dir/_diag/Worker_$(date -u +%Y%m%d-%H%M%S)-utc.log"
    echo "Running job: stub"
    bash -c 'env > "$0/stub-job-env.txt"; if command -v docker >/dev/null; then docker info --format "{{.ServerVersion}}" > "$0/stub-job-docker.txt" 2>&1; fi' "$dir"
    sleep "\${STUB_JOB_SECONDS:-0}" &
    wait $!
    echo "Job stub completed with result: Succeeded"
    exit "\${STUB_JOB_EXIT:-0}"
  fi
  while :; do
    sleep 1 &
    wait $!
  done
  ;;
*)
  echo "unknown command $command"
  exit 1
  ;;
esac`,
};

/** `dockerd` and `docker` for the entry point test, which runs without a Docker engine. */
const STUB_DOCKER: Record<string, string> = {
  'bin/dockerd': `#!/usr/bin/env bash
echo "dockerd started $*" >> "$CALLS"
env > "$STUB_DIR/dockerd-env.txt"
touch "$STUB_DIR/docker-ready"
sleep 60 &
trap 'kill $!; echo "dockerd stopped" >> "$CALLS"; exit 0' TERM
wait $!`,
  'bin/docker': `#!/usr/bin/env bash
[[ -e "$STUB_DIR/docker-ready" ]]`,
};

async function writeExecutables(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const file = join(dir, path);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, `${text}\n`);
    await chmod(file, 0o755);
  }
}

export interface StubRelease {
  /** The `.tar.gz`, laid out as GitHub's runner release. */
  readonly archive: string;
  readonly sha256: string;
}

/** Packs the stub release as GitHub packs the runner: its files at the archive's root. */
export async function packStubRelease(): Promise<StubRelease> {
  const dir = await mkdtemp(join(tmpdir(), 'runner-release-'));
  await writeExecutables(join(dir, 'release'), STUB_RELEASE);
  const archive = join(dir, 'actions-runner-linux-stub.tar.gz');
  await promisify(execFile)('tar', ['-czf', archive, '-C', join(dir, 'release'), '.']);
  const sha256 = createHash('sha256')
    .update(await readFile(archive))
    .digest('hex');
  return { archive, sha256 };
}

export interface FileServer {
  /** The address of the file, with `{arch}` for the Dockerfile to fill in. */
  readonly url: string;
  /** The paths asked for. */
  readonly paths: string[];
  close(): Promise<void>;
}

/** Serves one file on 127.0.0.1 at any path, as a release download would. */
export async function serveFile(file: string): Promise<FileServer> {
  const body = await readFile(file);
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(request.url ?? '');
    response.writeHead(200, { 'content-type': 'application/gzip' }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/actions-runner-linux-{arch}-stub.tar.gz`,
    paths,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * A JIT config as GitHub's generate-jitconfig encodes it: base64 of the runner's files, each in
 * base64. The stub listener writes them into the runner folder, as the real one does.
 */
export function jitConfigFor(name: string, url: string): string {
  const file = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');
  return file({
    '.runner': file({ AgentId: '7', AgentName: name, GitHubUrl: url, Ephemeral: 'true' }),
    '.credentials': file({ Scheme: 'OAuthAccessToken', Data: { ClientId: 'jit-client-0123' } }),
  });
}

export interface RunnerStubs {
  readonly dir: string;
  readonly runnerHome: string;
  readonly calls: () => Promise<string[]>;
  /** The environment of the stub's job. */
  readonly jobEnv: () => Promise<string>;
  /** The environment dockerd started with. */
  readonly dockerdEnv: () => Promise<string>;
  /** The runner's `.runner` file: what it registered as, or what its JIT config said. */
  readonly runnerFile: () => Promise<Record<string, string>>;
  readonly env: Record<string, string>;
}

export async function createRunnerStubs(): Promise<RunnerStubs> {
  const dir = await mkdtemp(join(tmpdir(), 'runner-image-'));
  const runnerHome = join(dir, 'runner');
  await writeExecutables(runnerHome, STUB_RELEASE);
  await writeExecutables(dir, STUB_DOCKER);
  const callsFile = join(dir, 'calls.log');
  await writeFile(callsFile, '');
  return {
    dir,
    runnerHome,
    calls: async () => (await readFile(callsFile, 'utf8')).split('\n').filter((line) => line !== ''),
    jobEnv: () => readFile(join(runnerHome, 'stub-job-env.txt'), 'utf8'),
    dockerdEnv: () => readFile(join(dir, 'dockerd-env.txt'), 'utf8'),
    runnerFile: async () =>
      JSON.parse(await readFile(join(runnerHome, '.runner'), 'utf8')) as Record<string, string>,
    env: {
      PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
      CALLS: callsFile,
      STUB_DIR: dir,
      RUNNER_HOME: runnerHome,
      RUNNER_ALLOW_RUNASROOT: '1',
      DOCKERD_LOG: join(dir, 'dockerd.log'),
    },
  };
}

export interface GitHubApiStandIn {
  readonly url: string;
  readonly requests: Array<{ method: string; path: string; authorization: string | undefined }>;
  /** The runners registered through `config.sh` and not removed, by id. */
  readonly runners: Map<number, { name: string }>;
  close(): Promise<void>;
}

/** The registration token the stand-in's runner registration accepts (what the function mints and the env file carries). */
export const REGISTRATION_TOKEN = 'REG-TOKEN-1';
const REMOVE_TOKEN = 'REMOVE-TOKEN-1';

/**
 * GitHub on 127.0.0.1 for one admin token: the runners API's registration and remove tokens, and
 * the runner registration `config.sh` calls with them (`POST /api/v3/actions/runner-registration`,
 * GitHub Enterprise Server's path). The real registration goes on to the Actions service to add
 * or delete the runner; the stand-in does that in this one call.
 */
export async function startGitHubApiStandIn(adminToken: string): Promise<GitHubApiStandIn> {
  const requests: GitHubApiStandIn['requests'] = [];
  const runners: GitHubApiStandIn['runners'] = new Map();
  let nextRunnerId = 1;
  const registration = (authorization: string | undefined, text: string): [number, unknown] => {
    const body = JSON.parse(text || '{}') as { runner_event?: string; name?: string; runner_id?: number };
    if (body.runner_event === 'register' && authorization === `RemoteAuth ${REGISTRATION_TOKEN}`) {
      const id = nextRunnerId++;
      runners.set(id, { name: body.name ?? '' });
      return [200, { id, name: body.name }];
    }
    if (body.runner_event === 'remove' && authorization === `RemoteAuth ${REMOVE_TOKEN}`) {
      return runners.delete(body.runner_id ?? 0) ? [200, {}] : [404, { message: 'Not Found' }];
    }
    return [401, { message: 'Bad credentials' }];
  };
  const server: Server = createServer((request, response) => {
    const path = request.url ?? '';
    requests.push({ method: request.method ?? '', path, authorization: request.headers.authorization });
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    request.on('end', () => {
      const kind = /\/actions\/runners\/(registration-token|remove-token)$/.exec(path)?.[1];
      const [status, body] =
        path === '/api/v3/actions/runner-registration' && request.method === 'POST'
          ? registration(request.headers.authorization, text)
          : request.headers.authorization !== `Bearer ${adminToken}`
            ? [401, { message: 'Bad credentials' }]
            : request.method !== 'POST' || kind === undefined
              ? [404, { message: 'Not Found' }]
              : [
                  201,
                  {
                    token: kind === 'registration-token' ? REGISTRATION_TOKEN : REMOVE_TOKEN,
                    expires_at: '2099-01-01T00:00:00Z',
                  },
                ];
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    runners,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
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
