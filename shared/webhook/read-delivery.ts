import { BlockList, isIP } from 'node:net';
import { BadRequestError, ForbiddenError, MethodNotAllowedError, UnsupportedMediaTypeError } from '../errors';
import { parseWorkflowJob, type WorkflowJobEvent } from '../runner/workflow-job';
import type { WebhookSecrets } from '../secrets/webhook-secrets';
import type { WebhookRequest } from './http';
import { verifySignature } from './signature';

/** What a verified delivery is about. */
export type Delivery =
  | { readonly kind: 'ping' }
  /** An event other than `workflow_job`: it needs no runner. */
  | { readonly kind: 'other'; readonly event: string }
  | { readonly kind: 'workflow-job'; readonly job: WorkflowJobEvent };

/** Whether an address is in the allowed source ranges; every address when there are none. */
export function sourceAllowed(cidrs: readonly string[]): (address: string | undefined) => boolean {
  if (cidrs.length === 0) return () => true;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', bits = '0'] = cidr.split('/');
    list.addSubnet(address, Number(bits), isIP(address) === 6 ? 'ipv6' : 'ipv4');
  }
  return (address) => {
    const family = isIP(address ?? '');
    return family !== 0 && list.check(address as string, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/**
 * Reads a webhook request as GitHub sends it: from an allowed source, POST, signed with our secret
 * (checked before anything else is read), JSON, an `X-GitHub-Event`.
 * @throws HttpError with the status and a message that says what to fix.
 */
export async function readDelivery(
  request: WebhookRequest,
  secrets: WebhookSecrets,
  allowed: (address: string | undefined) => boolean = () => true,
): Promise<Delivery> {
  if (!allowed(request.sourceIp)) {
    throw new ForbiddenError(
      "deliveries are accepted only from WEBHOOK_ALLOWED_CIDRS (GitHub's hook ranges); this source is not in them",
    );
  }
  if (request.method.toUpperCase() !== 'POST') throw new MethodNotAllowedError(request.method);
  await verifySignature(await secrets.get(), request.body, request.headers);

  const contentType = request.headers['content-type'] ?? 'application/json';
  if (!/^application\/json\b/i.test(contentType)) throw new UnsupportedMediaTypeError(contentType);
  const event = request.headers['x-github-event'];
  if (event === undefined || event === '') throw new BadRequestError('missing X-GitHub-Event header');
  if (event === 'ping') return { kind: 'ping' };
  if (event !== 'workflow_job') return { kind: 'other', event };

  let payload: unknown;
  try {
    payload = JSON.parse(request.body);
  } catch {
    throw new BadRequestError('the body is not JSON; set the webhook content type to application/json');
  }
  return { kind: 'workflow-job', job: parseWorkflowJob(payload) };
}
