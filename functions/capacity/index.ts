import { type CapacityEvent, parseCapacityEvent } from '../../shared/capacity/capacity-events';
import { createCapacityFromDependencies } from '../../shared/capacity/capacity-function';
import { createDependencies } from '../../shared/dependencies';

// Built at cold start: a wrong environment fails here, with every problem in one message.
const deps = createDependencies({
  env: { POWERTOOLS_SERVICE_NAME: 'github-runners-capacity', ...process.env },
});
const capacity = createCapacityFromDependencies(deps);

/** The records of an SQS batch (the capacity queue), or undefined for a direct invocation. */
const sqsBodies = (event: unknown): string[] | undefined => {
  const records = (event as { Records?: Array<{ eventSource?: string; body?: string }> }).Records;
  if (!Array.isArray(records) || records.some((record) => record.eventSource !== 'aws:sqs')) return undefined;
  return records.map((record) => record.body ?? '');
};

/**
 * The capacity queue's batches (FIFO, one message group: EventBridge's events of Auto Scaling,
 * container instances, tasks, Spot warnings and the minute's schedule, and our functions' requests
 * for an instance), one batch at a time: the one writer of the groups' desired counts. A direct
 * invocation with one event (an operator's test) is taken too.
 */
export const handler = async (event: unknown) => {
  const bodies = sqsBodies(event);
  const parsed: CapacityEvent[] = [];
  for (const body of bodies ?? [JSON.stringify(event)]) {
    try {
      const one = parseCapacityEvent(JSON.parse(body));
      if (one !== undefined) parsed.push(one);
    } catch (error) {
      // A message that is no capacity event is a bug of a rule or a sender: said, and dropped.
      deps.logger.error('not a capacity event', { reason: (error as Error).message });
    }
  }
  try {
    const summaries = await capacity.handleBatch(parsed);
    for (const summary of summaries) deps.logger.info('capacity event', { ...summary });
    return { batchItemFailures: [] };
  } finally {
    deps.metrics.publishStoredMetrics();
  }
};
