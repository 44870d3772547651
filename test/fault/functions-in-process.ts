/**
 * The job lifecycle's world for the fault suites: ECS, S3 and GitHub on loopback (the real clients
 * reach them), and the deployed functions in process, sharing one ledger (as they share the table
 * when deployed), each on a clock `offsetMs` from now.
 */
import { createDependencies, createWebhookDependencies } from '../../shared/dependencies';
import { createMemoryJobLedger } from '../../shared/jobs/job-ledger';
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
  const ledger = createMemoryJobLedger();
  const at = (offsetMs: number) => ({ env, now: () => Date.now() + offsetMs, overrides: { ledger } });
  return {
    ecs,
    github,
    s3,
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
