import { verifyWithFallback } from '@octokit/webhooks-methods';
import { BadRequestError, UnauthorizedError } from '../errors';

const SHA256_SIGNATURE = /^sha256=[0-9a-f]{64}$/;

/**
 * Checks `X-Hub-Signature-256` over the exact body, in constant time, against the current secret
 * and, during a rotation, the previous one.
 * @throws BadRequestError for an empty body.
 * @throws UnauthorizedError when the signature is missing, malformed, SHA-1 only, or wrong.
 */
export async function verifySignature(
  secrets: readonly string[],
  body: string,
  headers: Readonly<Record<string, string | undefined>>,
): Promise<void> {
  const signature = headers['x-hub-signature-256'];
  if (signature === undefined || signature === '') {
    throw new UnauthorizedError(
      headers['x-hub-signature'] === undefined
        ? 'missing X-Hub-Signature-256: set a secret on the webhook'
        : 'only the SHA-1 X-Hub-Signature was sent; X-Hub-Signature-256 is required',
    );
  }
  if (!SHA256_SIGNATURE.test(signature)) throw new UnauthorizedError('malformed X-Hub-Signature-256');
  const [current, ...previous] = secrets;
  if (body === '') throw new BadRequestError('the body is empty; GitHub always sends the event payload');
  if (current === undefined) throw new UnauthorizedError('signature does not match');
  if (!(await verifyWithFallback(current, body, signature, previous))) {
    throw new UnauthorizedError('signature does not match: check the webhook secret');
  }
}
