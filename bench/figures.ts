import type { Summary } from './statistics';

/** A limit that a figure must stay within; the bench exits non-zero when one is missed. */
export interface Budget {
  /** What is compared, as a person reads it, e.g. "median ≤ 0.5 B over bare node". */
  readonly text: string;
  readonly pass: boolean;
}

/** One row of the table. */
export interface Figure {
  readonly scenario: string;
  readonly name: string;
  readonly unit: 'ms' | 's' | 'bytes' | 'count' | 'ratio';
  /** Timings: median and p99 over `runs`. */
  readonly summary?: Summary;
  /** A single measured value (a count, a size, a duration of the whole scenario). */
  readonly value?: number;
  /** The median minus the median of bare `node -e 0` measured in the same run. */
  readonly overBareNode?: number;
  /** The figure as a multiple of a reference measured in the same run (see {@link ReferenceSymbol}). */
  readonly ratio?: { readonly of: ReferenceSymbol; readonly value: number };
  readonly budget?: Budget;
}

/**
 * The references timing budgets are multiples of, measured in the same run because absolute times
 * drift between machines (issue 11): `B`, a bare `node` process from spawn to exit; `S`, one
 * RunTask call of our own ECS client to the same ECS stand-in (the one call a queued job must make).
 */
export type ReferenceSymbol = 'B' | 'S';

/** A budget met when `ratio` (a figure divided by a reference) is at most `limit`; `text` says so. */
export const ratioAtMost = (ratio: number, limit: number, text: string): Budget => ({
  text,
  pass: ratio <= limit,
});

/** A budget that `value` meets when it is at most `limit`. */
export const atMost = (value: number, limit: number, text: string): Budget => ({
  text,
  pass: value <= limit,
});

/** A budget that `value` meets when it is at least `limit`. */
export const atLeast = (value: number, limit: number, text: string): Budget => ({
  text,
  pass: value >= limit,
});

/** A budget that `value` meets when it stays under `limit`. */
export const under = (value: number, limit: number, text: string): Budget => ({ text, pass: value < limit });

/** A scenario's figures, with a text for people (printed after the table) and details for `--json`. */
export interface ScenarioReport {
  readonly figures: Figure[];
  readonly text?: string;
  readonly details?: unknown;
}

/** What every scenario is: a name for `--only`, and a run that measures its figures. */
export interface Scenario {
  readonly name: string;
  run(options: BenchOptions): Promise<Figure[] | ScenarioReport>;
}

export interface BenchOptions {
  /** Fresh processes per kind of cold start. */
  readonly runs: number;
  /** Events per kind in the warm process. */
  readonly events: number;
  /** Jobs in the burst. */
  readonly jobs: number;
  /** The capacity simulation runs its pool-size sweep instead of its side-by-side scenarios. */
  readonly pools?: boolean;
  /** Progress lines for people (stderr). */
  readonly progress: (line: string) => void;
}
