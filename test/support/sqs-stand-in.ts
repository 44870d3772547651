/**
 * SQS on loopback, through the real protocol (AWS JSON 1.0, `AmazonSQS.*`), with visibility
 * timeouts, receive counts and a redrive policy to a dead-letter list. Message bodies are limited
 * to 256 KiB and MD5 digests are returned as real SQS does (the SDK checks them).
 */
import { createHash, randomUUID } from 'node:crypto';
import { AwsError, type Fault, type StandIn, startAwsStandIn } from './aws-stand-in';

export interface QueuedMessage {
  readonly id: string;
  readonly body: string;
  receiveCount: number;
  visibleAt: number;
  receiptHandle: string | undefined;
  readonly sentAt: number;
}

export interface SqsStandIn extends StandIn {
  readonly queueUrl: string;
  readonly messages: QueuedMessage[];
  readonly deadLetters: QueuedMessage[];
  /** Everything ever sent, in order. */
  readonly sent: string[];
}

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

export async function startSqsStandIn(
  options: {
    readonly maxReceiveCount?: number;
    readonly visibilityTimeoutSeconds?: number;
    readonly fault?: (operation: string) => Fault | undefined;
    /** Scales every delay (visibility timeouts): 0.01 makes a 10 s delay 100 ms, for tests. */
    readonly timeScale?: number;
  } = {},
): Promise<SqsStandIn> {
  const maxReceiveCount = options.maxReceiveCount ?? 5;
  const scale = options.timeScale ?? 1;
  const visibility = (options.visibilityTimeoutSeconds ?? 30) * 1000 * scale;
  const messages: QueuedMessage[] = [];
  const deadLetters: QueuedMessage[] = [];
  const sent: string[] = [];
  let queueUrl = '';
  const checkQueue = (input: Record<string, unknown>) => {
    if (input.QueueUrl !== queueUrl) {
      throw new AwsError('com.amazonaws.sqs#QueueDoesNotExist', 'The specified queue does not exist.');
    }
  };
  const byHandle = (handle: unknown) => {
    const message = messages.find((m) => m.receiptHandle === handle);
    if (!message)
      throw new AwsError('com.amazonaws.sqs#ReceiptHandleIsInvalid', 'The receipt handle is not valid.');
    return message;
  };
  const standIn = await startAwsStandIn({
    targetPrefix: 'AmazonSQS',
    contentType: 'application/x-amz-json-1.0',
    ...(options.fault && { fault: options.fault }),
    operations: {
      SendMessage: (input) => {
        checkQueue(input);
        const body = String(input.MessageBody ?? '');
        if (body === '' || Buffer.byteLength(body) > 262_144) {
          throw new AwsError(
            'com.amazonaws.sqs#InvalidParameterValue',
            'MessageBody must be 1 byte to 256 KiB.',
          );
        }
        const message: QueuedMessage = {
          id: randomUUID(),
          body,
          receiveCount: 0,
          visibleAt: Date.now(),
          receiptHandle: undefined,
          sentAt: Date.now(),
        };
        messages.push(message);
        sent.push(body);
        return { MessageId: message.id, MD5OfMessageBody: md5(body) };
      },
      ReceiveMessage: (input) => {
        checkQueue(input);
        const max = Number(input.MaxNumberOfMessages ?? 1);
        if (max < 1 || max > 10)
          throw new AwsError('com.amazonaws.sqs#InvalidParameterValue', 'MaxNumberOfMessages is 1 to 10.');
        const now = Date.now();
        const received: QueuedMessage[] = [];
        for (const message of [...messages]) {
          if (received.length >= max) break;
          if (message.visibleAt > now) continue;
          if (message.receiveCount >= maxReceiveCount) {
            messages.splice(messages.indexOf(message), 1);
            deadLetters.push(message);
            continue;
          }
          message.receiveCount++;
          message.receiptHandle = randomUUID();
          message.visibleAt = now + visibility;
          received.push(message);
        }
        return {
          Messages: received.map((m) => ({
            MessageId: m.id,
            ReceiptHandle: m.receiptHandle,
            Body: m.body,
            MD5OfBody: md5(m.body),
            Attributes: { ApproximateReceiveCount: String(m.receiveCount), SentTimestamp: String(m.sentAt) },
          })),
        };
      },
      DeleteMessage: (input) => {
        checkQueue(input);
        messages.splice(messages.indexOf(byHandle(input.ReceiptHandle)), 1);
        return {};
      },
      ChangeMessageVisibility: (input) => {
        checkQueue(input);
        const seconds = Number(input.VisibilityTimeout);
        if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) {
          throw new AwsError('com.amazonaws.sqs#InvalidParameterValue', 'VisibilityTimeout is 0 to 43200.');
        }
        byHandle(input.ReceiptHandle).visibleAt = Date.now() + seconds * 1000 * scale;
        return {};
      },
    },
  });
  // A real queue URL, as the stack passes it: the client must reach the stand-in through
  // AWS_ENDPOINT_URL_SQS, not through the URL's host (the SDK's useQueueUrlAsEndpoint trap).
  queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/runner-overflow';
  return { ...standIn, queueUrl, messages, deadLetters, sent };
}
