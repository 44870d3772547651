import { beforeAll, describe, expect, it } from '@jest/globals';
import type { TraceShape } from '../../bench/capacity/job-trace';
import type { CapacityScenario } from '../../bench/capacity/world';
import { runCapacitySimulation, type SimulationResult } from '../../bench/capacity-sim';

/** 50 jobs: a 20-job matrix at 09:30 and 30 jobs spread over 08:00–11:00. */
const SMALL_DAY: TraceShape = {
  day: Date.UTC(2026, 2, 2),
  jobs: 50,
  burstSize: 20,
  burstHours: [9],
  hourlyWeights: Array.from({ length: 24 }, (_, hour) => (hour >= 8 && hour < 11 ? 1 : 0)),
  duration: { medianSeconds: 120, sigma: 0.5, minSeconds: 30, maxSeconds: 600 },
};

const SCENARIOS: readonly CapacityScenario[] = [
  { name: 'managed', capacity: 'managed' },
  { name: 'cold', capacity: 'owned' },
  { name: 'hot', capacity: 'owned', hot: 5, hotSchedule: 'Mon-Fri 07:00-12:00' },
];

describe('capacity simulation', () => {
  let result: SimulationResult;
  const summary = (name: string) => {
    const found = result.summaries.find((s) => s.name === name);
    if (found === undefined) throw new Error(`no scenario ${name}`);
    return found;
  };
  const world = (name: string) => {
    const found = result.worlds.find((w) => w.scenario.name === name);
    if (found === undefined) throw new Error(`no scenario ${name}`);
    return found;
  };

  beforeAll(async () => {
    result = await runCapacitySimulation({ scenarios: SCENARIOS, shape: SMALL_DAY, seed: 7 });
  });

  it('starts every job of the trace exactly once, in every scenario', () => {
    for (const w of result.worlds) {
      expect(w.jobs).toHaveLength(50);
      expect(w.jobs.filter((job) => job.starts !== 1)).toEqual([]);
    }
  });

  it('runs no job on an instance a task ran on before, with owned capacity (pristine mode)', () => {
    expect(summary('cold').usedInstanceJobs).toBe(0);
    expect(summary('hot').usedInstanceJobs).toBe(0);
    for (const w of [world('cold'), world('hot')])
      expect(w.instances.filter((instance) => instance.tasks > 1)).toEqual([]);
  });

  it('leaves no instance in the group and no open instance record once the day is over', () => {
    for (const name of ['cold', 'hot']) {
      expect(world(name).leftInGroup).toBe(0);
      expect(world(name).openInstanceRecords).toBe(0);
    }
  });

  it('reuses instances under managed scaling (the comparison keeps today’s behaviour)', () => {
    expect(summary('managed').usedInstanceJobs).toBeGreaterThan(0);
  });

  it('starts jobs faster from a hot pool than from cold instances', () => {
    const hot = summary('hot').byPath.hot;
    const cold = summary('cold').byPath.cold;
    expect(hot?.jobs).toBeGreaterThan(0);
    expect(cold?.jobs).toBeGreaterThan(0);
    expect(hot?.p50).toBeLessThan(cold?.p50 ?? 0);
  });

  it('gives the same figures for the same seed', async () => {
    const again = await runCapacitySimulation({
      scenarios: [SCENARIOS[1] as CapacityScenario],
      shape: SMALL_DAY,
      seed: 7,
    });
    expect(again.summaries[0]).toEqual(summary('cold'));
  });
});
