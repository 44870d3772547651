/**
 * Runs part of a scenario in a child process of the bench: the webhook's logs go to its own
 * stdout (dropped, as Lambda ships them elsewhere) and its figures come back over IPC.
 */
import { fork } from 'node:child_process';

/** Forks this bench as `--worker name`, returns the one message the worker sends. */
export async function runWorker<T>(name: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<T> {
  const script = process.argv[1];
  if (script === undefined) throw new Error('cannot tell which script is running');
  const child = fork(script, ['--worker', name, ...args], {
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let result: { value: T } | undefined;
  child.on('message', (message) => {
    result = { value: message as T };
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0 || result === undefined) {
    throw new Error(`worker ${name} exited ${code} without its figures\n${stderr}`);
  }
  return result.value;
}

/** In the worker: sends the figures to the bench and exits once they are sent. */
export function reply(value: unknown): Promise<never> {
  return new Promise((_, reject) => {
    if (!process.send) {
      reject(new Error('a worker must be started by the bench (no IPC channel)'));
      return;
    }
    process.send(value, () => process.exit(0));
  });
}
