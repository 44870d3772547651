/**
 * Warm per event: one process imports the built webhook and answers thousands of deliveries of
 * each kind, one at a time, through the real SDK to loopback stand-ins. Each event is built and
 * signed before its timer starts: signing is GitHub's work, not ours.
 *
 * Budgets are multiples of `S`: one RunTask call of our own ECS client to the same stand-in, with
 * the request the webhook itself sent, timed in the same process alternately with the queued jobs,
 * so both see the same machine. A queued job must make that call; what it does besides is ours.
 */
import { randomUUID } from 'node:crypto';
import type { RunTaskCommandInput } from '@aws-sdk/client-ecs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { lazyEcsApi } from '../shared/ecs/ecs-api';
import type { WebhookResponse } from '../shared/webhook/http';
import { githubHostedQueued, jobOfOurs } from '../test/fixtures/payloads';
import { httpApiEvent, signedRequest } from '../test/fixtures/requests';
import { startEcsStandIn } from '../test/support/ecs-stand-in';
import { startSecretsManagerStandIn } from '../test/support/secrets-manager-stand-in';
import { STORED_SECRETS, webhookEnv } from './bench-env';
import { type Figure, ratioAtMost, type Scenario } from './figures';
import { summarize } from './statistics';
import { reply, runWorker } from './worker';

const KINDS = {
  ours: { name: 'queued job of ours (RunTask to the stand-in)', status: 200 },
  ignored: { name: 'ignored event (GitHub-hosted job)', status: 202 },
  badSignature: { name: 'bad signature', status: 401 },
} as const;
type KindId = keyof typeof KINDS;

/** Unmeasured deliveries of each kind first, so the figures are of a warm process. */
const WARM_UP = 100;

const eventOf = async (kind: KindId, i: number): Promise<APIGatewayProxyEventV2> => {
  if (kind === 'ignored') return httpApiEvent(await signedRequest(githubHostedQueued()));
  const payload = jobOfOurs({ jobId: 9_000_000_000 + i });
  return httpApiEvent(
    await signedRequest(payload, kind === 'badSignature' ? { secret: 'not-the-secret' } : {}),
  );
};

/** The worker's side: milliseconds per event, by kind. */
export async function warmWorker(events: number): Promise<never> {
  const module = process.env.BENCH_MODULE;
  if (!module) throw new Error('BENCH_MODULE is not set');
  // The stand-ins share this process: a round trip to another process waits on the scheduler,
  // which on a busy two-core machine adds milliseconds that are not the webhook's.
  const [ecs, secretsManager] = await Promise.all([
    startEcsStandIn(),
    startSecretsManagerStandIn(STORED_SECRETS),
  ]);
  process.env.AWS_ENDPOINT_URL_ECS = ecs.url;
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secretsManager.url;
  const { handler } = (await import(module)) as {
    handler: (event: APIGatewayProxyEventV2) => Promise<WebhookResponse>;
  };
  const ecsApi = lazyEcsApi();
  /** S: our ECS client sends the webhook's last RunTask request again, under a fresh token. */
  const runTaskAlone = async () => {
    const sent = ecs.calls.findLast((call) => call.operation === 'RunTask');
    if (sent === undefined) throw new Error('the webhook sent no RunTask to copy');
    const input = { ...sent.input, clientToken: randomUUID() } as RunTaskCommandInput;
    const { client, sdk } = await ecsApi();
    const started = performance.now();
    await client.send(new sdk.RunTaskCommand(input));
    return performance.now() - started;
  };
  const samples = { runTask: [] } as unknown as Record<KindId | 'runTask', number[]>;
  let serial = 0;
  for (const [kind, { status }] of Object.entries(KINDS) as Array<[KindId, (typeof KINDS)[KindId]]>) {
    const times: number[] = [];
    for (let i = -WARM_UP; i < events; i++) {
      const event = await eventOf(kind, serial++);
      const started = performance.now();
      const response = await handler(event);
      const elapsed = performance.now() - started;
      if (response.statusCode !== status) {
        throw new Error(`${kind}: answered ${response.statusCode} (${response.body}), expected ${status}`);
      }
      if (i >= 0) times.push(elapsed);
      if (kind === 'ours') {
        const reference = await runTaskAlone();
        if (i >= 0) samples.runTask.push(reference);
      }
    }
    samples[kind] = times;
  }
  const calls = {
    // The reference calls are the bench's, not the webhook's.
    ecs: ecs.calls.length - (events + WARM_UP),
    secretsManager: secretsManager.calls.length,
  };
  return reply({ value: { samples, calls } satisfies WarmResult });
}

interface WarmResult {
  readonly samples: Record<KindId | 'runTask', number[]>;
  readonly calls: { readonly ecs: number; readonly secretsManager: number };
}

export const warmPerEvent: Scenario = {
  name: 'warm',
  async run({ events, progress }) {
    progress(`warm: ${events} events of each kind in one process`);
    const { samples, calls } = await runWorker<WarmResult>('warm', webhookEnv({}), [
      '--events',
      String(events),
    ]);
    // Medians as multiples of S (issue 11).
    const limits: Record<KindId, number> = { ours: 1.25, ignored: 0.1, badSignature: 0.1 };
    const reference = summarize(samples.runTask);
    const figures = (Object.keys(KINDS) as KindId[]).map((kind): Figure => {
      const summary = summarize(samples[kind]);
      const ratio = summary.median / reference.median;
      return {
        scenario: 'warm per event',
        name: KINDS[kind].name,
        unit: 'ms',
        summary,
        ratio: { of: 'S', value: ratio },
        budget: ratioAtMost(ratio, limits[kind], `median ≤ ${limits[kind]} S`),
      };
    });
    return [
      {
        scenario: 'warm per event',
        name: 'S: one RunTask of our ECS client to the same stand-in',
        unit: 'ms',
        summary: reference,
      },
      ...figures,
      {
        scenario: 'warm per event',
        name: 'ECS calls per queued job of ours',
        unit: 'count',
        value: calls.ecs / (events + WARM_UP),
      },
      {
        scenario: 'warm per event',
        name: 'Secrets Manager calls in the warm process',
        unit: 'count',
        value: calls.secretsManager,
      },
    ];
  },
};
