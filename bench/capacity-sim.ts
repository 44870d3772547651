/**
 * The capacity simulation (issue 18): the real capacity code and the webhook's decisions on a
 * virtual clock, against stand-ins of GitHub, ECS, EC2 and EC2 Auto Scaling whose every delay is
 * drawn from a cited range (bench/capacity/delays.ts), for a working day of 2,000 jobs. Today's ECS
 * managed scaling and the new paths side by side, each against its budget. Simulated, not measured:
 * the figures are as good as the ranges.
 */
import { parseWorkflowJob, type WorkflowJobEvent } from '../shared/runner/workflow-job';
import { jobOfOurs } from '../test/fixtures/payloads';
import { DELAYS, LAMBDA_THROTTLE_RETRY, MANAGED_SCALING, PRICES } from './capacity/delays';
import { buildTrace, type TraceJob, type TraceShape, WORKING_DAY } from './capacity/job-trace';
import { createRandom } from './capacity/random';
import { type ScenarioSummary, summarizeWorld } from './capacity/summary';
import { type CapacityScenario, runWorld, type WorldResult } from './capacity/world';
import { atLeast, atMost, type Figure, type Scenario } from './figures';

/** Working hours of the hot pools (UTC). */
const HOURS = 'Mon-Fri 07:00-19:00';

/**
 * The first design, for comparison: the capacity function invoked asynchronously (a busy one's
 * events throttled and retried with backoff), its launches inline.
 */
const ASYNC_INLINE = { queue: 'lambda-async', launches: 'inline' } as const;

/** The scenarios of one run: today's capacity, the new paths as built, and the first design's cold path. */
export const CAPACITY_SCENARIOS: readonly CapacityScenario[] = [
  { name: 'managed scaling (today)', capacity: 'managed' },
  { name: 'cold (no pools)', capacity: 'owned' },
  { name: 'warm pool 100', capacity: 'owned', warm: 100 },
  { name: 'hot pool 10 (working hours)', capacity: 'owned', hot: 10, hotSchedule: HOURS },
  { name: 'hot 10 + warm 100', capacity: 'owned', hot: 10, hotSchedule: HOURS, warm: 100 },
  {
    name: 'what-if: hot pool 10 without standby runners',
    capacity: 'owned',
    hot: 10,
    hotSchedule: HOURS,
    standby: false,
  },
  {
    name: 'first design: cold, async invoke, inline launches',
    capacity: 'owned',
    capacityFunction: ASYNC_INLINE,
  },
];

/** Pool sizes for the example load (`--pools`). */
export const POOL_SCENARIOS: readonly CapacityScenario[] = [
  { name: 'cold (no pools)', capacity: 'owned' },
  { name: 'warm pool 25', capacity: 'owned', warm: 25 },
  { name: 'warm pool 100', capacity: 'owned', warm: 100 },
  { name: 'hot pool 25 (working hours)', capacity: 'owned', hot: 25, hotSchedule: HOURS },
  { name: 'hot pool 50 (working hours)', capacity: 'owned', hot: 50, hotSchedule: HOURS },
  { name: 'hot 25 + warm 100', capacity: 'owned', hot: 25, hotSchedule: HOURS, warm: 100 },
];

/** p50 budgets of each path, seconds from queued to job started, and the scenario that measures it. */
export const PATH_BUDGETS = [
  { path: 'hot', seconds: 8, scenario: 'hot pool 10 (working hours)' },
  { path: 'warm', seconds: 25, scenario: 'warm pool 100' },
  { path: 'cold', seconds: 60, scenario: 'cold (no pools)' },
] as const;
/** Idle instance minutes per job, pools aside. */
export const IDLE_BUDGET_MINUTES = 2;
/** Each path's p50 at least this many times faster than managed scaling's. */
export const SPEED_UP = 2.5;

export interface SimulationResult {
  readonly summaries: readonly ScenarioSummary[];
  readonly worlds: readonly WorldResult[];
  readonly realMs: number;
}

/** The day's deliveries: the real self-hosted queued example, one per job of the trace. */
function deliveriesOf(): (job: TraceJob) => WorkflowJobEvent {
  const template = parseWorkflowJob(jobOfOurs());
  const [label = ''] = template.job.labels;
  return (job) => ({
    ...template,
    job: {
      ...template.job,
      id: job.jobId,
      runId: job.runId,
      runAttempt: 1,
      // The default label names the run: every job of a matrix asks for the same one.
      labels: [label.replace(String(template.job.runId), String(job.runId))],
      createdAt: new Date(job.queuedAt).toISOString(),
    },
  });
}

export async function runCapacitySimulation(
  options: {
    readonly scenarios?: readonly CapacityScenario[];
    readonly shape?: TraceShape;
    readonly seed?: number;
    readonly progress?: (line: string) => void;
  } = {},
): Promise<SimulationResult> {
  const shape = options.shape ?? WORKING_DAY;
  const seed = options.seed ?? 18;
  const started = performance.now();
  const trace = buildTrace(shape, createRandom(seed).fork('trace'));
  const eventOf = deliveriesOf();
  const worlds: WorldResult[] = [];
  for (const scenario of options.scenarios ?? CAPACITY_SCENARIOS) {
    const t0 = performance.now();
    // Every scenario draws its delays from the same seed: the differences are the capacity's.
    const world = await runWorld({
      scenario,
      trace,
      eventOf,
      random: createRandom(seed).fork('world'),
      day: shape.day,
      dayMs: 24 * 3_600_000,
    });
    worlds.push(world);
    options.progress?.(
      `capacity: ${scenario.name}: ${world.events.toLocaleString('en-US')} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  return { summaries: worlds.map(summarizeWorld), worlds, realMs: performance.now() - started };
}

const s = (value: number | undefined) =>
  value === undefined || Number.isNaN(value) ? '–' : value.toFixed(1);

/** The side-by-side table, Markdown (the same text prints on a terminal and pastes into the docs). */
export function formatCapacityTable(summaries: readonly ScenarioSummary[]): string {
  const header = [
    'scenario',
    'queued → job started p50',
    'p95',
    'p50 by path: hot / warm / cold (jobs)',
    'instance min / job',
    'idle min / job (pools aside)',
    'pool min / job',
    'jobs on a used instance',
    'cost / day',
  ];
  const rows = summaries.map((summary) => {
    const path = (name: 'hot' | 'warm' | 'cold') => {
      const wait = summary.byPath[name];
      return wait === undefined ? '–' : `${s(wait.p50)} s (${wait.jobs})`;
    };
    return [
      summary.name,
      `${s(summary.wait.p50)} s`,
      `${s(summary.wait.p95)} s`,
      summary.byPath.managed ? '(one path)' : `${path('hot')} / ${path('warm')} / ${path('cold')}`,
      summary.instanceMinutesPerJob.toFixed(2),
      summary.idleMinutesPerJob.toFixed(2),
      summary.poolMinutesPerJob.toFixed(2),
      summary.usedInstanceJobs.toLocaleString('en-US'),
      `$${summary.costPerDay.toFixed(2)}`,
    ];
  });
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Every delay with its range and source, Markdown. */
export function formatDelayTable(): string {
  const rows = Object.entries(DELAYS).map(
    ([name, delay]) =>
      `| ${name} | ${delay.what} | ${delay.range[0]}–${delay.range[1]} s | ${delay.source} |`,
  );
  return ['| delay | what | range | source |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** The budgets of issue 18, as bench figures. */
export function capacityFigures(result: SimulationResult): Figure[] {
  const scenario = 'capacity (simulated)';
  const byName = new Map(result.summaries.map((summary) => [summary.name, summary]));
  const managed = result.summaries.find((summary) => summary.byPath.managed !== undefined);
  const designed = result.summaries.filter((summary) => {
    const spec = result.worlds.find((w) => w.scenario.name === summary.name)?.scenario;
    return spec?.capacity === 'owned' && spec.capacityFunction === undefined;
  });
  const figures: Figure[] = [];
  if (managed !== undefined)
    figures.push({
      scenario,
      name: `${managed.name}: queued → job started p50`,
      unit: 's',
      value: managed.wait.p50,
    });
  for (const budget of PATH_BUDGETS) {
    const wait = byName.get(budget.scenario)?.byPath[budget.path];
    if (wait === undefined) continue;
    figures.push({
      scenario,
      name: `${budget.path} path p50 (${budget.scenario}, ${wait.jobs} jobs)`,
      unit: 's',
      value: wait.p50,
      budget: atMost(wait.p50, budget.seconds, `≤ ${budget.seconds} s`),
    });
    if (managed !== undefined) {
      const speedUp = managed.wait.p50 / wait.p50;
      figures.push({
        scenario,
        name: `${budget.path} path p50, times faster than managed scaling's`,
        unit: 'ratio',
        value: speedUp,
        budget: atLeast(speedUp, SPEED_UP, `≥ ${SPEED_UP}×`),
      });
    }
  }
  for (const summary of designed) {
    figures.push({
      scenario,
      name: `${summary.name}: idle instance min / job, pools aside`,
      unit: 'count',
      value: summary.idleMinutesPerJob,
      budget: atMost(summary.idleMinutesPerJob, IDLE_BUDGET_MINUTES, `≤ ${IDLE_BUDGET_MINUTES}`),
    });
  }
  const owned = result.summaries.filter((summary) => summary.byPath.managed === undefined);
  const used = owned.reduce((sum, summary) => sum + summary.usedInstanceJobs, 0);
  figures.push({
    scenario,
    name: 'jobs on a used instance, pristine mode (every owned scenario)',
    unit: 'count',
    value: used,
    budget: atMost(used, 0, '0'),
  });
  const notOnce = result.summaries.reduce((sum, summary) => sum + summary.notStartedOnce, 0);
  figures.push({
    scenario,
    name: 'jobs not started exactly once (every scenario)',
    unit: 'count',
    value: notOnce,
    budget: atMost(notOnce, 0, '0'),
  });
  const left = owned.reduce((sum, summary) => sum + summary.leftInGroup + summary.openInstanceRecords, 0);
  figures.push({
    scenario,
    name: 'instances left at the end of the day (owned scenarios; stopped warm-pool instances aside)',
    unit: 'count',
    value: left,
    budget: atMost(left, 0, '0'),
  });
  figures.push({ scenario, name: 'real time of the simulation', unit: 's', value: result.realMs / 1000 });
  return figures;
}

/** The bench scenario: `npm run bench` runs it with the others, `npm run bench:capacity` alone. */
export const capacitySimulation: Scenario = {
  name: 'capacity',
  async run({ progress, pools }) {
    const result = await runCapacitySimulation({
      progress,
      ...(pools && { scenarios: [CAPACITY_SCENARIOS[0] as CapacityScenario, ...POOL_SCENARIOS] }),
    });
    const text = [
      `Capacity, SIMULATED (a virtual clock; every delay drawn from a cited range): ${WORKING_DAY.jobs.toLocaleString('en-US')} jobs in a working day, ${PRICES.instanceType} at $${PRICES.instancePerHour}/h (us-east-1 On-Demand).`,
      '',
      formatCapacityTable(result.summaries),
    ].join('\n');
    return {
      figures: capacityFigures(result),
      text,
      details: {
        simulated: true,
        summaries: result.summaries,
        capacityFunction: Object.fromEntries(
          result.worlds.map((world) => [world.scenario.name, world.capacityFunction]),
        ),
        delays: DELAYS,
        managedScaling: MANAGED_SCALING,
        lambdaThrottleRetry: LAMBDA_THROTTLE_RETRY,
        prices: PRICES,
        trace: WORKING_DAY,
      },
    };
  },
};
