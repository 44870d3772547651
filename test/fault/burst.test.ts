/**
 * Fault suite: bursts against RunTask's bucket, with and without injected faults. Each scenario
 * asserts that every queued job ends with exactly one runner task, none with two, no webhook
 * answer takes 10 s or more, and nothing is lost.
 */
import { describe, expect, it } from '@jest/globals';
import { runScenario, type ScenarioResult } from './harness';

const holds = (result: ScenarioResult) => {
  expect(result.lost).toBe(0);
  expect(result.duplicates).toBe(0);
  expect(result.slowestAnswerMs).toBeLessThan(10_000);
};
const chance = (p: number) => Math.random() < p;

describe('fault suite: bursts', () => {
  it('gives each of 1,000 jobs delivered 100 at a time exactly one task, within the 100/40 bucket', async () => {
    const result = await runScenario({ name: 'burst', jobs: 1000, concurrency: 100 });
    holds(result);
    expect(result.secondsUntilEveryJobHasATask).toBeGreaterThan(20);
  }, 180_000);

  it('holds under 30 % throttling, 10 % 5xx, transient RESOURCE:MEMORY, dropped connections and slow answers', async () => {
    const start = Date.now();
    const result = await runScenario({
      name: 'burst with faults',
      jobs: 1000,
      concurrency: 100,
      ecsFault: (operation) => {
        if (operation !== 'RunTask') return undefined;
        if (chance(0.3))
          return { kind: 'error', type: 'ThrottlingException', status: 400, message: 'Rate exceeded' };
        if (chance(0.1)) return { kind: 'error', type: 'ServerException', status: 500 };
        if (chance(0.03)) return { kind: 'hangup-after' };
        if (chance(0.03)) return { kind: 'hangup' };
        if (chance(0.05)) return { kind: 'delay', ms: 500 + Math.random() * 2000 };
        return undefined;
      },
      // Capacity runs short for the first 5 s: some placements fail, then succeed on retry.
      placementFailure: () => (Date.now() - start < 5000 && chance(0.2) ? 'RESOURCE:MEMORY' : undefined),
    });
    holds(result);
    expect(result.faultsInjected).toBeGreaterThan(300);
  }, 240_000);
});
