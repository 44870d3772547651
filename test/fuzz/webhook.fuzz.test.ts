/**
 * Fuzz suite (fast-check): whatever arrives, the webhook never throws, never answers 5xx for a
 * fault of the request, never launches without a valid signature, never puts a payload character
 * outside [A-Za-z0-9._-] into a runner argument, and never logs a secret or a signature.
 * More than 10,000 cases in all.
 */
import { createHmac } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { createWebhookDependencies } from '../../shared/dependencies';
import type { RunnerLauncher } from '../../shared/ecs/launcher';
import type { RunTaskRequest } from '../../shared/ecs/run-task-input';
import { createPrintingRunnerConfigStore } from '../../shared/ecs/runner-config-store';
import { createDryRunGitHub } from '../../shared/github/dry-run-github';
import { SAFE_VALUE } from '../../shared/runner/template';
import { createWebhookHandler } from '../../shared/webhook/handle-webhook';
import { fromLambdaEvent } from '../../shared/webhook/lambda-event';
import { defaultLabel, jobOfOurs } from '../fixtures/payloads';

const SECRET = 'fuzz-secret-4f1c2d9e8b7a';
/** GitHub's signature, for any body (empty included, which Octokit's sign() refuses). */
const sign = async (secret: string, text: string) =>
  `sha256=${createHmac('sha256', secret).update(text).digest('hex')}`;
const PREVIOUS = 'fuzz-previous-secret-77aa';

/** A launcher that records what it would send: the fuzz checks the request, not ECS. */
const launches: RunTaskRequest[] = [];
const launcher: RunnerLauncher = {
  async launch(request) {
    launches.push(request);
    return {
      kind: 'started',
      taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/runners/fuzz',
    };
  },
  async findTask() {
    return undefined;
  },
};

/** Everything the handler logs during a case (INFO to stdout, WARN and ERROR to stderr). */
let logged = '';
let loggedInAll = 0;
const streams = [process.stdout, process.stderr] as const;
const writes = streams.map((stream) => stream.write.bind(stream));
beforeAll(() => {
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      logged += String(chunk);
      loggedInAll++;
      return true;
    }) as typeof stream.write;
  }
});
afterAll(() => {
  streams.forEach((stream, i) => {
    stream.write = writes[i] as typeof stream.write;
  });
  // Not vacuous: the log checks saw the handler's lines.
  expect(loggedInAll).toBeGreaterThan(1000);
});

/** Token registration, with the dry run's GitHub and config store: a launch registers nothing and writes nothing. */
const LAUNCH_ENV = {
  WEBHOOK_SECRET: SECRET,
  RUNNER_REGISTRATION: 'token',
  GITHUB_TOKEN: 'ghp_fuzz',
  RUNNER_CONFIG_BUCKET: 'github-runners-config',
};
const launchOverrides = () => ({
  launcher,
  github: createDryRunGitHub(() => undefined),
  configStore: createPrintingRunnerConfigStore(() => undefined),
  logger: new Logger({ serviceName: 'fuzz', logLevel: 'DEBUG' }),
});

const handler = createWebhookHandler(
  createWebhookDependencies({
    env: { ...LAUNCH_ENV, WEBHOOK_SECRET_PREVIOUS: PREVIOUS, ECS_CLUSTER: 'runners' },
    overrides: launchOverrides(),
  }),
);

/** Any header name in any case: the ones GitHub sends, and others. */
const headerName = fc.oneof(
  fc.constantFrom(
    'x-hub-signature-256',
    'x-github-event',
    'x-github-delivery',
    'content-type',
    'x-hub-signature',
  ),
  fc.string({ minLength: 1, maxLength: 20 }),
);
const randomCase = (name: string, mask: number[]) =>
  [...name].map((c, i) => ((mask[i % mask.length] ?? 0) % 2 ? c.toUpperCase() : c.toLowerCase())).join('');

const body = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.json({ maxDepth: 3 }),
  // A fresh job each time: the ledger launches a job once, however often it is delivered.
  fc.integer({ min: 1, max: 2 ** 40 }).map((jobId) => JSON.stringify(jobOfOurs({ jobId }))),
  fc
    .tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.jsonValue({ maxDepth: 3 }))
    .map(([jobId, extra]) => JSON.stringify({ ...jobOfOurs({ jobId }), extra })),
);

type Shape = 'rest' | 'http' | 'url';
const toEvent = (
  shape: Shape,
  method: string,
  headers: Record<string, string>,
  text: string,
  base64: boolean,
): APIGatewayProxyEvent | APIGatewayProxyEventV2 => {
  const encoded = base64 ? Buffer.from(text, 'utf8').toString('base64') : text;
  if (shape === 'rest') {
    return {
      httpMethod: method,
      headers,
      body: encoded,
      isBase64Encoded: base64,
    } as unknown as APIGatewayProxyEvent;
  }
  return {
    version: '2.0',
    routeKey: shape === 'url' ? '$default' : 'POST /webhook',
    headers,
    requestContext: { http: { method } },
    body: encoded,
    isBase64Encoded: base64,
  } as unknown as APIGatewayProxyEventV2;
};

/** A workflow_job delivery as GitHub posts it, with the given body and signature. */
const workflowJobRequest = (text: string, signature: string) => ({
  method: 'POST',
  headers: {
    'x-hub-signature-256': signature,
    'x-github-event': 'workflow_job',
    'content-type': 'application/json',
  },
  body: text,
});

/** Checks every property that must hold for any answer. */
function checkAnswer(response: { statusCode: number; body: string }, signature: string | undefined) {
  expect(Number.isInteger(response.statusCode)).toBe(true);
  expect(response.statusCode).toBeLessThan(500);
  expect(() => JSON.parse(response.body)).not.toThrow();
  expect(logged).not.toContain(SECRET);
  expect(logged).not.toContain(PREVIOUS);
  if (signature !== undefined && signature.length > 20) expect(logged).not.toContain(signature);
}

/** Every runner argument and scope value of a launch uses only safe characters, in the seed's shape. */
function checkLaunch(request: RunTaskRequest) {
  const environment = request.input.overrides?.containerOverrides?.[0]?.environment ?? [];
  for (const { name, value } of environment) {
    if (name === 'RUNNER_CONFIG_ARGS') {
      const args = (value ?? '').split(' ');
      expect(args.slice(0, 4)).toEqual([
        '--unattended',
        '--replace',
        '--disableupdate',
        '--no-default-labels',
      ]);
      expect(args.at(-1)).toBe('--ephemeral');
      expect(args).toHaveLength(11);
      for (const i of [5, 7, 9])
        expect((args[i] ?? '').split(',').every((v) => SAFE_VALUE.test(v))).toBe(true);
    } else if (name === 'REPOSITORY') {
      expect(value).toMatch(/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/);
    } else {
      expect((value ?? '').split(',').every((v) => SAFE_VALUE.test(v))).toBe(true);
    }
  }
  expect(request.input.startedBy).toMatch(/^[A-Za-z0-9_/-]{1,128}$/);
}

describe('fuzz: the webhook', () => {
  it('answers any request without throwing or 5xx, and launches only when signed', async () => {
    const first = launches.length;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          shape: fc.constantFrom<Shape>('rest', 'http', 'url'),
          method: fc.oneof(
            fc.constant('POST'),
            fc.constant('post'),
            fc.constantFrom('GET', 'PUT', 'OPTIONS'),
          ),
          body,
          base64: fc.boolean(),
          signWith: fc.constantFrom('current', 'previous', 'other', 'none', 'garbage', 'sha1-only'),
          event: fc.oneof(fc.constantFrom('workflow_job', 'ping', 'push'), fc.string({ maxLength: 30 })),
          contentType: fc.oneof(
            fc.constant('application/json'),
            fc.constant('APPLICATION/JSON; charset=utf-8'),
            fc.string({ maxLength: 40 }),
          ),
          extra: fc.dictionary(headerName, fc.string({ maxLength: 60 }), { maxKeys: 4 }),
          caseMask: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
        }),
        async (c) => {
          logged = '';
          const before = launches.length;
          const signature =
            c.signWith === 'current'
              ? await sign(SECRET, c.body)
              : c.signWith === 'previous'
                ? await sign(PREVIOUS, c.body)
                : c.signWith === 'other'
                  ? await sign('not-our-secret', c.body)
                  : c.signWith === 'garbage'
                    ? `sha256=${c.body.slice(0, 64)}`
                    : undefined;
          const headers: Record<string, string> = { ...c.extra };
          const set = (name: string, value: string) => {
            headers[randomCase(name, c.caseMask)] = value;
          };
          set('content-type', c.contentType);
          set('x-github-event', c.event);
          set('x-github-delivery', 'fuzz-delivery');
          if (signature !== undefined) set('X-Hub-Signature-256', signature);
          if (c.signWith === 'sha1-only') set('X-Hub-Signature', 'sha1=0123456789abcdef');
          const response = await handler(
            fromLambdaEvent(toEvent(c.shape, c.method, headers, c.body, c.base64)),
          );
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          checkAnswer(response, signature);
          const validlySigned = c.signWith === 'current' || c.signWith === 'previous';
          if (!validlySigned) expect(launches.length).toBe(before);
          if (!validlySigned && c.method.toUpperCase() === 'POST')
            expect([400, 401]).toContain(response.statusCode);
          for (const request of launches.slice(before)) checkLaunch(request);
        },
      ),
      { numRuns: 6000 },
    );
    // Not vacuous: the cases reached every answer, launches included.
    expect(launches.length - first).toBeGreaterThan(20);
    for (const status of [200, 202, 400, 401, 405, 415]) expect(statuses.get(status) ?? 0).toBeGreaterThan(0);
  }, 300_000);

  it('never lets payload characters outside [A-Za-z0-9._-] into a runner argument', async () => {
    const first = launches.length;
    let refused = 0;
    const anyText = fc.oneof(
      fc.string({ minLength: 1, maxLength: 40 }),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
      fc.constantFrom(
        'x --url https://evil.example',
        'a;rm -rf /',
        '$(id)',
        'a,b',
        'ok-name',
        'tab\there',
        '../..',
        '--url',
        '-x',
        '.github',
      ),
      // Values a runner argument may take: a letter or a digit first.
      fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,29}$/),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          org: anyText,
          repo: anyText,
          owner: anyText,
          enterprise: anyText,
          jobId: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
          runId: fc.nat(),
          runAttempt: fc.integer({ min: 1, max: 100 }),
          scope: fc.constantFrom('org', 'repo', 'enterprise'),
        }),
        async (c) => {
          logged = '';
          const payload = jobOfOurs({
            org: c.org,
            repoName: c.repo,
            jobId: c.jobId,
            runId: c.runId,
            runAttempt: c.runAttempt,
          });
          payload.repository.owner = {
            ...payload.repository.owner,
            login: c.scope === 'repo' ? c.owner : c.org,
          };
          payload.enterprise = { slug: c.enterprise };
          // Ask for exactly the label our runner would get for these values, so the job is ours.
          payload.workflow_job.labels = [defaultLabel(payload)];
          const text = JSON.stringify(payload);
          const before = launches.length;
          const scoped = createWebhookHandler(
            createWebhookDependencies({
              env: { ...LAUNCH_ENV, ECS_CLUSTER: 'runners', RUNNER_SCOPE: c.scope },
              overrides: launchOverrides(),
            }),
          );
          const signature = await sign(SECRET, text);
          const response = await scoped(workflowJobRequest(text, signature));
          checkAnswer(response, signature);
          expect([200, 202, 422]).toContain(response.statusCode);
          if (response.statusCode === 422) refused++;
          for (const request of launches.slice(before)) checkLaunch(request);
        },
      ),
      { numRuns: 4000 },
    );
    expect(launches.length - first).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  }, 300_000);

  it('answers bodies up to GitHub’s 25 MB cap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 25 * 1024 * 1024 - 20_000 }),
        fc.boolean(),
        async (size, signed) => {
          logged = '';
          const payload = { ...jobOfOurs(), padding: 'x'.repeat(size) };
          const text = JSON.stringify(payload);
          const signature = signed ? await sign(SECRET, text) : `sha256=${'0'.repeat(64)}`;
          const response = await handler(workflowJobRequest(text, signature));
          checkAnswer(response, signature);
          expect(response.statusCode).toBe(signed ? 200 : 401);
        },
      ),
      { numRuns: 4 },
    );
  }, 120_000);
});
