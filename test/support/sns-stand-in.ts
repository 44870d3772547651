/** SNS on loopback (`ListSubscriptionsByTopic`), through the real query protocol. */

import { startAwsQueryStandIn } from './aws-query-stand-in';
import { AwsError, type StandIn } from './aws-stand-in';

export interface StandInSubscription {
  protocol: string;
  endpoint: string;
  /** Unconfirmed subscriptions are listed with the ARN `PendingConfirmation`, as SNS does. */
  confirmed: boolean;
}

export async function startSnsStandIn(
  topics: Map<string, StandInSubscription[]>,
): Promise<StandIn & { topics: Map<string, StandInSubscription[]> }> {
  const standIn = await startAwsQueryStandIn({
    version: '2010-03-31',
    xmlns: 'http://sns.amazonaws.com/doc/2010-03-31/',
    operations: {
      ListSubscriptionsByTopic: (form) => {
        const topicArn = form.get('TopicArn') ?? '';
        const subscriptions = topics.get(topicArn);
        if (!subscriptions) throw new AwsError('NotFound', 'Topic does not exist', 404);
        return {
          Subscriptions: subscriptions.map((s, i) => ({
            TopicArn: topicArn,
            Protocol: s.protocol,
            Endpoint: s.endpoint,
            Owner: '123456789012',
            SubscriptionArn: s.confirmed
              ? `${topicArn}:0000000${i}-aaaa-bbbb-cccc-dddddddddddd`
              : 'PendingConfirmation',
          })),
        };
      },
    },
  });
  return { ...standIn, topics };
}
