import type { LambdaClient } from '@aws-sdk/client-lambda';
import { boundedRequestHandler } from '../call-timeout';
import { CAPACITY_SOURCE, INSTANCE_WANTED } from './capacity-events';

/** How long a function waits for the capacity function to take a request (an async invoke answers at once). */
const ASK_TIMEOUT_MS = 1_500;

/** The request for an instance of a group, as an EventBridge-shaped event: the capacity function reads one shape. */
export const instanceWantedEvent = (group: string) => ({
  source: CAPACITY_SOURCE,
  'detail-type': INSTANCE_WANTED,
  detail: { group },
});

/**
 * Asks the capacity function for an instance: an asynchronous invoke (`InvocationType: Event`),
 * which Lambda queues and retries; with the function's reserved concurrency of one, requests in a
 * burst wait their turn, and each converges the group from the ledgers, so one that is lost only
 * waits for the next request or the minute's round. The SDK loads on first use (endpoint:
 * `AWS_ENDPOINT_URL_LAMBDA`).
 */
export function createLambdaAsk(functionName: string): (group: string) => Promise<void> {
  let loaded: Promise<{ client: LambdaClient; sdk: typeof import('@aws-sdk/client-lambda') }> | undefined;
  return async (group) => {
    loaded ??= import('@aws-sdk/client-lambda').then((sdk) => ({
      client: new sdk.LambdaClient({ maxAttempts: 2, requestHandler: boundedRequestHandler }),
      sdk,
    }));
    const { client, sdk } = await loaded;
    await client.send(
      new sdk.InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(instanceWantedEvent(group))),
      }),
      { abortSignal: AbortSignal.timeout(ASK_TIMEOUT_MS) },
    );
  };
}
