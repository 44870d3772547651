import { describe, expect, it } from '@jest/globals';
import { fromLambdaEvent, type WebhookLambdaEvent } from '../../shared/webhook/lambda-event';
import { jobOfOurs } from '../fixtures/payloads';
import { functionUrlEvent, httpApiEvent, restApiEvent, signedRequest } from '../fixtures/requests';

describe('fromLambdaEvent', () => {
  it.each([
    ['REST API (1.0)', restApiEvent],
    ['HTTP API (2.0)', httpApiEvent],
    ['function URL', functionUrlEvent],
  ] as const)('reads method, lower-cased headers and the exact body of a %s event', async (_, shape) => {
    const request = await signedRequest(jobOfOurs());
    for (const base64 of [false, true]) {
      const converted = fromLambdaEvent(shape(request, base64));
      expect(converted.method).toBe('POST');
      expect(converted.body).toBe(request.body);
      expect(converted.headers['x-hub-signature-256']).toBe(request.headers['x-hub-signature-256']);
      expect(converted.headers['x-github-event']).toBe('workflow_job');
    }
  });

  it('keeps a non-ASCII body byte for byte through base64', async () => {
    const request = await signedRequest({ workflow_job: { name: 'tést ✓ 🚀' } });
    expect(fromLambdaEvent(httpApiEvent(request, true)).body).toBe(request.body);
  });

  it('reads a header only present in multiValueHeaders', () => {
    const event = {
      httpMethod: 'POST',
      headers: {},
      multiValueHeaders: { 'X-GitHub-Event': ['ping'] },
      body: '{}',
      isBase64Encoded: false,
    } as unknown as WebhookLambdaEvent;
    expect(fromLambdaEvent(event).headers['x-github-event']).toBe('ping');
  });

  it('turns a non-HTTP event into an unsigned request', () => {
    expect(fromLambdaEvent(null as unknown as WebhookLambdaEvent)).toEqual({
      method: 'POST',
      headers: {},
      body: '',
    });
  });
});
