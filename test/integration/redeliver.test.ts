/**
 * The redelivery sweep with the real Octokit against the GitHub stand-in (org hook and GitHub App
 * hook, cursor pagination), and the operator's `npm run redeliver` CLI end to end.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { parseRedeliverSettings, runRedeliverSweep } from '../../shared/github/redeliver';
import { jobOfOurs } from '../fixtures/payloads';
import { type GitHubStandIn, type StandInDelivery, startGitHubStandIn } from '../support/github-stand-in';

const TOKEN = 'ghp_redeliver_token';
let github: GitHubStandIn;
let nextId = 1;
let nextJob = 8_000_000_000;

beforeAll(async () => {
  github = await startGitHubStandIn({ token: TOKEN });
});
afterAll(() => github.close());
afterEach(() => {
  expect(github.violations).toEqual([]);
  github.deliveries.length = 0;
  github.redelivered.length = 0;
});

/** One attempt of a queued job's delivery, `minutes` ago; the job is known to GitHub with `jobStatus`. */
function delivery(
  statusCode: number,
  minutes: number,
  options: { guid?: string; jobStatus?: string; redelivery?: boolean } = {},
) {
  const payload = jobOfOurs({ jobId: nextJob++ });
  github.jobs.set(payload.workflow_job.id as number, options.jobStatus ?? 'queued');
  const entry: StandInDelivery = {
    id: nextId++,
    guid: options.guid ?? randomUUID(),
    delivered_at: new Date(Date.now() - minutes * 60_000).toISOString(),
    redelivery: options.redelivery ?? false,
    status: statusCode < 300 ? 'OK' : `Invalid HTTP Response: ${statusCode}`,
    status_code: statusCode,
    event: 'workflow_job',
    action: 'queued',
    payload,
  };
  github.deliveries.push(entry);
  return entry;
}
/** GitHub lists deliveries newest first. */
const newestFirst = () =>
  github.deliveries.sort((a, b) => Date.parse(b.delivered_at) - Date.parse(a.delivered_at));

const settings = (env: Record<string, string> = {}) =>
  parseRedeliverSettings({
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: github.url,
    GITHUB_ORG: 'octo-org',
    GITHUB_HOOK_ID: '77',
    ...env,
  });

describe('redelivery sweep through Octokit', () => {
  it('redelivers exactly the failed deliveries of queued jobs, across pages', async () => {
    const failed = delivery(503, 10);
    const guid = randomUUID();
    delivery(503, 20, { guid });
    delivery(200, 15, { guid, redelivery: true });
    delivery(502, 30, { jobStatus: 'completed' });
    for (let i = 0; i < 150; i++) delivery(200, 40 + i / 10);
    const old = delivery(503, 60 * 24);
    newestFirst();
    const summary = await runRedeliverSweep(settings());
    expect(summary.redelivered).toEqual([failed.guid]);
    expect(github.redelivered).toEqual([failed.id]);
    expect(summary.skipped.map((s) => s.reason)).toEqual(['job is completed']);
    expect(summary.found).toBe(153);
    expect(github.requests.some((r) => r.query.get('cursor') === '100')).toBe(true);
    expect(github.redelivered).not.toContain(old.id);
  });

  it('uses the GitHub App hook with the App JWT', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const app = await startGitHubStandIn({ token: 'unused' });
    try {
      const failed = { ...delivery(500, 5), id: 900 };
      app.deliveries.push(failed);
      app.jobs.set((failed.payload as { workflow_job: { id: number } }).workflow_job.id, 'queued');
      const appSettings = parseRedeliverSettings({
        GITHUB_AUTH_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf',
        GITHUB_API_URL: app.url,
        GITHUB_HOOK: 'app',
      });
      const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
      const summary = await runRedeliverSweep(appSettings, {
        fetchSecret: async () => JSON.stringify({ appId: 5, privateKey: pem, installationId: 4242 }),
      });
      expect(summary.redelivered).toEqual([failed.guid]);
      const listing = app.requests.find((r) => r.operation === 'GET /app/hook/deliveries');
      expect(listing?.authorization).toMatch(/^bearer /i);
      expect(app.redelivered).toEqual([900]);
      expect(app.violations).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe('redelivery sweep with no hook named (the scheduled default)', () => {
  const unnamed = (env: Record<string, string>) =>
    parseRedeliverSettings({ GITHUB_API_URL: github.url, ...env }, {}, { hookFromCredentials: true });

  it("sweeps the GitHub App's own hook when the credentials are an App: no hook id needed", async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const app = await startGitHubStandIn({ token: 'unused' });
    try {
      const failed = { ...delivery(502, 5), id: 901 };
      app.deliveries.push(failed);
      app.jobs.set((failed.payload as { workflow_job: { id: number } }).workflow_job.id, 'queued');
      const settings = parseRedeliverSettings(
        {
          GITHUB_AUTH_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf',
          GITHUB_API_URL: app.url,
        },
        {},
        { hookFromCredentials: true },
      );
      expect(settings.hook).toEqual({ kind: 'credentials' });
      const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
      const summary = await runRedeliverSweep(settings, {
        fetchSecret: async () => JSON.stringify({ appId: 5, privateKey: pem, installationId: 4242 }),
      });
      expect(summary.redelivered).toEqual([failed.guid]);
      expect(app.requests.some((r) => r.operation === 'GET /app/hook/deliveries')).toBe(true);
      expect(app.violations).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('does nothing, and says why, when the credentials are a token', async () => {
    const before = github.requests.length;
    const warnings: string[] = [];
    const summary = await runRedeliverSweep(unnamed({ GITHUB_TOKEN: TOKEN }), {
      log: { warn: (message) => warnings.push(message) },
    });
    expect(summary).toEqual({ found: 0, failed: 0, redelivered: [], skipped: [] });
    expect(github.requests.length).toBe(before);
    expect(warnings).toEqual([expect.stringContaining('githubOrg + githubHookId')]);
  });

  it('still asks a command for its hook', () => {
    expect(() => parseRedeliverSettings({ GITHUB_TOKEN: TOKEN })).toThrow('GITHUB_ORG and GITHUB_HOOK_ID');
  });
});

describe('npm run redeliver', () => {
  const run = promisify(execFile);
  beforeAll(async () => {
    await run(process.execPath, ['esbuild.config.mjs', '--only', 'redeliver-cli']);
  });
  const cli = (...args: string[]) =>
    run(process.execPath, ['dist/redeliver-cli/index.mjs', ...args], {
      env: { ...process.env, GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.url },
    });

  it('lists what it would redeliver in a dry run, with a summary table', async () => {
    const failed = delivery(503, 10);
    delivery(200, 11);
    const { stdout } = await cli('--org', 'octo-org', '--hook-id', '77', '--since', '1h', '--dry-run');
    expect(stdout).toContain('would redeliver');
    expect(stdout).toContain(`would redeliver: ${failed.guid}`);
    expect(stdout).toMatch(/failed on every attempt +1\n/);
    expect(github.redelivered).toEqual([]);
  });

  it('redelivers and exits 0', async () => {
    const failed = delivery(503, 10);
    const { stdout } = await cli('--org', 'octo-org', '--hook-id', '77');
    expect(stdout).toContain(`redelivered: ${failed.guid}`);
    expect(github.redelivered).toEqual([failed.id]);
  });

  it('exits 2 and says what is missing without a hook, naming the flags the user passes', async () => {
    const result = await cli('--since', 'forever').catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 2 });
    const { stderr } = result as { stderr: string };
    expect(stderr).toContain('set --org and --hook-id (the organisation webhook), or --app');
    expect(stderr).toContain('--since: "forever" is not a duration');
    expect(stderr).not.toContain('GITHUB_ORG');
  });
});
