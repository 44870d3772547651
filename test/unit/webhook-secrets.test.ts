import { describe, expect, it } from '@jest/globals';
import { ServiceUnavailableError } from '../../shared/errors';
import {
  createWebhookSecrets,
  parseStoredSecret,
  SECRET_READ_TIMEOUT_MS,
} from '../../shared/secrets/webhook-secrets';

const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf';

describe('parseStoredSecret', () => {
  it('takes a plain string as the secret', () => {
    expect(parseStoredSecret('abc123')).toEqual(['abc123']);
  });

  it('takes {secret, previous} during a rotation', () => {
    expect(parseStoredSecret('{"secret":"new","previous":"old"}')).toEqual(['new', 'old']);
  });

  it('takes a string that only looks like JSON as the secret', () => {
    expect(parseStoredSecret('{not json')).toEqual(['{not json']);
  });

  it('takes {secret} alone, or with a null previous, when no rotation is under way', () => {
    expect(parseStoredSecret('{"secret":"new"}')).toEqual(['new']);
    expect(parseStoredSecret('{"secret":"new","previous":null}')).toEqual(['new']);
  });

  it('refuses {secret, previous} with empty values instead of taking the JSON text as the key', () => {
    expect(() => parseStoredSecret('{"secret":"","previous":""}')).toThrow(/non-empty "secret"/);
  });

  it('refuses an empty previous secret', () => {
    expect(() => parseStoredSecret('{"secret":"new","previous":""}')).toThrow(/"previous" is empty/);
  });

  it('refuses JSON that holds no secret string', () => {
    expect(() => parseStoredSecret('{"secret":42}')).toThrow(/non-empty "secret"/);
    expect(() => parseStoredSecret('{"token":"ghp_x"}')).toThrow(/non-empty "secret"/);
  });

  it('refuses an empty or blank stored value', () => {
    expect(() => parseStoredSecret('')).toThrow('the stored webhook secret is empty');
    expect(() => parseStoredSecret('  \n')).toThrow('the stored webhook secret is empty');
  });
});

describe('createWebhookSecrets', () => {
  it('returns plain secrets as configured', async () => {
    await expect(createWebhookSecrets({ kind: 'plain', secrets: ['a', 'b'] }).get()).resolves.toEqual([
      'a',
      'b',
    ]);
  });

  it('reads a Secrets Manager secret with a cache age', async () => {
    const seen: Array<[string, number]> = [];
    const secrets = createWebhookSecrets({ kind: 'secrets-manager', arn }, async (id, maxAge) => {
      seen.push([id, maxAge]);
      return 'from-sm';
    });
    await expect(secrets.get()).resolves.toEqual(['from-sm']);
    expect(seen).toEqual([[arn, 300]]);
  });

  it('reads again only once the value is older than its cache age', async () => {
    let clock = 0;
    let reads = 0;
    const secrets = createWebhookSecrets(
      { kind: 'secrets-manager', arn },
      async () => `value-${++reads}`,
      () => clock,
    );
    await expect(secrets.get()).resolves.toEqual(['value-1']);
    clock = 299_999;
    await expect(secrets.get()).resolves.toEqual(['value-1']);
    clock = 300_000;
    await expect(secrets.get()).resolves.toEqual(['value-2']);
    expect(reads).toBe(2);
  });

  it('keeps the last good value when a refresh fails, and tries again at the next delivery', async () => {
    let clock = 0;
    let fail = false;
    let reads = 0;
    const secrets = createWebhookSecrets(
      { kind: 'secrets-manager', arn },
      async () => {
        reads++;
        if (fail) throw new Error('throttled');
        return 'good';
      },
      () => clock,
    );
    await secrets.get();
    fail = true;
    clock = 400_000;
    await expect(secrets.get()).resolves.toEqual(['good']);
    await expect(secrets.get()).resolves.toEqual(['good']);
    expect(reads).toBe(3);
  });

  it('answers 503 at a cold start when the stored secret holds empty values, and never accepts the JSON text', async () => {
    const secrets = createWebhookSecrets(
      { kind: 'secrets-manager', arn },
      async () => '{"secret":"","previous":""}',
    );
    await expect(secrets.get()).rejects.toThrow(ServiceUnavailableError);
  });

  it('keeps the last good secret when a rotation stores empty values', async () => {
    let stored = '{"secret":"good"}';
    let time = 0;
    const secrets = createWebhookSecrets(
      { kind: 'secrets-manager', arn },
      async () => stored,
      () => time,
    );
    await expect(secrets.get()).resolves.toEqual(['good']);
    stored = '{"secret":"","previous":""}';
    time += 301_000;
    await expect(secrets.get()).resolves.toEqual(['good']);
  });

  it('answers 503 when the secret was never read', async () => {
    const secrets = createWebhookSecrets({ kind: 'secrets-manager', arn }, async () => {
      throw new Error('AccessDenied');
    });
    await expect(secrets.get()).rejects.toThrow(ServiceUnavailableError);
  });
});

describe('a webhook secret read that hangs', () => {
  it("answers 503 within its bound instead of holding the delivery past GitHub's 10 s", async () => {
    const secrets = createWebhookSecrets({ kind: 'secrets-manager', arn }, () => new Promise(() => {}));
    const started = Date.now();
    await expect(secrets.get()).rejects.toBeInstanceOf(ServiceUnavailableError);
    expect(Date.now() - started).toBeLessThan(SECRET_READ_TIMEOUT_MS + 1000);
  });
});
