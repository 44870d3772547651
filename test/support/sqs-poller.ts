/**
 * What Lambda's SQS event source mapping does, for tests: receive a batch through the real SQS
 * client, invoke the function with an SQS event, delete the messages it did not report as failed.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

export type SqsFunction = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const context = {
  functionName: 'launcher',
  awsRequestId: 'test',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

/** Polls until `until()` holds or `timeoutMs` passes; returns the number of invocations. */
export async function pollQueue(
  queueUrl: string,
  fn: SqsFunction,
  options: {
    readonly until: () => boolean;
    readonly timeoutMs: number;
    readonly batchSize?: number;
    readonly concurrency?: number;
  },
): Promise<number> {
  // Lambda's event source mapping, played here: it reaches the stand-in whatever the queue URL's host.
  const client = new SQSClient({ useQueueUrlAsEndpoint: false });
  const deadline = Date.now() + options.timeoutMs;
  let invocations = 0;
  const poller = async () => {
    while (!options.until() && Date.now() < deadline) {
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: options.batchSize ?? 10,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      if (Messages.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      const event: SQSEvent = {
        Records: Messages.map((m) => ({
          messageId: m.MessageId ?? '',
          receiptHandle: m.ReceiptHandle ?? '',
          body: m.Body ?? '',
          attributes: {
            ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
            SentTimestamp: m.Attributes?.SentTimestamp ?? '0',
            SenderId: 'test',
            ApproximateFirstReceiveTimestamp: '0',
          },
          messageAttributes: {},
          md5OfBody: m.MD5OfBody ?? '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:runner-overflow',
          awsRegion: 'us-east-1',
        })),
      };
      invocations++;
      const { batchItemFailures } = await fn(event, context);
      const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
      for (const record of event.Records) {
        if (!failed.has(record.messageId)) {
          // A message whose visibility ran out during the batch was received again: its old receipt
          // handle is no longer valid, and the newer receipt is handled (and deleted) on its own.
          await client
            .send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle }))
            .catch((error: { name?: string }) => {
              if (!String(error.name).includes('ReceiptHandleIsInvalid')) throw error;
            });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 1 }, poller));
  return invocations;
}
