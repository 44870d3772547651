/** The deployed entry point, `functions/webhook`, invoked with each event shape AWS sends it. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { handler as Handler } from '../../functions/webhook/index';
import { jobOfOurs } from '../fixtures/payloads';
import {
  functionUrlEvent,
  httpApiEvent,
  restApiEvent,
  signedRequest,
  TEST_SECRET,
} from '../fixtures/requests';
import { type EcsStandIn, startEcsStandIn } from '../support/ecs-stand-in';
import { type RegistrationStandIns, startRegistrationStandIns } from '../support/registration-stand-ins';

let ecs: EcsStandIn;
let registration: RegistrationStandIns;
let handler: typeof Handler;

beforeAll(async () => {
  ecs = await startEcsStandIn();
  registration = await startRegistrationStandIns();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_ECS: ecs.url,
    WEBHOOK_SECRET: TEST_SECRET,
    ECS_CLUSTER: 'runners',
    ECS_CAPACITY_PROVIDER: 'runners-asg',
    ...registration.env,
  });
  ({ handler } = await import('../../functions/webhook/index'));
});
afterAll(async () => {
  await Promise.all([ecs.close(), registration.close()]);
});

describe('functions/webhook handler', () => {
  it.each([
    ['API Gateway REST API (1.0)', restApiEvent, false],
    ['API Gateway HTTP API (2.0)', httpApiEvent, false],
    ['Lambda function URL', functionUrlEvent, false],
    ['API Gateway HTTP API (2.0) with a base64 body', httpApiEvent, true],
  ] as const)('starts a runner task from a %s event', async (_, shape, base64) => {
    const payload = jobOfOurs({ jobId: 7_000_000_000 + ecs.tasks.length });
    const response = await handler(shape(await signedRequest(payload), base64));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    const task = ecs.tasks.find((t) => t.startedBy?.startsWith(`gha-job/${payload.workflow_job.id}/`));
    expect(task).toBeDefined();
    const run = ecs.calls.filter((c) => c.operation === 'RunTask').at(-1)?.input;
    expect(run).toMatchObject({ capacityProviderStrategy: [{ capacityProvider: 'runners-asg', weight: 1 }] });
  });

  it('answers 401 to an unsigned REST API event', async () => {
    const request = await signedRequest(jobOfOurs());
    const { 'x-hub-signature-256': _, ...headers } = request.headers;
    const response = await handler(restApiEvent({ ...request, headers }));
    expect(response.statusCode).toBe(401);
  });
});
