import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createQueuedJobHandler, type QueuedJobDependencies } from './launch-queued-job';

/**
 * The launcher function: SQS → one launch per message, one at a time (it shares RunTask's rate
 * with the webhook), reporting failed messages as partial batch failures (Powertools batch).
 */
export function createLauncherHandler(
  deps: QueuedJobDependencies,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const handleRecord = createQueuedJobHandler(deps);
  const processor = new BatchProcessor(EventType.SQS);
  return (event, context) =>
    processPartialResponse(event, handleRecord, processor, {
      context,
      processInParallel: false,
      // Report every failed message (with its own retry delay) rather than failing the invocation.
      throwOnFullBatchFailure: false,
    });
}
