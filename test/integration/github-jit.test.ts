/**
 * Registration (JIT and token) and the job-still-queued check, end to end: the webhook handler with
 * the real Octokit against a GitHub stand-in checked by GitHub's OpenAPI description, and the real
 * ECS and S3 clients against stand-ins; what no task may hold, in every shape of the functions.
 */
import { generateKeyPairSync } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { parseConfig } from '../../shared/config';
import { createWebhookDependencies } from '../../shared/dependencies';
import { RUNNER_CREDENTIAL_ENV } from '../../shared/ecs/runner-config-store';
import { decide } from '../../shared/runner/decide';
import { parseWorkflowJob } from '../../shared/runner/workflow-job';
import { createWebhookHandler } from '../../shared/webhook/handle-webhook';
import { type JobVariation, jobOfOurs } from '../fixtures/payloads';
import { signedRequest, TEST_SECRET } from '../fixtures/requests';
import type { Fault } from '../support/aws-stand-in';
import { capturedOutput } from '../support/captured-output';
import { type EcsStandIn, startEcsStandIn } from '../support/ecs-stand-in';
import { type GitHubStandIn, rateLimited, startGitHubStandIn } from '../support/github-stand-in';
import { RUNNER_CONFIG_BUCKET, type S3Server, startS3Server } from '../support/s3-server';
import { startSecretsManagerStandIn } from '../support/secrets-manager-stand-in';

const TOKEN = 'ghp_jit_test_token_0123456789';
const TOKEN_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:github-token-AbCdEf';
const APP_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:github-app-AbCdEf';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const APP_KEY = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

let ecs: EcsStandIn;
let github: GitHubStandIn;
let ecsFault: ((operation: string) => Fault | undefined) | undefined;
let secrets: Awaited<ReturnType<typeof startSecretsManagerStandIn>>;
let s3: S3Server;

beforeAll(async () => {
  ecs = await startEcsStandIn({ fault: (operation) => ecsFault?.(operation) });
  github = await startGitHubStandIn({ token: TOKEN });
  secrets = await startSecretsManagerStandIn({
    [TOKEN_ARN]: JSON.stringify({ token: TOKEN }),
    [APP_ARN]: JSON.stringify({ appId: 12345, privateKey: APP_KEY }),
  });
  s3 = await startS3Server();
  process.env.AWS_ENDPOINT_URL_ECS = ecs.url;
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
  process.env.AWS_ENDPOINT_URL_S3 = s3.url;
  github.groups.set('org:octo-org', [{ id: 7, name: 'octo-org-sandpit', allows_public_repositories: false }]);
});
afterAll(async () => {
  await Promise.all([ecs.close(), github.close(), secrets.close(), s3.close()]);
});
afterEach(() => {
  ecsFault = undefined;
  github.fault = undefined;
  expect(github.violations).toEqual([]);
});

const jitEnv = (env: Record<string, string> = {}) => ({
  WEBHOOK_SECRET: TEST_SECRET,
  ECS_CLUSTER: 'runners',
  GITHUB_AUTH_SECRET_ARN: TOKEN_ARN,
  GITHUB_API_URL: github.url,
  RUNNER_CONFIG_BUCKET,
  RUNNER_SCOPE: 'org',
  ...env,
});
const handler = (env: Record<string, string> = {}) =>
  createWebhookHandler(createWebhookDependencies({ env: jitEnv(env) }));

let nextJob = 9_000_000_000;
/** A job of ours queued just now, and known to GitHub as queued. */
const queuedJob = (variation: JobVariation = {}) => {
  const payload = jobOfOurs({ jobId: nextJob++, ...variation });
  payload.workflow_job.created_at = new Date().toISOString();
  github.jobs.set(payload.workflow_job.id as number, 'queued');
  return payload;
};
const jobId = (payload: ReturnType<typeof jobOfOurs>) => payload.workflow_job.id as number;
const tasksOf = (payload: ReturnType<typeof jobOfOurs>) =>
  ecs.tasks.filter((t) => t.startedBy?.startsWith(`gha-job/${jobId(payload)}/`));
const ops = (operation: string) => github.requests.filter((r) => r.operation.endsWith(operation));
const body = (response: { body: string }) => JSON.parse(response.body) as Record<string, unknown>;
const runnerNamed = (name: string) => [...github.runners.values()].find((r) => r.name === name);
type Override = {
  environment: Array<{ name: string; value: string }>;
  environmentFiles?: Array<{ type: string; value: string }>;
};
const overrideOf = (payload: ReturnType<typeof jobOfOurs>) =>
  (tasksOf(payload)[0]?.overrides as { containerOverrides: Override[] } | undefined)?.containerOverrides[0];
/** The object key of the one S3 environment file a task names. */
const configKeyOf = (files: Override['environmentFiles']) => {
  const [file] = files ?? [];
  return file?.value.replace(`arn:aws:s3:::${RUNNER_CONFIG_BUCKET}/`, '') ?? '';
};
/** An object name of 128 random bits: nothing of the job in it. */
const RANDOM_KEY = /^runner-config\/[0-9a-f]{32}\.env$/;

describe('JIT registration', () => {
  let handle: ReturnType<typeof handler>;
  beforeAll(() => {
    handle = handler();
  });

  it('registers the runner and hands the task its JIT config through S3, never in an API request', async () => {
    const payload = queuedJob();
    const response = await handle(await signedRequest(payload));
    expect(response.statusCode).toBe(200);
    const override = overrideOf(payload);
    expect(override?.environment.map((e) => e.name)).toEqual([
      'ORGANIZATION',
      'RUNNER_LABELS',
      'RUNNER_IDLE_TIMEOUT',
    ]);
    const key = configKeyOf(override?.environmentFiles);
    expect(override?.environmentFiles).toEqual([
      { type: 's3', value: `arn:aws:s3:::${RUNNER_CONFIG_BUCKET}/${key}` },
    ]);
    // The S3 object holds the one-use config, read back through the real client.
    const object = (await s3.objects()).get(key) ?? '';
    const jitConfig = /^RUNNER_JIT_CONFIG=(\S+)\n$/.exec(object)?.[1] ?? '';
    expect(jitConfig.length).toBeGreaterThan(3000);
    // No ECS request or answer carries it (RunTask, DescribeTasks, ...), nor any token.
    const ecsTraffic = JSON.stringify(ecs.calls) + JSON.stringify(ecs.tasks);
    expect(ecsTraffic).not.toContain(jitConfig.slice(0, 64));
    expect(ecsTraffic).not.toContain('RUNNER_JIT_CONFIG');
    expect(ecsTraffic).not.toContain(TOKEN);
    expect(ecsTraffic).not.toContain('RUNNER_ADMIN_TOKEN');
    const [jit] = ops('/generate-jitconfig').slice(-1);
    expect(jit?.body).toEqual({
      name: body(response).runnerName,
      labels: body(response).labels,
      runner_group_id: 7,
    });
  });

  it("names the config object with 128 random bits, so no task's role can find another job's config", async () => {
    const [a, b] = [queuedJob(), queuedJob()];
    await handle(await signedRequest(a));
    await handle(await signedRequest(b));
    const keys = [a, b].map((payload) => configKeyOf(overrideOf(payload)?.environmentFiles));
    expect(keys[0]).toMatch(RANDOM_KEY);
    expect(keys[1]).toMatch(RANDOM_KEY);
    expect(keys[0]).not.toBe(keys[1]);
    expect(keys[0]).not.toContain(String(jobId(a)));
  });

  it('registers in the repository by default, so only its own jobs can take the runner', async () => {
    const payload = queuedJob({ repoName: 'api' });
    const response = await handler({ RUNNER_SCOPE: 'repo' })(await signedRequest(payload));
    expect(response.statusCode).toBe(200);
    expect(ops('/generate-jitconfig').at(-1)?.operation).toBe(
      'POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig',
    );
    expect(ops('/generate-jitconfig').at(-1)?.params).toMatchObject({ owner: 'octo-org', repo: 'api' });
  });

  it('looks the runner group up once and caches it', async () => {
    const before = ops('/runner-groups').length;
    await handle(await signedRequest(queuedJob()));
    await handle(await signedRequest(queuedJob()));
    expect(ops('/runner-groups').length).toBe(before);
  });

  it('answers 503 naming the missing runner group, and registers nothing', async () => {
    const before = github.runners.size;
    const response = await handler()(await signedRequest(queuedJob({ org: 'no-group-org' })));
    expect(response.statusCode).toBe(503);
    expect(body(response).message).toContain('runner group "no-group-org-sandpit" does not exist');
    expect(body(response).message).toContain('RUNNER_GROUP_CREATE=true');
    expect(github.runners.size).toBe(before);
  });

  const groupCreations = (org: string) =>
    ops('/runner-groups').filter((r) => r.operation.startsWith('POST') && r.params.org === org);

  it('creates a missing shared runner group, open to every repository, only with RUNNER_GROUP_SHARED', async () => {
    const payload = queuedJob({ org: 'new-org' });
    const response = await handler({ RUNNER_GROUP_CREATE: 'true', RUNNER_GROUP_SHARED: 'true' })(
      await signedRequest(payload),
    );
    expect(response.statusCode).toBe(200);
    expect(github.groups.get('org:new-org')).toEqual([
      { id: expect.any(Number), name: 'new-org-sandpit', allows_public_repositories: false },
    ]);
    expect(groupCreations('new-org').map((r) => r.body)).toEqual([
      { name: 'new-org-sandpit', visibility: 'all', allows_public_repositories: false },
    ]);
  });

  it('answers 503 and creates no group open to every repository without RUNNER_GROUP_SHARED', async () => {
    const payload = queuedJob({ org: 'unshared-org' });
    const response = await handler({ RUNNER_GROUP_CREATE: 'true' })(await signedRequest(payload));
    expect(response.statusCode).toBe(503);
    expect(body(response).message).toContain('would be open to every repository of the organisation');
    expect(body(response).message).toContain('RUNNER_GROUP_SHARED=true');
    expect(groupCreations('unshared-org')).toEqual([]);
    expect(github.groups.get('org:unshared-org')).toBeUndefined();
    expect(tasksOf(payload)).toEqual([]);
  });

  it('creates a group per repository admitting only the repository the delivery names', async () => {
    const payload = queuedJob({ org: 'repo-org', repoName: 'api' });
    const response = await handler({
      RUNNER_GROUP_CREATE: 'true',
      RUNNER_GROUP_TEMPLATE: '<detail_org>-<target_env>-<detail_repo_name>',
    })(await signedRequest(payload));
    expect(response.statusCode).toBe(200);
    expect(groupCreations('repo-org').map((r) => r.body)).toEqual([
      {
        name: 'repo-org-sandpit-api',
        visibility: 'selected',
        selected_repository_ids: [payload.repository.id],
        allows_public_repositories: false,
      },
    ]);
  });

  it('creates a group that admits public repositories only with RUNNER_GROUP_PUBLIC=true', async () => {
    const payload = queuedJob({ org: 'public-org', repoName: 'api' });
    const response = await handler({
      RUNNER_GROUP_CREATE: 'true',
      RUNNER_GROUP_TEMPLATE: '<detail_org>-<target_env>-<detail_repo_name>',
      RUNNER_GROUP_PUBLIC: 'true',
    })(await signedRequest(payload));
    expect(response.statusCode).toBe(200);
    expect(groupCreations('public-org').map((r) => r.body)).toEqual([
      {
        name: 'public-org-sandpit-api',
        visibility: 'selected',
        selected_repository_ids: [payload.repository.id],
        allows_public_repositories: true,
      },
    ]);
  });

  it('answers 503 and creates no group per repository for a delivery without repository.id', async () => {
    const payload = queuedJob({ org: 'noid-org', repoName: 'api', noRepositoryId: true });
    const response = await handler({
      RUNNER_GROUP_CREATE: 'true',
      RUNNER_GROUP_TEMPLATE: '<detail_org>-<target_env>-<detail_repo_name>',
    })(await signedRequest(payload));
    expect(response.statusCode).toBe(503);
    expect(body(response).message).toContain('names no repository id');
    expect(body(response).message).toContain('RUNNER_GROUP_SHARED=true');
    expect(groupCreations('noid-org')).toEqual([]);
  });

  it('keeps the registration of a failed RunTask for the next try of the same attempt: one runner, one task', async () => {
    ecsFault = (operation) =>
      operation === 'RunTask'
        ? { kind: 'error', type: 'ClientException', status: 400, message: 'bad' }
        : undefined;
    const payload = queuedJob();
    const request = await signedRequest(payload);
    expect((await handle(request)).statusCode).toBe(503);
    const registered = String(ops('/generate-jitconfig').at(-1)?.body.name);
    const jits = ops('/generate-jitconfig').length;
    ecsFault = undefined;
    const redelivered = await handle(request);
    expect(redelivered.statusCode).toBe(200);
    expect(ops('/generate-jitconfig').length).toBe(jits);
    expect(body(redelivered).runnerName).toBe(registered);
    expect(runnerNamed(registered)).toBeDefined();
    expect(tasksOf(payload)).toHaveLength(1);
    expect(configKeyOf(overrideOf(payload)?.environmentFiles)).toMatch(RANDOM_KEY);
  });

  it('never deletes the registration of a task whose RunTask answer was lost: the retry finds that task', async () => {
    // ECS starts the task, then the connection drops: the outcome is unknown to the webhook.
    let dropped = false;
    ecsFault = (operation) => {
      if (operation !== 'RunTask' || dropped) return undefined;
      dropped = true;
      return { kind: 'hangup-after' };
    };
    const payload = queuedJob();
    const response = await handle(await signedRequest(payload));
    expect(response.statusCode).toBe(200);
    const name = String(body(response).runnerName);
    expect(tasksOf(payload)).toHaveLength(1);
    expect(runnerNamed(name)).toBeDefined();
    expect(github.requests.filter((r) => r.operation.startsWith('DELETE'))).toHaveLength(0);
  });

  it('answers a redelivery of a launched job with the same runner, registering no second runner', async () => {
    const payload = queuedJob();
    const request = await signedRequest(payload);
    const first = await handle(request);
    const runners = github.runners.size;
    const [task] = tasksOf(payload);
    const second = await handle(request);
    expect(second.statusCode).toBe(200);
    expect(body(second)).toMatchObject({ runnerName: body(first).runnerName, jobId: jobId(payload) });
    expect(tasksOf(payload)).toEqual([task]);
    expect(github.runners.size).toBe(runners);
  });

  it('replaces an offline registration of its own name left by a launcher that died before recording it', async () => {
    const payload = queuedJob();
    const decision = decide(
      parseConfig({ ...jitEnv(), RUNNER_REGISTRATION: 'token' }),
      parseWorkflowJob(payload),
    );
    if (decision.kind !== 'ours') throw new Error(decision.reason);
    const ghostId = 999_000 + (jobId(payload) % 1000);
    github.runners.set(ghostId, {
      id: ghostId,
      name: decision.plan.name,
      status: 'offline',
      busy: false,
      labels: [],
      groupId: 7,
      scope: 'org:octo-org',
    });
    const response = await handle(await signedRequest(payload));
    expect(response.statusCode).toBe(200);
    expect(tasksOf(payload)).toHaveLength(1);
    expect(github.runners.has(ghostId)).toBe(false);
    expect(runnerNamed(decision.plan.name)).toBeDefined();
  });

  it('answers 503 with the reason when GitHub refuses the credentials', async () => {
    github.fault = (r) =>
      r.operation.endsWith('/generate-jitconfig')
        ? { status: 401, body: { message: 'Bad credentials' } }
        : undefined;
    const response = await handle(await signedRequest(queuedJob()));
    expect(response.statusCode).toBe(503);
    expect(body(response).message).toContain('check the credentials and the GitHub App permissions');
    expect(response.body).not.toContain('Bad credentials');
  });

  it('answers 503 quickly when GitHub rate-limits for longer than the webhook can wait', async () => {
    github.fault = (r) => (r.operation.endsWith('/generate-jitconfig') ? rateLimited(600) : undefined);
    const started = Date.now();
    const response = await handle(await signedRequest(queuedJob()));
    expect(response.statusCode).toBe(503);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('retries a GitHub 5xx and then launches', async () => {
    let failures = 1;
    github.fault = (r) =>
      r.operation.endsWith('/generate-jitconfig') && failures-- > 0
        ? { status: 502, body: { message: 'Bad Gateway' } }
        : undefined;
    const response = await handle(await signedRequest(queuedJob()));
    expect(response.statusCode).toBe(200);
  });

  it('authenticates as a GitHub App, finding the organisation installation', async () => {
    const app = await startGitHubStandIn({ token: 'unused', installationId: 31337 });
    app.groups.set('org:octo-org', [{ id: 3, name: 'octo-org-sandpit', allows_public_repositories: false }]);
    try {
      const response = await handler({ GITHUB_AUTH_SECRET_ARN: APP_ARN, GITHUB_API_URL: app.url })(
        await signedRequest(queuedJob()),
      );
      expect(response.statusCode).toBe(200);
      const operations = app.requests.map((r) => r.operation);
      expect(operations.slice(0, 2)).toEqual([
        'GET /orgs/{org}/installation',
        'POST /app/installations/{installation_id}/access_tokens',
      ]);
      expect(app.requests[0]?.authorization).toMatch(/^bearer /i);
      expect(app.requests.at(-1)?.authorization).toMatch(/^token ghs_/);
      expect(app.violations).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe('token registration (RUNNER_REGISTRATION=token)', () => {
  let handle: ReturnType<typeof handler>;
  beforeAll(() => {
    handle = handler({ RUNNER_REGISTRATION: 'token' });
  });

  it('hands the task only a registration token of its scope, through S3: the RunTask request carries no token', async () => {
    const payload = queuedJob();
    const jits = ops('/generate-jitconfig').length;
    const response = await handle(await signedRequest(payload));
    expect(response.statusCode).toBe(200);
    const override = overrideOf(payload);
    expect(override?.environment.map((e) => e.name)).toEqual([
      'ORGANIZATION',
      'RUNNER_CONFIG_ARGS',
      'RUNNER_LABELS',
      'RUNNER_IDLE_TIMEOUT',
    ]);
    const key = configKeyOf(override?.environmentFiles);
    expect(key).toMatch(RANDOM_KEY);
    // The environment file holds one line: a registration token GitHub minted for the organisation.
    const object = (await s3.objects()).get(key) ?? '';
    const token = /^RUNNER_REGISTRATION_TOKEN=(\S+)\n$/.exec(object)?.[1] ?? '';
    expect(github.registrationTokens.get(token)?.scope).toBe('org:octo-org');
    expect(ops('/registration-token').at(-1)?.operation).toBe(
      'POST /orgs/{org}/actions/runners/registration-token',
    );
    // No ECS request or answer carries a token: not the registration token, not the functions' own.
    const ecsTraffic = JSON.stringify(ecs.calls) + JSON.stringify(ecs.tasks);
    expect(ecsTraffic).not.toContain(token);
    expect(ecsTraffic).not.toContain(TOKEN);
    expect(ecsTraffic).not.toContain('RUNNER_REGISTRATION_TOKEN');
    expect(ecsTraffic).not.toContain('RUNNER_ADMIN_TOKEN');
    expect(object).not.toContain(TOKEN);
    // The runner registers itself: nothing is registered for it.
    expect(ops('/generate-jitconfig').length).toBe(jits);
  });

  it("mints the token in the job's repository with repository scope", async () => {
    const payload = queuedJob({ repoName: 'api' });
    const response = await handler({ RUNNER_REGISTRATION: 'token', RUNNER_SCOPE: 'repo' })(
      await signedRequest(payload),
    );
    expect(response.statusCode).toBe(200);
    const minted = ops('/registration-token').at(-1);
    expect(minted?.operation).toBe('POST /repos/{owner}/{repo}/actions/runners/registration-token');
    expect(minted?.params).toMatchObject({ owner: 'octo-org', repo: 'api' });
    const object = (await s3.objects()).get(configKeyOf(overrideOf(payload)?.environmentFiles)) ?? '';
    const token = /^RUNNER_REGISTRATION_TOKEN=(\S+)\n$/.exec(object)?.[1] ?? '';
    expect(github.registrationTokens.get(token)?.scope).toBe('repo:octo-org/api');
  });

  it('keeps the object name for the next try of the same attempt, with a fresh token: one task', async () => {
    ecsFault = (operation) =>
      operation === 'RunTask'
        ? { kind: 'error', type: 'ClientException', status: 400, message: 'bad' }
        : undefined;
    const payload = queuedJob();
    const request = await signedRequest(payload);
    expect((await handle(request)).statusCode).toBe(503);
    const first = ops('/registration-token').length;
    ecsFault = undefined;
    expect((await handle(request)).statusCode).toBe(200);
    expect(ops('/registration-token').length).toBe(first + 1);
    const runTasks = ecs.calls.filter(
      (c) => c.operation === 'RunTask' && JSON.stringify(c).includes(`gha-job/${jobId(payload)}/`),
    );
    const keys = runTasks.map((c) => JSON.stringify(c).match(/runner-config\/[0-9a-f]{32}\.env/)?.[0]);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
    expect(tasksOf(payload)).toHaveLength(1);
  });

  it('answers 503 with the fix when GitHub refuses to mint the token, and starts no task', async () => {
    github.fault = (r) =>
      r.operation.endsWith('/registration-token')
        ? { status: 403, body: { message: 'Forbidden' } }
        : undefined;
    const payload = queuedJob();
    const response = await handle(await signedRequest(payload));
    expect(response.statusCode).toBe(503);
    expect(body(response).message).toContain('check the credentials and the GitHub App permissions');
    expect(tasksOf(payload)).toHaveLength(0);
  });
});

const APP_WEBHOOK = { GITHUB_AUTH_SECRET_ARN: APP_ARN, GITHUB_HOOK: 'app', ALLOWED_ORGS: 'octo-org' };
/** The functions in each shape the stack deploys them: registration, scope, GitHub App or token. */
const FUNCTION_VARIANTS = [
  ['JIT registration, repository runners', 'jit', { RUNNER_SCOPE: 'repo' }],
  ['JIT registration, organisation runners', 'jit', {}],
  ['token registration, repository runners', 'token', { RUNNER_REGISTRATION: 'token', RUNNER_SCOPE: 'repo' }],
  ['token registration, organisation runners', 'token', { RUNNER_REGISTRATION: 'token' }],
  ["a GitHub App's webhook, JIT registration", 'jit', APP_WEBHOOK],
  ["a GitHub App's webhook, token registration", 'token', { ...APP_WEBHOOK, RUNNER_REGISTRATION: 'token' }],
] as const;
/** What no task, request to ECS, config object or log line may hold: the functions' own credentials. */
const LONG_LIVED = [TOKEN, /ghs_[0-9a-f]{36}/, APP_KEY.split('\n')[1] ?? 'PRIVATE KEY', 'RUNNER_ADMIN_TOKEN'];

describe.each(FUNCTION_VARIANTS)('with %s', (_, kind, env) => {
  const repoName = 'api';
  const scope = 'RUNNER_SCOPE' in env ? `repo:octo-org/${repoName}` : 'org:octo-org';
  let handle: ReturnType<typeof handler>;
  let payload: ReturnType<typeof jobOfOurs>;
  let response: Awaited<ReturnType<ReturnType<typeof handler>>>;
  let log: string;
  let key: string;
  let credential: string;

  beforeAll(async () => {
    const logger = new Logger({ serviceName: 'variant', logLevel: 'DEBUG' });
    handle = createWebhookHandler(createWebhookDependencies({ env: jitEnv(env), overrides: { logger } }));
    payload = queuedJob({ repoName });
    const request = await signedRequest(payload);
    ({ result: response, output: log } = await capturedOutput(() => handle(request)));
    key = configKeyOf(overrideOf(payload)?.environmentFiles);
    const object = (await s3.objects()).get(key) ?? '';
    credential = new RegExp(`^${RUNNER_CREDENTIAL_ENV[kind]}=(\\S+)\\n$`).exec(object)?.[1] ?? '';
  });

  it("answers 202 to a public repository's job, naming the opt-in, and registers, mints and starts nothing", async () => {
    const job = queuedJob({ repoName: 'site', visibility: 'public' });
    const before = github.requests.length;
    const request = await signedRequest(job);
    const { result: refused } = await capturedOutput(() => handle(request));
    expect(refused.statusCode).toBe(202);
    expect(body(refused).message).toContain('is public');
    expect(body(refused).message).toContain('PUBLIC_REPOSITORIES_ALLOWED=octo-org/site');
    expect(tasksOf(job)).toEqual([]);
    expect(github.requests.slice(before).map((r) => r.operation)).toEqual([]);
  });

  it(`hands the task one short-lived ${kind === 'jit' ? 'JIT config' : 'registration token'} of the job's scope, in an S3 file under 128 random bits`, () => {
    expect(response.statusCode).toBe(200);
    expect(key).toMatch(RANDOM_KEY);
    expect(key).not.toContain(String(jobId(payload)));
    expect(overrideOf(payload)?.environmentFiles).toEqual([
      { type: 's3', value: `arn:aws:s3:::${RUNNER_CONFIG_BUCKET}/${key}` },
    ]);
    if (kind === 'jit') {
      expect(credential.length).toBeGreaterThan(3000);
      expect(runnerNamed(String(body(response).runnerName))?.scope).toBe(scope);
    } else {
      const minted = github.registrationTokens.get(credential);
      expect(minted?.scope).toBe(scope);
      expect(Date.parse(minted?.expiresAt ?? '') - Date.now()).toBeLessThanOrEqual(3_600_000);
    }
  });

  it("keeps the functions' credentials out of ECS, S3 and the log, and the runner's out of ECS and the log", async () => {
    const ecsTraffic = JSON.stringify(ecs.calls) + JSON.stringify(ecs.tasks);
    const object = (await s3.objects()).get(key) ?? '';
    for (const secret of LONG_LIVED) {
      for (const text of [ecsTraffic, object, log]) {
        if (typeof secret === 'string') expect(text).not.toContain(secret);
        else expect(text).not.toMatch(secret);
      }
    }
    expect(credential).not.toBe('');
    expect(ecsTraffic).not.toContain(credential.slice(0, 64));
    expect(log).not.toContain(credential.slice(0, 64));
  });

  it('answers with the runner name and job id, and keeps the task ARN in the log', () => {
    const [task] = tasksOf(payload);
    expect(body(response)).toMatchObject({ runnerName: expect.any(String), jobId: jobId(payload) });
    expect(response.body).not.toMatch(/arn:aws|123456789012|taskArn/);
    expect(log).toContain(task?.taskArn ?? 'no task');
  });
});

describe('a dry run (DRY_RUN=true)', () => {
  const dryRun = (env: Record<string, string> = {}) => {
    const printed: string[] = [];
    const handle = createWebhookHandler(
      createWebhookDependencies({
        env: jitEnv({ DRY_RUN: 'true', ...env }),
        print: (line) => printed.push(line),
      }),
    );
    return { handle, printed };
  };

  it('registers no runner at GitHub and starts no task: it prints the registration', async () => {
    const { handle, printed } = dryRun();
    const payload = queuedJob();
    const jits = ops('/generate-jitconfig').length;
    expect((await handle(await signedRequest(payload))).statusCode).toBe(200);
    expect(ops('/generate-jitconfig').length).toBe(jits);
    expect(printed.join('\n')).toContain('[dry run] GitHub generate-jitconfig');
    expect(tasksOf(payload)).toEqual([]);
  });

  it('registers a real runner at GitHub with DRY_RUN_REGISTER=true, and still starts no task', async () => {
    const { handle } = dryRun({ DRY_RUN_REGISTER: 'true' });
    const payload = queuedJob();
    const response = await handle(await signedRequest(payload));
    expect(response.statusCode).toBe(200);
    expect(ops('/generate-jitconfig').at(-1)?.body.name).toBe(body(response).runnerName);
    expect(runnerNamed(String(body(response).runnerName))).toBeDefined();
    expect(tasksOf(payload)).toEqual([]);
  });
});

describe('the GitHub credentials', () => {
  it('are read again after a failed read: one bad minute of Secrets Manager is not remembered', async () => {
    let reads = 0;
    const flaky = createWebhookHandler(
      createWebhookDependencies({
        env: jitEnv(),
        fetchSecret: async () => {
          reads++;
          if (reads === 1) throw new Error('ThrottlingException: Rate exceeded');
          return JSON.stringify({ token: TOKEN });
        },
      }),
    );
    expect((await flaky(await signedRequest(queuedJob()))).statusCode).toBe(503);
    expect((await flaky(await signedRequest(queuedJob()))).statusCode).toBe(200);
    expect(reads).toBe(2);
  });
});

describe('the job-still-queued check', () => {
  let handle: ReturnType<typeof handler>;
  beforeAll(() => {
    handle = handler();
  });
  const late = (payload: ReturnType<typeof jobOfOurs>) => {
    payload.workflow_job.created_at = new Date(Date.now() - 3 * 3_600_000).toISOString();
    return payload;
  };

  it('launches nothing for a late delivery of a job that is no longer queued', async () => {
    const payload = late(queuedJob());
    github.jobs.set(jobId(payload), 'completed');
    const runTasks = ecs.calls.filter((c) => c.operation === 'RunTask').length;
    const jits = ops('/generate-jitconfig').length;
    const response = await handle(await signedRequest(payload));
    expect(response.statusCode).toBe(202);
    expect(body(response).message).toContain('completed on GitHub');
    expect(ecs.calls.filter((c) => c.operation === 'RunTask').length).toBe(runTasks);
    expect(ops('/generate-jitconfig').length).toBe(jits);
  });

  it('launches for a late delivery of a job still queued', async () => {
    const payload = late(queuedJob());
    expect((await handle(await signedRequest(payload))).statusCode).toBe(200);
    expect(tasksOf(payload)).toHaveLength(1);
  });

  it('does not ask GitHub about a fresh delivery', async () => {
    const before = ops('/actions/jobs/{job_id}').length;
    await handle(await signedRequest(queuedJob()));
    expect(ops('/actions/jobs/{job_id}').length).toBe(before);
  });

  it('launches anyway when GitHub cannot say', async () => {
    github.fault = (r) =>
      r.operation.endsWith('/actions/jobs/{job_id}') ? { status: 500, body: { message: 'oops' } } : undefined;
    const payload = late(queuedJob());
    expect((await handle(await signedRequest(payload))).statusCode).toBe(200);
  });
});
