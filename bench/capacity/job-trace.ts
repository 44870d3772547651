/**
 * The working day the capacity simulation replays: background jobs in working hours, a matrix of
 * jobs every hour (one workflow run whose jobs are queued together), and quiet gaps (lunch, the
 * night). Each job's run time is drawn from a stated distribution.
 */
import type { Random } from './random';

export interface TraceJob {
  readonly jobId: number;
  /** The workflow run: the jobs of a matrix share one, so any runner of the run may take any of its jobs. */
  readonly runId: number;
  /** Epoch ms: GitHub queued the job. */
  readonly queuedAt: number;
  /** Milliseconds the job runs once a runner has it. */
  readonly durationMs: number;
  /** Part of an hourly matrix (else a background job). */
  readonly burst: boolean;
}

export interface TraceShape {
  /** Epoch ms of the day's midnight (UTC). */
  readonly day: number;
  readonly jobs: number;
  /** Jobs per hourly matrix. */
  readonly burstSize: number;
  /** Hours (UTC) at whose half past a matrix is queued. */
  readonly burstHours: readonly number[];
  /** Relative rate of background jobs per hour of the day (UTC); 0: a quiet hour. */
  readonly hourlyWeights: readonly number[];
  /** Run time: log-normal with this median (s) and σ, cut to [min, max] (s). */
  readonly duration: {
    readonly medianSeconds: number;
    readonly sigma: number;
    readonly minSeconds: number;
    readonly maxSeconds: number;
  };
}

const HOUR = 3_600_000;

/** 2,000 jobs: ten 100-job matrices at half past 8–11 and 13–18, 1,000 background jobs 07:00–20:00, no job 12:00–13:00. */
export const WORKING_DAY: TraceShape = {
  // Monday 2 March 2026, 00:00 UTC: a weekday, for a hot pool kept Mon–Fri.
  day: Date.UTC(2026, 2, 2),
  jobs: 2000,
  burstSize: 100,
  burstHours: [8, 9, 10, 11, 13, 14, 15, 16, 17, 18],
  hourlyWeights: [0, 0, 0, 0, 0, 0, 0, 0.3, 1, 1, 1, 0.8, 0, 0.8, 1, 1, 1, 0.8, 0.5, 0.2, 0, 0, 0, 0],
  // Median 5 minutes; p90 ≈ 14 min (σ 0.8); none under 30 s or over 45 min.
  duration: { medianSeconds: 300, sigma: 0.8, minSeconds: 30, maxSeconds: 2700 },
};

/** The trace's jobs, queued-time order. */
export function buildTrace(shape: TraceShape, random: Random): TraceJob[] {
  const jobs: Omit<TraceJob, 'jobId'>[] = [];
  const duration = () =>
    Math.min(
      shape.duration.maxSeconds,
      Math.max(
        shape.duration.minSeconds,
        random.logNormal(shape.duration.medianSeconds, shape.duration.sigma),
      ),
    ) * 1000;
  const time = (ms: number) => Math.round(ms);
  let runId = 9_000_000_000;
  const bursts = Math.min(shape.burstHours.length, Math.floor(shape.jobs / shape.burstSize));
  for (const hour of shape.burstHours.slice(0, bursts)) {
    const run = runId++;
    const at = shape.day + hour * HOUR + HOUR / 2;
    // A matrix's jobs are queued within a couple of seconds of each other.
    for (let i = 0; i < shape.burstSize; i++)
      jobs.push({
        runId: run,
        queuedAt: time(at + random.next() * 2000),
        durationMs: time(duration()),
        burst: true,
      });
  }
  const background = shape.jobs - jobs.length;
  const total = shape.hourlyWeights.reduce((sum, w) => sum + w, 0);
  // Background jobs spread over the hours by weight (largest remainders get the rounding), each
  // hour's arrivals uniform in it: the order statistics of a Poisson process.
  const shares = shape.hourlyWeights.map((weight) => (background * weight) / total);
  const counts = shares.map(Math.floor);
  const order = shares.map((share, hour) => ({ hour, rest: share % 1 })).sort((a, b) => b.rest - a.rest);
  const missing = background - counts.reduce((sum, n) => sum + n, 0);
  for (let i = 0; i < missing; i++) {
    const hour = order[i % order.length]?.hour ?? 0;
    counts[hour] = (counts[hour] ?? 0) + 1;
  }
  counts.forEach((count, hour) => {
    for (let i = 0; i < count; i++)
      jobs.push({
        runId: runId++,
        queuedAt: time(shape.day + hour * HOUR + random.next() * HOUR),
        durationMs: time(duration()),
        burst: false,
      });
  });
  return jobs.sort((a, b) => a.queuedAt - b.queuedAt).map((job, i) => ({ ...job, jobId: 7_000_000_000 + i }));
}
