/**
 * Warm per event: one process imports the built webhook and answers thousands of deliveries of
 * each kind, one at a time, through the real SDK to loopback stand-ins. Each event is built and
 * signed before its timer starts: signing is GitHub's work, not ours.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { WebhookResponse } from '../shared/webhook/http';
import { githubHostedQueued, jobOfOurs } from '../test/fixtures/payloads';
import { httpApiEvent, signedRequest } from '../test/fixtures/requests';
import { startEcsStandIn } from '../test/support/ecs-stand-in';
import { startSecretsManagerStandIn } from '../test/support/secrets-manager-stand-in';
import { STORED_SECRETS, webhookEnv } from './bench-env';
import { atMost, type Budget, type Figure, type Scenario } from './figures';
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
  const samples = {} as Record<KindId, number[]>;
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
    }
    samples[kind] = times;
  }
  const calls = { ecs: ecs.calls.length, secretsManager: secretsManager.calls.length };
  return reply({ value: { samples, calls } satisfies WarmResult });
}

interface WarmResult {
  readonly samples: Record<KindId, number[]>;
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
    const budgets: Record<KindId, (median: number, p99: number) => Budget> = {
      ours: (median, p99) => ({ text: 'median ≤ 2 ms, p99 ≤ 4 ms', pass: median <= 2 && p99 <= 4 }),
      ignored: (median) => atMost(median, 0.1, 'median ≤ 0.1 ms'),
      badSignature: (median) => atMost(median, 0.1, 'median ≤ 0.1 ms'),
    };
    const figures = (Object.keys(KINDS) as KindId[]).map((kind): Figure => {
      const summary = summarize(samples[kind]);
      return {
        scenario: 'warm per event',
        name: KINDS[kind].name,
        unit: 'ms',
        summary,
        budget: budgets[kind](summary.median, summary.p99),
      };
    });
    return [
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
