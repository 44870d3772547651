import { randomUUID } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';

/** One payload to deliver, with where it came from (for the report). */
export interface Delivery {
  readonly source: string;
  readonly body: string;
  readonly event: string;
}

/** The answer to one delivery. */
export interface DeliveryResult {
  readonly delivery: Delivery;
  readonly deliveryId: string;
  readonly status: number;
  readonly body: string;
  readonly ms: number;
}

/** Infers the `X-GitHub-Event` of a payload, as GitHub would have sent it. */
export function inferEvent(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  if ('workflow_job' in payload) return 'workflow_job';
  if ('zen' in payload && 'hook_id' in payload) return 'ping';
  if ('workflow_run' in payload) return 'workflow_run';
  return undefined;
}

/**
 * Reads payloads from a `.json` file, a `.jsonl` file (one payload a line) or a folder of
 * `.json` files (in name order). The body is sent exactly as read, as GitHub would.
 * @throws Error naming the file and what to fix when a payload is not JSON or its event is unknown.
 */
export async function readDeliveries(paths: readonly string[], event?: string): Promise<Delivery[]> {
  const deliveries: Delivery[] = [];
  const add = (source: string, body: string) => {
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      throw new Error(`${source} is not JSON`);
    }
    const name = event ?? inferEvent(payload);
    if (name === undefined)
      throw new Error(`${source}: cannot tell the event of this payload; pass --event NAME`);
    deliveries.push({ source, body, event: name });
  };
  for (const path of paths) {
    if ((await stat(path)).isDirectory()) {
      const files = (await readdir(path)).filter((file) => extname(file) === '.json').sort();
      for (const file of files) add(join(path, file), await readFile(join(path, file), 'utf8'));
    } else if (extname(path) === '.jsonl') {
      const lines = (await readFile(path, 'utf8')).split('\n');
      lines.forEach((line, index) => {
        if (line.trim() !== '') add(`${path}:${index + 1}`, line);
      });
    } else {
      add(path, await readFile(path, 'utf8'));
    }
  }
  return deliveries;
}

/** Signs a delivery like GitHub (`X-Hub-Signature-256`) and posts it; network errors become status 0. */
export async function deliver(url: string, secret: string, delivery: Delivery): Promise<DeliveryResult> {
  const deliveryId = randomUUID();
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/replay',
        'x-github-delivery': deliveryId,
        'x-github-event': delivery.event,
        'x-hub-signature-256': await sign(secret, delivery.body),
      },
      body: delivery.body,
      signal: AbortSignal.timeout(30_000),
    });
    return {
      delivery,
      deliveryId,
      status: response.status,
      body: await response.text(),
      ms: performance.now() - started,
    };
  } catch (error) {
    const reason =
      error instanceof Error
        ? `${error.message}${error.cause ? ` (${String(error.cause)})` : ''}`
        : String(error);
    return {
      delivery,
      deliveryId,
      status: 0,
      body: `not delivered: ${reason}`,
      ms: performance.now() - started,
    };
  }
}
