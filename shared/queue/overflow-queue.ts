import type { SQSClient } from '@aws-sdk/client-sqs';
import { boundedRequestHandler } from '../call-timeout';
import { parseWorkflowJob, type WorkflowJobEvent } from '../runner/workflow-job';

/** A job the webhook could not start a task for in time, handed to `functions/launcher`. */
export interface OverflowMessage {
  readonly version: 1;
  readonly deliveryId: string | undefined;
  /** The delivery's payload fields we use, as `parseWorkflowJob` read them. */
  readonly job: WorkflowJobEvent;
  /** Why the webhook could not start the task. */
  readonly reason: string;
  readonly enqueuedAt: string;
}

/** The port to the overflow queue. */
export interface OverflowQueue {
  send(message: OverflowMessage, signal?: AbortSignal): Promise<void>;
}

type SqsModule = typeof import('@aws-sdk/client-sqs');

/**
 * The SQS client and commands, loaded on first use; the endpoint only from the SDK's settings. The
 * SDK sends to the queue URL's own host unless told otherwise (`useQueueUrlAsEndpoint`): with
 * `AWS_ENDPOINT_URL_SQS` set, the endpoint setting wins, as README promises.
 */
export function lazySqs(): () => Promise<{ client: SQSClient; sdk: SqsModule }> {
  let loaded: Promise<{ client: SQSClient; sdk: SqsModule }> | undefined;
  return () => {
    loaded ??= import('@aws-sdk/client-sqs').then((sdk) => ({
      // The SDK reads its endpoint settings from the process environment: so does this check.
      client: new sdk.SQSClient({
        useQueueUrlAsEndpoint: process.env.AWS_ENDPOINT_URL_SQS === undefined,
        requestHandler: boundedRequestHandler,
      }),
      sdk,
    }));
    return loaded;
  };
}

/** The SQS adapter of {@link OverflowQueue}. */
export function createSqsOverflowQueue(queueUrl: string, sqs = lazySqs()): OverflowQueue {
  return {
    async send(message, signal) {
      const { client, sdk } = await sqs();
      await client.send(
        new sdk.SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }),
        signal ? { abortSignal: signal } : {},
      );
    },
  };
}

/** Delays a failed message's next try with `ChangeMessageVisibility` (its receipt handle). */
export function createSqsRetryDelay(
  queueUrl: string,
  sqs = lazySqs(),
): (record: { receiptHandle: string }, seconds: number) => Promise<void> {
  return async (record, seconds) => {
    const { client, sdk } = await sqs();
    await client.send(
      new sdk.ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: seconds,
      }),
    );
  };
}

/**
 * Reads an overflow message, checking the job again as the webhook did.
 * @throws Error saying what is wrong: such a message is a bug, and goes to the dead-letter queue.
 */
export function parseOverflowMessage(body: string): OverflowMessage {
  const parsed = JSON.parse(body) as Partial<OverflowMessage> & { job?: WorkflowJobEvent };
  if (parsed.version !== 1 || typeof parsed.job !== 'object' || parsed.job === null) {
    throw new Error('not an overflow message of version 1');
  }
  const { job } = parsed;
  // Round-trip through the payload checker, so a message can never carry what a delivery could not.
  const checked = parseWorkflowJob({
    action: job.action,
    workflow_job: {
      id: job.job?.id,
      run_id: job.job?.runId,
      run_attempt: job.job?.runAttempt,
      name: job.job?.name,
      labels: job.job?.labels,
      status: job.job?.status,
      created_at: job.job?.createdAt,
    },
    repository: {
      name: job.repository?.name,
      owner: { login: job.repository?.owner, type: job.repository?.ownerType },
      id: job.repository?.id,
      // The visibility decides whether the job may have a runner at all: a message without it
      // (written before it was carried) reads as a repository not said to be private.
      ...(job.repository?.visibility !== undefined && {
        visibility: job.repository.visibility,
        private: job.repository.visibility !== 'public',
      }),
    },
    ...(job.organization !== undefined && { organization: { login: job.organization } }),
    ...(job.enterprise !== undefined && { enterprise: { slug: job.enterprise } }),
  });
  return {
    version: 1,
    deliveryId: typeof parsed.deliveryId === 'string' ? parsed.deliveryId : undefined,
    job: checked,
    reason: String(parsed.reason ?? ''),
    enqueuedAt: String(parsed.enqueuedAt ?? ''),
  };
}
