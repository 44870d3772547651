/** Median and p99 of a set of timings: the two figures every row of the bench reports. */
export interface Summary {
  readonly runs: number;
  readonly median: number;
  readonly p99: number;
  readonly max: number;
}

/** The nearest-rank percentile (`p` in 0..1) of samples already sorted ascending. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('no samples');
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Summarises samples; the median of an even count is the mean of the two middle ones. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) throw new Error('no samples');
  const mid = Math.floor(n / 2);
  const median =
    n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { runs: n, median, p99: percentile(sorted, 0.99), max: sorted[n - 1] as number };
}
