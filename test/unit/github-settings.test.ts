import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { parseDuration } from '../../shared/cli/terminal';
import { parseConfig } from '../../shared/config';
import { parseGitHubCredentials } from '../../shared/github/credentials';
import { parseRedeliverSettings } from '../../shared/github/redeliver';

const pem = generateKeyPairSync('rsa', { modulusLength: 1024 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();

describe('parseGitHubCredentials', () => {
  it('reads a token', () => {
    expect(parseGitHubCredentials('{"token":"ghp_x"}')).toEqual({ kind: 'token', token: 'ghp_x' });
  });

  it('reads a GitHub App with and without an installation', () => {
    expect(parseGitHubCredentials(JSON.stringify({ appId: '12', privateKey: pem }))).toEqual({
      kind: 'app',
      appId: 12,
      privateKey: pem,
    });
    expect(
      parseGitHubCredentials(JSON.stringify({ appId: 12, privateKey: pem, installationId: 9 })),
    ).toMatchObject({ installationId: 9 });
  });

  it('restores PEM newlines stored as \\n', () => {
    const stored = JSON.stringify({ appId: 1, privateKey: pem.replace(/\n/g, '\\n') });
    expect(parseGitHubCredentials(stored)).toMatchObject({ privateKey: pem });
  });

  it("reads a token stored as plain text, as the seed's registration-token secret holds it", () => {
    expect(parseGitHubCredentials('ghp_plain_secret\n')).toEqual({
      kind: 'token',
      token: 'ghp_plain_secret',
    });
    expect(parseGitHubCredentials('github_pat_11AB_cd')).toEqual({
      kind: 'token',
      token: 'github_pat_11AB_cd',
    });
  });

  it('says what is wrong without echoing the secret', () => {
    expect(() => parseGitHubCredentials('plain secret')).toThrow(/not JSON/);
    let message = '';
    try {
      parseGitHubCredentials('{"appId":"x","privateKey":"ghp_plain_secret"}');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('"appId" (a number)');
    expect(message).not.toContain('ghp_plain_secret');
  });
});

describe('GitHub settings in the webhook configuration', () => {
  const base = {
    RUNNER_CONFIG_BUCKET: 'github-runners-config',
    WEBHOOK_SECRET: 's',
    ECS_CLUSTER: 'c',
  };

  it('refuses either registration without GitHub credentials: no task gets an admin token', () => {
    for (const registration of ['jit', 'token']) {
      expect(() => parseConfig({ ...base, RUNNER_REGISTRATION: registration })).toThrow(
        /needs GitHub credentials/,
      );
    }
  });

  it('refuses token registration without the config bucket: the registration token goes through S3', () => {
    const { RUNNER_CONFIG_BUCKET: _, ...withoutBucket } = base;
    expect(() => parseConfig({ ...withoutBucket, GITHUB_TOKEN: 't', RUNNER_REGISTRATION: 'token' })).toThrow(
      /RUNNER_REGISTRATION=token needs RUNNER_CONFIG_BUCKET/,
    );
  });

  it('makes JIT the default when credentials are configured', () => {
    const config = parseConfig({
      ...base,
      GITHUB_AUTH_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:gh',
    });
    expect(config.registration).toBe('jit');
    expect(config.github?.apiUrl).toBe('https://api.github.com');
  });

  it('keeps the token mode when asked', () => {
    expect(parseConfig({ ...base, GITHUB_TOKEN: 't', RUNNER_REGISTRATION: 'token' }).registration).toBe(
      'token',
    );
  });

  it('refuses JIT without credentials', () => {
    expect(() => parseConfig({ ...base, RUNNER_REGISTRATION: 'jit' })).toThrow(/needs GitHub credentials/);
  });

  it('takes a GitHub Enterprise Server API URL, without a trailing slash', () => {
    const config = parseConfig({
      ...base,
      GITHUB_TOKEN: 't',
      GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
    });
    expect(config.github?.apiUrl).toBe('https://ghe.example.com/api/v3');
  });
});

describe('parseRedeliverSettings', () => {
  it('reads the organisation hook and the defaults', () => {
    expect(
      parseRedeliverSettings({ GITHUB_TOKEN: 't', GITHUB_ORG: 'octo-org', GITHUB_HOOK_ID: '42' }),
    ).toMatchObject({
      hook: { kind: 'org', org: 'octo-org', hookId: 42 },
      sinceMs: 6 * 3_600_000,
      max: 50,
      maxRedeliveries: 5,
      dryRun: false,
    });
  });

  it('reads the GitHub App hook', () => {
    expect(parseRedeliverSettings({ GITHUB_TOKEN: 't', GITHUB_HOOK: 'app' }).hook).toEqual({ kind: 'app' });
  });

  it('reads DRY_RUN with the same words as the functions (1, true, any case), and refuses others', () => {
    const base = { GITHUB_TOKEN: 't', GITHUB_HOOK: 'app' };
    expect(parseRedeliverSettings({ ...base, DRY_RUN: '1' }).dryRun).toBe(true);
    expect(parseRedeliverSettings({ ...base, DRY_RUN: 'TRUE' }).dryRun).toBe(true);
    expect(parseRedeliverSettings({ ...base, DRY_RUN: 'false' }).dryRun).toBe(false);
    expect(parseRedeliverSettings(base).dryRun).toBe(false);
    expect(() => parseRedeliverSettings({ ...base, DRY_RUN: 'yes' })).toThrow(
      /DRY_RUN must be true or false/,
    );
  });

  it('caps the window at the 3 days GitHub keeps', () => {
    expect(
      parseRedeliverSettings({ GITHUB_TOKEN: 't', GITHUB_HOOK: 'app', REDELIVER_SINCE: '10d' }).sinceMs,
    ).toBe(3 * 86_400_000);
  });

  it('reports every problem together', () => {
    expect(() => parseRedeliverSettings({ REDELIVER_SINCE: 'soon', REDELIVER_MAX: '0' })).toThrow(
      /credentials are required[\s\S]*GITHUB_ORG and GITHUB_HOOK_ID[\s\S]*REDELIVER_SINCE[\s\S]*REDELIVER_MAX/,
    );
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['6h', 21_600_000],
    ['3d', 259_200_000],
  ])('reads %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('refuses a duration without a unit', () => {
    expect(() => parseDuration('6')).toThrow(/e\.g\. 30m/);
  });
});
