/**
 * Fault suite: the lifecycle faults. The overflow queue refusing jobs for a while, the Lambda dying
 * between RunTask and its answer, and jobs delivered twice.
 */
import { describe, expect, it } from '@jest/globals';
import { runScenario, type ScenarioResult } from './harness';

const holds = (result: ScenarioResult) => {
  expect(result.lost).toBe(0);
  expect(result.duplicates).toBe(0);
  expect(result.slowestAnswerMs).toBeLessThan(10_000);
};

describe('fault suite: lifecycle', () => {
  it('answers 5xx while SQS fails and ECS cannot place, and the redelivery later succeeds', async () => {
    // The outage: the first 3 s from the first RunTask (not from the test's start: on a loaded
    // machine, setting up and signing take seconds of their own).
    let start: number | undefined;
    const outage = () => {
      start ??= Date.now();
      return Date.now() - start < 3000;
    };
    const result = await runScenario({
      name: 'queue outage',
      jobs: 200,
      concurrency: 50,
      placementFailure: () => (outage() ? 'RESOURCE:MEMORY' : undefined),
      sqsFault: (operation) =>
        operation === 'SendMessage' && outage()
          ? { kind: 'error', type: 'InternalError', status: 500 }
          : undefined,
    });
    holds(result);
    expect(result.answers['503']).toBeGreaterThan(0);
    expect(result.redeliveries).toBeGreaterThan(0);
  }, 120_000);

  it('starts nothing new when GitHub redelivers a delivery whose Lambda died after RunTask', async () => {
    const result = await runScenario({
      name: 'lambda dies after RunTask',
      jobs: 300,
      concurrency: 50,
      dieAfterAnswer: () => Math.random() < 0.2,
    });
    holds(result);
    expect(result.answers.died).toBeGreaterThan(0);
    expect(result.redeliveries).toBeGreaterThan(0);
  }, 120_000);

  it('starts one task for a job queued twice (environment protection)', async () => {
    const result = await runScenario({
      name: 'queued twice',
      jobs: 200,
      concurrency: 50,
      queuedTwice: () => true,
    });
    holds(result);
    expect(result.deliveries).toBe(400);
  }, 120_000);
});
