/**
 * Runs part of a scenario in a child process of the bench: the webhook's logs go to its own
 * stdout (dropped, as Lambda ships them elsewhere) and its figures come back over IPC.
 */
import { fork } from 'node:child_process';
import { benchNode } from './fresh-process';

/** Forks this bench as `--worker name`, returns the one message the worker sends. */
export async function runWorker<T>(name: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<T> {
  const script = process.argv[1];
  if (script === undefined) throw new Error('cannot tell which script is running');
  // stdout and stderr both to /dev/null: the webhook logs every delivery, on both.
  const child = fork(script, ['--worker', name, ...args], {
    env,
    execPath: benchNode(),
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  let message: WorkerMessage<T> | undefined;
  child.on('message', (received) => {
    message = received as WorkerMessage<T>;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (message && 'error' in message) throw new Error(`worker ${name}: ${message.error}`);
  if (code !== 0 || message === undefined)
    throw new Error(`worker ${name} exited ${code} without its figures`);
  return message.value;
}

type WorkerMessage<T> = { readonly value: T } | { readonly error: string };

/** In the worker: sends the figures (or why there are none) to the bench and exits once sent. */
export function reply(outcome: { value: unknown } | { error: string }): Promise<never> {
  return new Promise((_, reject) => {
    if (!process.send) {
      reject(new Error('a worker must be started by the bench (no IPC channel)'));
      return;
    }
    process.send(outcome, () => process.exit('error' in outcome ? 2 : 0));
  });
}
