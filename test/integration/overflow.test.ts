/**
 * The overflow queue: the webhook hands a job it could not start in time to SQS and answers 202;
 * the launcher function drains the queue with the same launch code. Real ECS and SQS clients
 * against loopback stand-ins; the SQS event source mapping is emulated by `pollQueue`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createDependencies, createWebhookDependencies } from '../../shared/dependencies';
import { createMemoryJobLedger } from '../../shared/jobs/job-ledger';
import { retryDelaySeconds } from '../../shared/queue/launch-queued-job';
import { createLauncherHandler } from '../../shared/queue/launcher-handler';
import { createSqsRetryDelay } from '../../shared/queue/overflow-queue';
import { createWebhookHandler } from '../../shared/webhook/handle-webhook';
import { jobOfOurs } from '../fixtures/payloads';
import { signedRequest, TEST_SECRET } from '../fixtures/requests';
import type { Fault } from '../support/aws-stand-in';
import { type EcsStandIn, startEcsStandIn } from '../support/ecs-stand-in';
import { type RegistrationStandIns, startRegistrationStandIns } from '../support/registration-stand-ins';
import { pollQueue } from '../support/sqs-poller';
import { type SqsStandIn, startSqsStandIn } from '../support/sqs-stand-in';

let ecs: EcsStandIn;
let sqs: SqsStandIn;
let registration: RegistrationStandIns;
let placementFailure: string | undefined;
let sqsFault: ((operation: string) => Fault | undefined) | undefined;

beforeAll(async () => {
  ecs = await startEcsStandIn({ placementFailure: () => placementFailure });
  sqs = await startSqsStandIn({ maxReceiveCount: 3, timeScale: 0.001, fault: (op) => sqsFault?.(op) });
  process.env.AWS_ENDPOINT_URL_ECS = ecs.url;
  process.env.AWS_ENDPOINT_URL_SQS = sqs.url;
  registration = await startRegistrationStandIns();
});
afterAll(async () => {
  await Promise.all([ecs.close(), sqs.close(), registration.close()]);
});
afterEach(() => {
  placementFailure = undefined;
  sqsFault = undefined;
  sqs.messages.length = 0;
  sqs.deadLetters.length = 0;
});

const env = () => ({
  WEBHOOK_SECRET: TEST_SECRET,
  ECS_CLUSTER: 'runners',
  OVERFLOW_QUEUE_URL: sqs.queueUrl,
  ...registration.env,
});
// One ledger for the webhook and the launcher, as they share the table when deployed: the launcher
// retries an attempt with the config object (and so the RunTask request) the webhook recorded.
const ledger = createMemoryJobLedger();
const webhook = () => createWebhookHandler(createWebhookDependencies({ env: env(), overrides: { ledger } }));
/** The launcher, on a clock that moves 10 s per invocation: the stand-in's visibility delays are scaled down. */
const launcher = () => {
  let offset = 0;
  const deps = createDependencies({ env: env(), now: () => Date.now() + offset, overrides: { ledger } });
  const handle = createLauncherHandler({ ...deps, delayRetry: createSqsRetryDelay(sqs.queueUrl) });
  return (...args: Parameters<typeof handle>) => {
    offset += 10_000;
    return handle(...args);
  };
};
let nextJob = 6_000_000_000;
const job = () => jobOfOurs({ jobId: nextJob++ });
const tasksOf = (payload: ReturnType<typeof jobOfOurs>) =>
  ecs.tasks.filter((t) => t.startedBy?.startsWith(`gha-job/${payload.workflow_job.id}/`));

describe('overflow queue', () => {
  it('reaches the queue through AWS_ENDPOINT_URL_SQS although its URL names the real SQS host', async () => {
    expect(new URL(sqs.queueUrl).host).toBe('sqs.us-east-1.amazonaws.com');
    placementFailure = 'RESOURCE:MEMORY';
    const before = sqs.sent.length;
    expect((await webhook()(await signedRequest(job()))).statusCode).toBe(202);
    expect(sqs.sent.length).toBe(before + 1);
  });

  it('answers 503 with the fix, and queues nothing, when the failure needs the operator', async () => {
    const before = sqs.sent.length;
    const wrong = createWebhookHandler(
      createWebhookDependencies({ env: { ...env(), ECS_TASK_DEFINITION: 'no-such-family' } }),
    );
    const response = await wrong(await signedRequest(job()));
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body).message).toContain('check the cluster, the task definition');
    expect(sqs.sent.length).toBe(before);
  });

  it('answers 202 and queues the job when ECS cannot place the task', async () => {
    placementFailure = 'RESOURCE:MEMORY';
    const payload = job();
    const response = await webhook()(await signedRequest(payload));
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body).message).toMatch(/^queued for launch: /);
    expect(sqs.messages).toHaveLength(1);
    expect(JSON.parse(sqs.messages[0]?.body ?? '{}')).toMatchObject({
      version: 1,
      job: { job: { id: payload.workflow_job.id } },
    });
  });

  it('starts the queued job once capacity is back, and deletes the message', async () => {
    placementFailure = 'RESOURCE:MEMORY';
    const payload = job();
    await webhook()(await signedRequest(payload));
    placementFailure = undefined;
    await pollQueue(sqs.queueUrl, launcher(), { until: () => sqs.messages.length === 0, timeoutMs: 10_000 });
    expect(tasksOf(payload)).toHaveLength(1);
    expect(sqs.messages).toHaveLength(0);
  });

  it('retries a job that still cannot be placed, then dead-letters it', async () => {
    placementFailure = 'RESOURCE:CPU';
    await webhook()(await signedRequest(job()));
    await pollQueue(sqs.queueUrl, launcher(), {
      until: () => sqs.deadLetters.length === 1,
      timeoutMs: 15_000,
    });
    expect(sqs.deadLetters).toHaveLength(1);
    expect(sqs.deadLetters[0]?.receiveCount).toBe(3);
    expect(sqs.calls.filter((c) => c.operation === 'ChangeMessageVisibility').length).toBeGreaterThanOrEqual(
      2,
    );
  });

  it('answers 503 when the queue does not take the job either, so GitHub records a failed delivery', async () => {
    placementFailure = 'RESOURCE:MEMORY';
    sqsFault = (operation) =>
      operation === 'SendMessage' ? { kind: 'error', type: 'InternalError', status: 500 } : undefined;
    const response = await webhook()(await signedRequest(job()));
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body).message).toContain('overflow queue did not take the job');
  });

  it('starts one task for a job both the webhook and the launcher handled', async () => {
    const payload = job();
    expect((await webhook()(await signedRequest(payload))).statusCode).toBe(200);
    // The same job reaches the queue too (e.g. a webhook that timed out after RunTask).
    sqs.messages.length = 0;
    placementFailure = 'RESOURCE:MEMORY';
    const other = await webhook()(await signedRequest(job()));
    expect(other.statusCode).toBe(202);
    const message = JSON.parse(sqs.messages[0]?.body ?? '{}');
    message.job.job.id = payload.workflow_job.id;
    sqs.messages.length = 0;
    placementFailure = undefined;
    await fetch(sqs.url, {
      method: 'POST',
      headers: {
        'x-amz-target': 'AmazonSQS.SendMessage',
        'content-type': 'application/x-amz-json-1.0',
        authorization: 'AWS4-HMAC-SHA256 test',
      },
      body: JSON.stringify({ QueueUrl: sqs.queueUrl, MessageBody: JSON.stringify(message) }),
    });
    await pollQueue(sqs.queueUrl, launcher(), { until: () => sqs.messages.length === 0, timeoutMs: 10_000 });
    expect(tasksOf(payload)).toHaveLength(1);
  });
});

describe('retryDelaySeconds', () => {
  it('grows exponentially from 10 s and caps at 15 minutes', () => {
    expect([1, 2, 3, 4, 10].map((n) => retryDelaySeconds(n, () => 0.999999))).toEqual([10, 20, 40, 80, 900]);
  });

  it('waits at least 5 s, past the retry window of the ECS launcher', () => {
    expect(retryDelaySeconds(1, () => 0)).toBe(5);
  });
});
