import { createHash } from 'node:crypto';

/** GitHub refuses runner names longer than 64 characters. */
export const RUNNER_NAME_MAX = 64;

/**
 * Fits a rendered runner name into GitHub's limit, deterministically: a name that is too long
 * keeps its start and ends with a short hash of the whole name, so two jobs whose names differ
 * only at the end (the job id) still get different runners.
 */
export function fitRunnerName(name: string): string {
  if (name.length <= RUNNER_NAME_MAX) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  const head = name.slice(0, RUNNER_NAME_MAX - hash.length - 1).replace(/[-._]+$/, '');
  return `${head}-${hash}`;
}
