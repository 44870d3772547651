/**
 * The whole webhook handler with the real ECS and Secrets Manager clients, talking to loopback
 * stand-ins that speak the AWS JSON protocol and enforce ECS's limits.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createWebhookDependencies } from '../../shared/dependencies';
import { createMemoryJobLedger, type JobLedger } from '../../shared/jobs/job-ledger';
import { createWebhookHandler, type WebhookHandler } from '../../shared/webhook/handle-webhook';
import { githubHostedQueued, jobOfOurs, realPing } from '../fixtures/payloads';
import { signedRequest, TEST_SECRET } from '../fixtures/requests';
import type { Fault } from '../support/aws-stand-in';
import { capturedOutput } from '../support/captured-output';
import { type EcsStandIn, startEcsStandIn } from '../support/ecs-stand-in';
import { type RegistrationStandIns, startRegistrationStandIns } from '../support/registration-stand-ins';
import { startSecretsManagerStandIn } from '../support/secrets-manager-stand-in';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf';
const ROTATING_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:rotating-AbCdEf';

let ecs: EcsStandIn;
let fault: ((operation: string, input: Record<string, unknown>) => Fault | undefined) | undefined;
let placementFailure: string | undefined;
let secretsManager: Awaited<ReturnType<typeof startSecretsManagerStandIn>>;
let registration: RegistrationStandIns;

beforeAll(async () => {
  ecs = await startEcsStandIn({
    fault: (operation, input) => fault?.(operation, input),
    placementFailure: () => placementFailure,
  });
  secretsManager = await startSecretsManagerStandIn({
    [SECRET_ARN]: TEST_SECRET,
    [ROTATING_ARN]: JSON.stringify({ secret: 'new-secret', previous: TEST_SECRET }),
  });
  process.env.AWS_ENDPOINT_URL_ECS = ecs.url;
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secretsManager.url;
  registration = await startRegistrationStandIns();
});
afterAll(async () => {
  await ecs.close();
  await secretsManager.close();
  await registration.close();
});
afterEach(() => {
  fault = undefined;
  placementFailure = undefined;
});

const handlerWith = (
  env: Record<string, string> = {},
  extra: Parameters<typeof createWebhookDependencies>[0] = {},
) =>
  createWebhookHandler(
    createWebhookDependencies({
      env: { WEBHOOK_SECRET_ARN: SECRET_ARN, ECS_CLUSTER: 'runners', ...registration.env, ...env },
      ...extra,
    }),
  );

let nextJob = 5_000_000_000;
const freshJob = () => jobOfOurs({ jobId: nextJob++ });
const runTasks = () => ecs.calls.filter((call) => call.operation === 'RunTask');
const tasksFor = (jobId: number) =>
  ecs.tasks.filter((task) => task.startedBy?.startsWith(`gha-job/${jobId}/`));
const body = (response: { body: string }) => JSON.parse(response.body) as Record<string, unknown>;
/** A started task's RUNNER_CONFIG_ARGS, as ECS holds it. */
const configArgsOf = (task: ReturnType<typeof tasksFor>[number] | undefined) =>
  (
    task?.overrides as
      | { containerOverrides: Array<{ environment: Array<{ name: string; value: string }> }> }
      | undefined
  )?.containerOverrides[0]?.environment.find((e) => e.name === 'RUNNER_CONFIG_ARGS')?.value ?? '';

describe('webhook handler against ECS and Secrets Manager stand-ins', () => {
  let handle: WebhookHandler;
  beforeAll(() => {
    handle = handlerWith();
  });

  it('starts one runner task for a queued job of ours and answers 200 with its runner name and job id', async () => {
    const payload = freshJob();
    const response = await handle(await signedRequest(payload));
    expect(response.statusCode).toBe(200);
    const [task] = tasksFor(payload.workflow_job.id as number);
    const { runnerName } = body(response);
    expect(body(response)).toMatchObject({
      message: 'runner task started',
      runnerName: expect.any(String),
      jobId: payload.workflow_job.id,
    });
    expect(configArgsOf(task)).toContain(` --name ${String(runnerName)} `);
    expect(task?.overrides).toEqual({
      containerOverrides: [
        {
          name: 'github-actions-self-hosted-runner-debian-container',
          environment: [
            { name: 'REPOSITORY', value: 'octo-org/elastic-machines-testing' },
            { name: 'RUNNER_CONFIG_ARGS', value: expect.stringContaining('--ephemeral') },
            { name: 'RUNNER_LABELS', value: (payload.workflow_job.labels as string[])[0] },
            { name: 'RUNNER_IDLE_TIMEOUT', value: '900' },
          ],
          // The registration token is in the environment file, never in the request.
          environmentFiles: [
            { type: 's3', value: expect.stringMatching(/:::[a-z0-9-]+\/runner-config\/[0-9a-f]{32}\.env$/) },
          ],
        },
      ],
    });
  });

  it('answers 200 to ping', async () => {
    const response = await handle(await signedRequest(realPing(), { event: 'ping' }));
    expect(response.statusCode).toBe(200);
  });

  it('answers 202 to a GitHub-hosted job and calls no ECS API', async () => {
    const before = ecs.calls.length;
    const response = await handle(await signedRequest(githubHostedQueued()));
    expect(response.statusCode).toBe(202);
    expect(body(response).message).toMatch(/^not ours: the job asks for \[ubuntu-latest\]/);
    expect(ecs.calls.length).toBe(before);
  });

  it('answers 202 "not ours" to an organisation job asking for other labels', async () => {
    const response = await handle(await signedRequest(jobOfOurs({ labels: ['ubuntu-latest'] })));
    expect(response.statusCode).toBe(202);
    expect(body(response).message).toMatch(/^not ours/);
  });

  it('answers 202 to other events, naming the event', async () => {
    const response = await handle(await signedRequest(freshJob(), { event: 'workflow_run' }));
    expect(response.statusCode).toBe(202);
    expect(body(response).message).toContain('workflow_run');
  });

  it('records a completed job of ours and starts nothing', async () => {
    const before = runTasks().length;
    const response = await handle(await signedRequest(jobOfOurs({ action: 'completed', jobId: nextJob++ })));
    expect(response.statusCode).toBe(200);
    expect(body(response)).toMatchObject({ message: expect.stringContaining('completed'), state: 'done' });
    expect(runTasks().length).toBe(before);
  });

  it('records a job waiting for its deployment approval and starts no runner until it is approved', async () => {
    const jobId = nextJob++;
    const waiting = await handle(await signedRequest(jobOfOurs({ jobId, waitingForApproval: true })));
    expect(waiting.statusCode).toBe(200);
    expect(body(waiting)).toMatchObject({ state: 'waiting' });
    expect(tasksFor(jobId)).toHaveLength(0);
    const approved = await handle(await signedRequest(jobOfOurs({ jobId })));
    expect(approved.statusCode).toBe(200);
    expect(tasksFor(jobId)).toHaveLength(1);
  });

  it('starts nothing for a queued delivery that arrives after the job started', async () => {
    const jobId = nextJob++;
    await handle(await signedRequest(jobOfOurs({ jobId, action: 'in_progress', runnerName: 'some-runner' })));
    const late = await handle(await signedRequest(jobOfOurs({ jobId })));
    expect(late.statusCode).toBe(200);
    expect(body(late)).toMatchObject({ state: 'running' });
    expect(tasksFor(jobId)).toHaveLength(0);
  });

  it('answers 401 when the signature is over another body, and starts nothing', async () => {
    const before = ecs.calls.length;
    const request = await signedRequest(freshJob());
    const response = await handle({ ...request, body: request.body.replace('queued', 'queued ') });
    expect(response.statusCode).toBe(401);
    expect(ecs.calls.length).toBe(before);
  });

  it('answers 401 when the delivery is signed with another secret', async () => {
    const response = await handle(await signedRequest(freshJob(), { secret: 'not-ours' }));
    expect(response.statusCode).toBe(401);
  });

  it('answers 401 when only the SHA-1 signature is sent', async () => {
    const request = await signedRequest(freshJob());
    const { 'x-hub-signature-256': _, ...headers } = request.headers;
    const response = await handle({ ...request, headers: { ...headers, 'x-hub-signature': 'sha1=0123' } });
    expect(response.statusCode).toBe(401);
    expect(body(response).message).toContain('X-Hub-Signature-256 is required');
  });

  it('answers 400 to a signed body that is not JSON', async () => {
    const response = await handle(await signedRequest('queued=true'));
    expect(response.statusCode).toBe(400);
    expect(body(response).message).toContain('not JSON');
  });

  it('answers 400 naming what a workflow_job delivery is missing', async () => {
    const response = await handle(await signedRequest({ action: 'queued', repository: {} }));
    expect(response.statusCode).toBe(400);
    expect(body(response).message).toContain('workflow_job');
  });

  it('answers 415 to a form-encoded webhook, telling the operator to switch to JSON', async () => {
    const request = await signedRequest(freshJob(), {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const response = await handle(request);
    expect(response.statusCode).toBe(415);
    expect(body(response).message).toContain('application/json');
  });

  it('answers 403 to a delivery from outside WEBHOOK_ALLOWED_CIDRS, and starts nothing', async () => {
    const guarded = handlerWith({ WEBHOOK_ALLOWED_CIDRS: '192.30.252.0/22,185.199.108.0/22' });
    const before = runTasks().length;
    const request = await signedRequest(freshJob());
    const outside = await guarded({ ...request, sourceIp: '203.0.113.9' });
    expect(outside.statusCode).toBe(403);
    expect(body(outside).message).toContain('WEBHOOK_ALLOWED_CIDRS');
    expect(runTasks().length).toBe(before);
    expect((await guarded({ ...request, sourceIp: '192.30.252.10' })).statusCode).toBe(200);
  });

  it('answers 405 to GET', async () => {
    const response = await handle({ ...(await signedRequest(freshJob())), method: 'GET' });
    expect(response.statusCode).toBe(405);
  });

  it('answers 422 to a job of ours whose values would inject runner arguments, and starts nothing', async () => {
    const before = runTasks().length;
    const payload = jobOfOurs({ repoName: 'repo --url https://evil.example' });
    const response = await handle(await signedRequest(payload));
    expect(response.statusCode).toBe(422);
    expect(runTasks().length).toBe(before);
  });

  it('starts one task when the same delivery arrives twice', async () => {
    const payload = freshJob();
    const request = await signedRequest(payload);
    const [first, second] = await Promise.all([handle(request), handle(request)]);
    // One claims the launch; the other finds the task, or the launch in flight (the ledger's lock).
    expect([first.statusCode, second.statusCode]).toContain(200);
    for (const { statusCode } of [first, second]) expect([200, 202]).toContain(statusCode);
    expect(tasksFor(payload.workflow_job.id as number)).toHaveLength(1);
    const replay = await handle(request);
    expect(body(replay)).toMatchObject({
      message: 'the job already has a runner task',
      jobId: payload.workflow_job.id,
    });
    const [task] = tasksFor(payload.workflow_job.id as number);
    expect(configArgsOf(task)).toContain(` --name ${String(body(replay).runnerName)} `);
  });

  it('keeps the task ARN (account id, region, cluster) out of every answer GitHub logs', async () => {
    const payload = freshJob();
    const request = await signedRequest(payload);
    const answers = [await handle(request), await handle(request)];
    expect(tasksFor(payload.workflow_job.id as number)).toHaveLength(1);
    for (const answer of answers) {
      expect(answer.statusCode).toBe(200);
      expect(answer.body).not.toContain('arn:aws:ecs');
      expect(answer.body).not.toContain('taskArn');
    }
  });

  it("reads a new job's ledger record once and writes it three times: launch claimed, config recorded, started", async () => {
    const ledger = createMemoryJobLedger();
    const calls: string[] = [];
    const counting: JobLedger = {
      ...ledger,
      get: (...args) => {
        calls.push('get');
        return ledger.get(...args);
      },
      put: (...args) => {
        calls.push(`put ${args[0].state}`);
        return ledger.put(...args);
      },
    };
    const response = await handlerWith(
      {},
      { overrides: { ledger: counting } },
    )(await signedRequest(freshJob()));
    expect(response.statusCode).toBe(200);
    expect(calls).toEqual(['get', 'put launching', 'put launching', 'put task-started']);
  });

  it('starts one task when the same job is queued twice in two deliveries', async () => {
    const payload = freshJob();
    await handle(await signedRequest(payload));
    await handle(await signedRequest(payload));
    expect(tasksFor(payload.workflow_job.id as number)).toHaveLength(1);
  });

  it('retries throttling and 5xx, then starts the task', async () => {
    let calls = 0;
    fault = (operation) => {
      if (operation !== 'RunTask') return undefined;
      calls++;
      if (calls === 1)
        return { kind: 'error', type: 'ThrottlingException', status: 400, message: 'Rate exceeded' };
      if (calls === 2) return { kind: 'error', type: 'ServerException', status: 500 };
      return undefined;
    };
    const payload = freshJob();
    const response = await handle(await signedRequest(payload));
    expect(response.statusCode).toBe(200);
    expect(calls).toBe(3);
    expect(tasksFor(payload.workflow_job.id as number)).toHaveLength(1);
  });

  it('starts exactly one task when ECS started it but the connection dropped before the answer', async () => {
    let dropped = false;
    fault = (operation) => {
      if (operation !== 'RunTask' || dropped) return undefined;
      dropped = true;
      return { kind: 'hangup-after' };
    };
    const payload = freshJob();
    const response = await handle(await signedRequest(payload));
    expect(response.statusCode).toBe(200);
    expect(tasksFor(payload.workflow_job.id as number)).toHaveLength(1);
  });

  it('answers 503 naming the delivery, without raw AWS text, when ECS cannot place the task', async () => {
    placementFailure = 'RESOURCE:MEMORY';
    const request = await signedRequest(freshJob());
    const response = await handle(request);
    expect(response.statusCode).toBe(503);
    expect(body(response).message).toContain(`delivery ${request.headers['x-github-delivery']}`);
    expect(response.body).not.toMatch(/arn:aws|123456789012|RESOURCE:MEMORY/);
  });

  it('starts the task on a redelivery once capacity is back, after an explicit failures[] answer', async () => {
    let offset = 0;
    const clocked = handlerWith({}, { now: () => Date.now() + offset });
    placementFailure = 'RESOURCE:MEMORY';
    const payload = freshJob();
    const request = await signedRequest(payload);
    expect((await clocked(request)).statusCode).toBe(503);
    placementFailure = undefined;
    offset += 10_000;
    const response = await clocked(request);
    expect(response.statusCode).toBe(200);
    expect(tasksFor(payload.workflow_job.id as number)).toHaveLength(1);
  });

  it('answers 503 within its deadline when ECS keeps throttling', async () => {
    fault = (operation) =>
      operation === 'RunTask' ? { kind: 'error', type: 'ThrottlingException', status: 400 } : undefined;
    const quick = handlerWith({ LAUNCH_DEADLINE_MS: '1000' });
    const started = Date.now();
    const response = await quick(await signedRequest(freshJob()));
    expect(response.statusCode).toBe(503);
    expect(body(response).message).toContain('did not start in time');
    // The 1 s deadline bounds the answer; the margin is for a loaded machine, not a speed target.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('answers 503 with the fix when ECS refuses the request (a setup error), without retrying it', async () => {
    const wrongCluster = handlerWith({ ECS_CLUSTER: 'no-such-cluster' });
    const response = await wrongCluster(await signedRequest(freshJob()));
    expect(response.statusCode).toBe(503);
    expect(body(response).message).toContain('check the cluster, the task definition');
    expect(response.body).not.toContain('ClusterNotFoundException');
    // Counted by cluster: a retry still in flight from an earlier test must not count here.
    expect(runTasks().filter((call) => call.input.cluster === 'no-such-cluster')).toHaveLength(1);
  });

  it('answers 500 with a generic body to an error it does not know, and keeps the detail in the log', async () => {
    const detail = 'AccessDeniedException: arn:aws:iam::123456789012:role/ops is not authorized';
    const logger = new Logger({ serviceName: 'test', logLevel: 'DEBUG' });
    const broken = handlerWith(
      {},
      {
        secrets: {
          get: async () => {
            throw new Error(detail);
          },
        },
        overrides: { logger },
      },
    );
    const request = await signedRequest(freshJob());
    const { result, output } = await capturedOutput(() => broken(request));
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toMatch(/arn:aws|123456789012|AccessDenied/);
    expect(output).toContain(detail);
  });

  it('accepts the previous secret stored beside the new one during a rotation', async () => {
    const rotating = handlerWith({ WEBHOOK_SECRET_ARN: ROTATING_ARN });
    expect((await rotating(await signedRequest(realPing(), { event: 'ping' }))).statusCode).toBe(200);
    const withNew = await signedRequest(realPing(), { event: 'ping', secret: 'new-secret' });
    expect((await rotating(withNew)).statusCode).toBe(200);
  });

  it('logs the decision with delivery and job ids, and never the body, signature or secret', async () => {
    const logger = new Logger({ serviceName: 'test', logLevel: 'DEBUG' });
    const payload = freshJob();
    const request = await signedRequest(payload, { delivery: 'delivery-under-test' });
    const { output: log } = await capturedOutput(() => handlerWith({}, { overrides: { logger } })(request));
    const entry = log
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((l) => l.decision === 'launch');
    expect(entry).toMatchObject({
      delivery: 'delivery-under-test',
      event: 'workflow_job',
      action: 'queued',
      jobId: payload.workflow_job.id,
      runId: payload.workflow_job.run_id,
      repository: 'octo-org/elastic-machines-testing',
    });
    expect(log).not.toContain(TEST_SECRET);
    expect(log).not.toContain(request.headers['x-hub-signature-256']);
    expect(log).not.toContain(payload.workflow_job.head_sha as string);
  });

  it('publishes JobsServed as CloudWatch EMF, one line per delivery', async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const metrics = new Metrics({ namespace: 'GitHubRunners', serviceName: 'test' });
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const request = await signedRequest(freshJob());
    const { output } = await capturedOutput(() => handlerWith({}, { overrides: { metrics } })(request));
    const emf = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => '_aws' in l);
    expect(emf).toEqual([expect.objectContaining({ JobsServed: 1 })]);
  });
});
