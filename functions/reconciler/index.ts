import { createDependencies } from '../../shared/dependencies';
import { createReconciler, type ReconcileSummary } from '../../shared/reconcile/reconciler';

// Built at cold start: a wrong environment fails here, with every problem in one message.
const deps = createDependencies({
  env: { POWERTOOLS_SERVICE_NAME: 'github-runners-reconciler', ...process.env },
});
const reconciler = createReconciler(deps);

/**
 * Scheduled every minute: the reconciler drives each open job to exactly one live runner task and
 * stops only idle runners.
 */
export const handler = async (): Promise<ReconcileSummary> => {
  // Leave the Lambda time to publish what it did; a round cut short resumes next minute.
  const summary = await reconciler.reconcile(AbortSignal.timeout(50_000));
  deps.metrics.publishStoredMetrics();
  deps.logger.info('reconcile round', { ...summary });
  return summary;
};
