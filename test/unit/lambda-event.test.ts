import { describe, expect, it } from '@jest/globals';
import { readAllowedSources } from '../../shared/config';
import { fromLambdaEvent, type WebhookLambdaEvent } from '../../shared/webhook/lambda-event';
import { sourceAllowed } from '../../shared/webhook/read-delivery';
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

describe('the source allow-list (WEBHOOK_ALLOWED_CIDRS)', () => {
  const hooks = sourceAllowed(['192.30.252.0/22', '2a0a:a440::/29']);

  it("reads the caller's address from each event shape", () => {
    const http = fromLambdaEvent({
      version: '2.0',
      headers: {},
      body: '',
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', sourceIp: '192.30.252.7' } },
    } as never);
    const rest = fromLambdaEvent({
      httpMethod: 'POST',
      headers: {},
      body: '',
      requestContext: { identity: { sourceIp: '10.0.0.1' } },
    } as never);
    expect(http.sourceIp).toBe('192.30.252.7');
    expect(rest.sourceIp).toBe('10.0.0.1');
  });

  it("admits GitHub's hook ranges, IPv4 and IPv6, and nothing else", () => {
    expect(hooks('192.30.253.200')).toBe(true);
    expect(hooks('2a0a:a440::1')).toBe(true);
    expect(hooks('192.30.256.1')).toBe(false);
    expect(hooks('203.0.113.9')).toBe(false);
    expect(hooks(undefined)).toBe(false);
    expect(sourceAllowed([])(undefined)).toBe(true);
  });

  it('refuses a malformed range at cold start, naming it', () => {
    const problems: string[] = [];
    readAllowedSources({ WEBHOOK_ALLOWED_CIDRS: '192.30.252.0/22, github' }, problems);
    expect(problems).toEqual([expect.stringContaining('"github"')]);
  });
});
