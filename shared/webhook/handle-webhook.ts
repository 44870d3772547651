import { HttpError } from '../errors';
import { METRIC } from '../metrics';
import type { WebhookSecrets } from '../secrets/webhook-secrets';
import { errorResponse, jsonResponse, type WebhookRequest, type WebhookResponse } from './http';
import { readDelivery, sourceAllowed } from './read-delivery';
import { type ServeJobDependencies, serveJob } from './serve-job';

/** What the webhook needs: what serving a job needs, and the secrets deliveries are signed with. */
export interface WebhookDependencies extends ServeJobDependencies {
  readonly secrets: WebhookSecrets;
  /** `WEBHOOK_ALLOWED_CIDRS`; empty: deliveries from anywhere (the signature still decides). */
  readonly allowedSources?: readonly string[];
}

export type WebhookHandler = (request: WebhookRequest) => Promise<WebhookResponse>;

/**
 * The webhook, written once for every platform: read the delivery (verify, parse), serve the job,
 * answer. Every answer carries its reason; errors become their status through one mapper.
 */
export function createWebhookHandler(deps: WebhookDependencies): WebhookHandler {
  const { config, logger, metrics, now } = deps;
  const allowed = sourceAllowed(deps.allowedSources ?? []);

  async function handle(request: WebhookRequest, receivedAt: number): Promise<WebhookResponse> {
    const delivery = await readDelivery(request, deps.secrets, allowed);
    if (delivery.kind === 'ping') return jsonResponse(200, 'pong');
    if (delivery.kind === 'other') {
      metrics.addMetric(METRIC.ignored, 'Count', 1);
      return jsonResponse(
        202,
        `event "${delivery.event}" needs no runner; subscribe the webhook to workflow_job only`,
      );
    }
    const { job } = delivery;
    const answer = await serveJob(deps, job, {
      deliveryId: request.headers['x-github-delivery'],
      deadlineAt: receivedAt + config.launchDeadlineMs,
    });
    return jsonResponse(answer.status, answer.message, answer.detail);
  }

  return async (request) => {
    const receivedAt = now();
    // On the answer's own lines only: a delivery of ours sets them on the logger (serveJob), one
    // that is not ours (most of them) sets nothing.
    const delivery = {
      delivery: request.headers['x-github-delivery'],
      event: request.headers['x-github-event'],
    };
    try {
      return await handle(request, receivedAt);
    } catch (error) {
      const response = errorResponse(error);
      if (error instanceof HttpError && error.statusCode < 500) {
        metrics.addMetric(METRIC.rejected, 'Count', 1);
        logger.warn('delivery rejected', { ...delivery, status: error.statusCode, reason: error.message });
      } else {
        logger.error('delivery failed', { ...delivery, status: response.statusCode, error: error as Error });
      }
      return response;
    } finally {
      // A delivery's time is Lambda's own `Duration` metric; a ping adds no metric and writes no line.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}
