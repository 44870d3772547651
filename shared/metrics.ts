/**
 * Metric names (CloudWatch EMF), one place for the functions, the alarms and the dashboard.
 * Every function publishes to one namespace; its `service` dimension tells them apart.
 */
export const METRIC = {
  served: 'JobsServed',
  queued: 'JobsQueued',
  /** Idle runner tasks the reconciler stopped: of a job done or gone elsewhere, or of no open job. */
  runnersStopped: 'RunnersStopped',
  ignored: 'JobsIgnored',
  refused: 'JobsRefused',
  runTaskFailures: 'RunTaskFailures',
  rejected: 'DeliveriesRejected',
  /** A launch failed in a way only the operator can fix (missing group, access denied, no cluster). */
  setupErrors: 'SetupErrors',
  /** Open jobs queued longer than the stuck threshold without a live runner task (per reconciler run). */
  stuck: 'JobsStuck',
  /** Jobs given a new attempt after their task was lost before the job started. */
  relaunched: 'JobsRelaunched',
  /** Jobs whose launch attempts failed `RECONCILE_MAX_ATTEMPTS` times; they are retried at the longest backoff. */
  attemptsExhausted: 'LaunchAttemptsExhausted',
  /** GitHub API requests one reconcile round made (its ceiling: `RECONCILE_GITHUB_REQUESTS`). */
  reconcilerGitHubRequests: 'ReconcilerGitHubRequests',
  /** Runner tasks that stopped because GitHub refuses their runner release (exit 78): rebuild the image. */
  runnerVersionRefused: 'RunnerVersionRefused',
  /** Milliseconds from the job queued to its runner task RUNNING. */
  timeToTaskRunning: 'TimeToTaskRunning',
  /** Milliseconds from the job queued to the job started on a runner. */
  timeToJobStarted: 'TimeToJobStarted',
} as const;
