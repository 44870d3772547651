/**
 * Secrets through the Parameters and Secrets extension, as the stack deploys the functions, with
 * Secrets Manager behind it for when the extension fails: the real SDK (Powertools Parameters)
 * against the Secrets Manager stand-in, and the extension's HTTP protocol against its stand-in.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { readFromExtension, secretsExtensionFrom } from '../../shared/secrets/secrets-extension';
import { fetchSecretValue } from '../../shared/secrets/webhook-secrets';
import {
  type SecretsExtensionStandIn,
  startSecretsExtensionStandIn,
} from '../support/secrets-extension-stand-in';
import { startSecretsManagerStandIn } from '../support/secrets-manager-stand-in';

const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
// Each test reads its own secret: Powertools caches what it read.
const SECRETS = Object.fromEntries(
  ['through', 'not-ready', 'slow', 'both-fail', 'direct'].map((name) => [arn(name), `value-of-${name}`]),
);

let extension: SecretsExtensionStandIn;
let secretsManager: Awaited<ReturnType<typeof startSecretsManagerStandIn>>;
let failSecretsManager = false;

beforeAll(async () => {
  extension = await startSecretsExtensionStandIn(SECRETS);
  secretsManager = await startSecretsManagerStandIn(SECRETS, () =>
    failSecretsManager ? { kind: 'error', type: 'AccessDeniedException', status: 400 } : undefined,
  );
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secretsManager.url;
  process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT = String(extension.port);
  process.env.AWS_SESSION_TOKEN = extension.token;
});
afterEach(() => {
  extension.notReady = false;
  extension.delayMs = 0;
  extension.trickle = false;
  failSecretsManager = false;
});
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  delete process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT;
  delete process.env.AWS_SESSION_TOKEN;
  await Promise.all([extension.close(), secretsManager.close()]);
});

const secretsManagerCalls = () => secretsManager.calls.length;

describe('reading a secret in a function that has the extension', () => {
  it('asks the extension, with the session token, and not Secrets Manager', async () => {
    const before = secretsManagerCalls();
    await expect(fetchSecretValue(arn('through'), 300)).resolves.toBe('value-of-through');
    expect(extension.calls).toContain(arn('through'));
    expect(secretsManagerCalls()).toBe(before);
  });

  it('falls back to Secrets Manager while the extension is not ready', async () => {
    extension.notReady = true;
    const before = secretsManagerCalls();
    await expect(fetchSecretValue(arn('not-ready'), 300)).resolves.toBe('value-of-not-ready');
    expect(secretsManagerCalls()).toBe(before + 1);
  });

  it('falls back to Secrets Manager when the extension answers after its bound', async () => {
    extension.delayMs = 1500;
    const before = secretsManagerCalls();
    const started = Date.now();
    await expect(fetchSecretValue(arn('slow'), 300)).resolves.toBe('value-of-slow');
    expect(Date.now() - started).toBeLessThan(1400);
    expect(secretsManagerCalls()).toBe(before + 1);
  });

  it('names both failures when the extension and Secrets Manager both fail', async () => {
    extension.notReady = true;
    failSecretsManager = true;
    await expect(fetchSecretValue(arn('both-fail'), 300)).rejects.toThrow(
      /AccessDenied.*through the secrets extension first: the secrets extension answered 400: not ready/s,
    );
  });
});

describe('the extension protocol', () => {
  it('is refused without the session token', async () => {
    const wrong = { hosts: ['127.0.0.1'], port: extension.port, token: 'not-the-session-token' };
    await expect(readFromExtension(wrong, arn('direct'))).rejects.toThrow(/answered 401/);
  });

  it("passes on the extension's answer for a secret it cannot read", async () => {
    const endpoint = { hosts: ['127.0.0.1'], port: extension.port, token: extension.token };
    await expect(readFromExtension(endpoint, arn('unknown'))).rejects.toThrow(
      /answered 400.*ResourceNotFound/,
    );
  });

  it('is asked at the next address when nothing listens at the first', async () => {
    // The real extension's address is not documented: here it listens on the IPv6 loopback only.
    const onIpv6Only = await startSecretsExtensionStandIn(SECRETS, 'token', '::1');
    try {
      const endpoint = { hosts: ['127.0.0.1', '::1'], port: onIpv6Only.port, token: 'token' };
      await expect(readFromExtension(endpoint, arn('direct'))).resolves.toBe('value-of-direct');
    } finally {
      await onIpv6Only.close();
    }
  });

  it('gives up on an answer that trickles in, at its bound for the whole exchange', async () => {
    extension.trickle = true;
    const endpoint = { hosts: ['127.0.0.1'], port: extension.port, token: extension.token };
    const started = Date.now();
    await expect(readFromExtension(endpoint, arn('direct'), 500)).rejects.toThrow(
      /did not answer within 500 ms/,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('is used only with a port and a session token', () => {
    expect(secretsExtensionFrom({})).toBeUndefined();
    expect(secretsExtensionFrom({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2773' })).toBeUndefined();
    expect(
      secretsExtensionFrom({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: 'x', AWS_SESSION_TOKEN: 't' }),
    ).toBeUndefined();
    expect(
      secretsExtensionFrom({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2773', AWS_SESSION_TOKEN: 't' }),
    ).toEqual({
      hosts: ['127.0.0.1', 'localhost'],
      port: 2773,
      token: 't',
    });
  });
});
