import { createWebhookDependencies } from '../../shared/dependencies';
import { createWebhookHandler } from '../../shared/webhook/handle-webhook';
import type { WebhookResponse } from '../../shared/webhook/http';
import { fromLambdaEvent, type WebhookLambdaEvent } from '../../shared/webhook/lambda-event';

// Built at cold start: a wrong environment fails here, with every problem in one message.
const handle = createWebhookHandler(createWebhookDependencies());

/** API Gateway (REST or HTTP API) or function URL → the webhook → the platform's response. */
export const handler = async (event: WebhookLambdaEvent): Promise<WebhookResponse> =>
  handle(fromLambdaEvent(event));
