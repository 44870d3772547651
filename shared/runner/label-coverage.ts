/**
 * Whether a runner with `runnerLabels` can take a job that asks for `jobLabels`: GitHub gives a
 * job to a runner only if the runner has every label the job asks for (compared without case).
 * A job that asks for nothing is never ours.
 */
export function runnerCoversJob(runnerLabels: readonly string[], jobLabels: readonly string[]): boolean {
  if (jobLabels.length === 0) return false;
  const have = new Set(runnerLabels.map((label) => label.toLowerCase()));
  return jobLabels.every((label) => have.has(label.toLowerCase()));
}
