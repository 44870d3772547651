/**
 * The job lifecycle's world for the fault suites: ECS, S3 and GitHub on loopback (the real clients
 * reach them), and the deployed functions in process, sharing one ledger (as they share the table
 * when deployed), each on a clock `offsetMs` from now.
 */
import { createDependencies, createWebhookDependencies } from '../../shared/dependencies';
import { createMemoryJobLedger, type JobLedger } from '../../shared/jobs/job-ledger';
import type { JobRecord } from '../../shared/jobs/job-record';
import { createReconciler } from '../../shared/reconcile/reconciler';
import { createWebhookHandler } from '../../shared/webhook/handle-webhook';
import { TEST_SECRET } from '../fixtures/requests';
import { type EcsStandInOptions, startEcsStandIn } from '../support/ecs-stand-in';
import { startGitHubStandIn } from '../support/github-stand-in';
import { RUNNER_CONFIG_BUCKET, startS3Server } from '../support/s3-server';

const TOKEN = 'ghp_fault_suite_token';

export async function startLifecycleWorld(options: {
  readonly ecs: EcsStandInOptions;
  /** The functions' settings beyond the world's own (cluster, GitHub, bucket, secret). */
  readonly env?: Readonly<Record<string, string>>;
  /** The ledger every function shares, made from the in-memory one (e.g. one that loses answers). */
  readonly ledger?: (memory: JobLedger) => JobLedger;
}) {
  const ecs = await startEcsStandIn(options.ecs);
  const github = await startGitHubStandIn({ token: TOKEN });
  const s3 = await startS3Server();
  process.env.AWS_ENDPOINT_URL_ECS = ecs.url;
  process.env.AWS_ENDPOINT_URL_S3 = s3.url;
  const env = {
    WEBHOOK_SECRET: TEST_SECRET,
    ECS_CLUSTER: 'runners',
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: github.url,
    RUNNER_CONFIG_BUCKET,
    ...options.env,
  };
  const memory = createMemoryJobLedger();
  const ledger = options.ledger?.(memory) ?? memory;
  const at = (offsetMs: number) => ({ env, now: () => Date.now() + offsetMs, overrides: { ledger } });
  return {
    ecs,
    github,
    s3,
    ledger,
    webhook: (offsetMs = 0) => createWebhookHandler(createWebhookDependencies(at(offsetMs))),
    reconcile: (offsetMs = 0) => createReconciler(createDependencies(at(offsetMs))).reconcile(),
    close: () => Promise.all([ecs.close(), github.close(), s3.close()]),
  };
}

/** Runs `work` over `items`, `concurrency` at a time. */
export async function inParallel<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/**
 * A ledger whose writes land but whose calls `loses` picks fail without an answer (a timeout after
 * the write): the caller cannot tell whether its write landed. Counts what it lost.
 */
export function losingAnswers(
  ledger: JobLedger,
  loses: (next: JobRecord, expectedVersion: number | undefined) => boolean,
): JobLedger & { readonly lost: () => number } {
  let lost = 0;
  return {
    ...ledger,
    async put(next, expectedVersion, signal) {
      const written = await ledger.put(next, expectedVersion, signal);
      if (written === undefined || !loses(next, expectedVersion)) return written;
      lost++;
      // Every answer of the SDK's tries was lost: the call fails though its write landed. (One lost
      // answer is recognised by the DynamoDB ledger's write id: scenario 2 shows it on dynalite.)
      throw Object.assign(new Error('no answer from DynamoDB within the call timeout'), {
        name: 'TimeoutError',
      });
    },
    lost: () => lost,
  };
}
