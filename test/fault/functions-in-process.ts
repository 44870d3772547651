/**
 * The deployed functions of the job lifecycle, in process and sharing one ledger (as they share the
 * table when deployed), each on a clock `offsetMs` from now; and deliveries with concurrency.
 */
import { createDependencies, createWebhookDependencies } from '../../shared/dependencies';
import { createMemoryJobLedger } from '../../shared/jobs/job-ledger';
import { createReconciler } from '../../shared/jobs/reconciler';
import { createWebhookHandler } from '../../shared/webhook/handle-webhook';

export function functionsInProcess(env: () => Record<string, string>) {
  const ledger = createMemoryJobLedger();
  const options = (offsetMs: number) => ({
    env: env(),
    now: () => Date.now() + offsetMs,
    overrides: { ledger },
  });
  return {
    webhook: (offsetMs = 0) => createWebhookHandler(createWebhookDependencies(options(offsetMs))),
    reconcile: (offsetMs = 0) => createReconciler(createDependencies(options(offsetMs))).reconcile(),
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
