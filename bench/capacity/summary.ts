/** What one scenario's day came to: the figures of the side-by-side table, from a {@link WorldResult}. */
import { percentile, summarize } from '../statistics';
import { PRICES } from './delays';
import type { JobPath, WorldResult } from './world';

export interface Wait {
  readonly jobs: number;
  /** Seconds from queued to started. */
  readonly p50: number;
  readonly p95: number;
}

export interface ScenarioSummary {
  readonly name: string;
  readonly jobs: number;
  readonly started: number;
  /** Jobs a runner took other than exactly once. */
  readonly notStartedOnce: number;
  readonly wait: Wait;
  readonly byPath: Partial<Record<JobPath, Wait>>;
  /** Billed instance minutes (running, in service or preparing the warm pool) per job. */
  readonly instanceMinutesPerJob: number;
  /** Minutes an instance ran without a task and not as a pool instance waiting (boot apart), per job. */
  readonly idleMinutesPerJob: number;
  /** Minutes of hot-pool waiting and warm-pool preparation, per job. */
  readonly poolMinutesPerJob: number;
  readonly usedInstanceJobs: number;
  readonly instancesLaunched: number;
  readonly costPerDay: number;
  readonly leftInGroup: number;
  readonly openInstanceRecords: number;
}

const minutes = (ms: number) => ms / 60_000;
const hours = (ms: number) => ms / 3_600_000;

export function waitOf(samples: readonly number[]): Wait | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  return { jobs: samples.length, p50: summarize(sorted).median, p95: percentile(sorted, 0.95) };
}

export function summarizeWorld(result: WorldResult): ScenarioSummary {
  const started = result.jobs.filter((job) => job.startedAt !== undefined);
  const seconds = (job: (typeof started)[number]) => ((job.startedAt as number) - job.queuedAt) / 1000;
  const byPath: Partial<Record<JobPath, Wait>> = {};
  for (const path of ['hot', 'warm', 'cold', 'managed'] as const) {
    const wait = waitOf(started.filter((job) => job.path === path).map(seconds));
    if (wait !== undefined) byPath[path] = wait;
  }
  const jobs = result.jobs.length;
  let running = 0;
  let idle = 0;
  let pool = 0;
  let cost = 0;
  const volumePerHour = (PRICES.ebsGbMonth * PRICES.rootVolumeGiB) / PRICES.hoursPerMonth;
  for (const instance of result.instances) {
    running += instance.runningMs + instance.warmPrepMs;
    pool += instance.poolWaitMs + instance.warmPrepMs;
    idle += Math.max(0, instance.runningMs - instance.bootMs - instance.busyMs - instance.poolWaitMs);
    cost +=
      hours(instance.runningMs + instance.warmPrepMs) * (PRICES.instancePerHour + PRICES.publicIpv4PerHour) +
      hours(instance.volumeMs) * volumePerHour;
  }
  return {
    name: result.scenario.name,
    jobs,
    started: started.length,
    notStartedOnce: result.jobs.filter((job) => job.starts !== 1).length,
    wait: waitOf(started.map(seconds)) ?? { jobs: 0, p50: Number.NaN, p95: Number.NaN },
    byPath,
    instanceMinutesPerJob: minutes(running) / jobs,
    idleMinutesPerJob: minutes(idle) / jobs,
    poolMinutesPerJob: minutes(pool) / jobs,
    usedInstanceJobs: started.filter((job) => job.usedInstance).length,
    instancesLaunched: result.instances.filter((i) => i.runningMs > 0).length,
    costPerDay: cost,
    leftInGroup: result.leftInGroup,
    openInstanceRecords: result.openInstanceRecords,
  };
}
