import { randomUUID } from 'node:crypto';
import { lazySqs } from '../queue/overflow-queue';
import { CAPACITY_SOURCE, INSTANCE_WANTED } from './capacity-events';

/** How long a function waits for the capacity queue to take a request. */
const ASK_TIMEOUT_MS = 1_500;

/** The FIFO message group of every capacity event: one at a time, in order. */
export const CAPACITY_MESSAGE_GROUP = 'capacity';

/**
 * The request for an instance of a group, as an EventBridge-shaped event (the capacity function
 * reads one shape). `at` and `id` make every request its own message: the queue's content-based
 * deduplication drops only a repeated send of the same request.
 */
export const instanceWantedEvent = (group: string, at = new Date()) => ({
  id: randomUUID(),
  source: CAPACITY_SOURCE,
  'detail-type': INSTANCE_WANTED,
  time: at.toISOString(),
  detail: { group },
});

/**
 * Asks the capacity function for an instance through its FIFO queue (`CAPACITY_QUEUE_URL`), the
 * one queue every capacity event goes through (EventBridge's rules and schedule too): the function
 * takes them one batch at a time, in order, with no throttling, and converges each group a batch
 * names once. A request that is lost only waits for the next one or the minute's round.
 */
export function createQueueAsk(queueUrl: string, sqs = lazySqs()): (group: string) => Promise<void> {
  return async (group) => {
    const { client, sdk } = await sqs();
    await client.send(
      new sdk.SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(instanceWantedEvent(group)),
        MessageGroupId: CAPACITY_MESSAGE_GROUP,
      }),
      { abortSignal: AbortSignal.timeout(ASK_TIMEOUT_MS) },
    );
  };
}
