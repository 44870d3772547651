/**
 * A call to AWS or GitHub that is never answered fails at CALL_TIMEOUT_MS instead of holding the
 * function (a reconciler round, the launcher's clean-up) until Lambda's own timeout.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { boundedFetch, CALL_TIMEOUT_MS } from '../../shared/call-timeout';
import { lazyEcsApi } from '../../shared/ecs/ecs-api';
import { type EcsStandIn, startEcsStandIn } from '../support/ecs-stand-in';

let ecs: EcsStandIn;
let silent: Server;
let silentUrl: string;

beforeAll(async () => {
  // ECS takes the request and never answers DescribeTasks.
  ecs = await startEcsStandIn({
    fault: (operation) =>
      operation === 'DescribeTasks' ? { kind: 'delay', ms: CALL_TIMEOUT_MS * 3 } : undefined,
  });
  process.env.AWS_ENDPOINT_URL_ECS = ecs.url;
  // GitHub accepts the connection and never answers.
  silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/repos/o/r/actions/runners`;
});
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_ECS;
  silent.closeAllConnections();
  await Promise.all([ecs.close(), new Promise((resolve) => silent.close(resolve))]);
});

describe('a call that is never answered', () => {
  it('to ECS fails at the bound, with a TimeoutError', async () => {
    const { client, sdk } = await lazyEcsApi()();
    const started = Date.now();
    await expect(
      client.send(new sdk.DescribeTasksCommand({ cluster: 'runners', tasks: ['t'] })),
    ).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(CALL_TIMEOUT_MS - 100);
    expect(Date.now() - started).toBeLessThan(CALL_TIMEOUT_MS + 2000);
  }, 20_000);

  it('to GitHub is aborted at the bound', async () => {
    const started = Date.now();
    await expect(boundedFetch(silentUrl)).rejects.toThrow(/aborted/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(CALL_TIMEOUT_MS - 100);
    expect(Date.now() - started).toBeLessThan(CALL_TIMEOUT_MS + 2000);
  }, 20_000);

  it("to GitHub ends at the caller's own deadline when that comes first", async () => {
    const started = Date.now();
    await expect(boundedFetch(silentUrl, { signal: AbortSignal.timeout(200) })).rejects.toThrow(/aborted/i);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
