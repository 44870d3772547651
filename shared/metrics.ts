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
  /** Milliseconds from the job queued to the job started on a runner (owned capacity: per `Profile` and `Path`). */
  timeToJobStarted: 'TimeToJobStarted',
  /** Owned capacity: milliseconds from the job queued to its instance registered (`Profile`, `Path`: hot, warm, cold). */
  timeToInstanceReady: 'TimeToInstanceReady',
  /** Owned capacity: minutes instances stood free, beyond the pools. */
  idleInstanceMinutes: 'IdleInstanceMinutes',
  /** Owned capacity: jobs an instance ran before it was terminated (1 when pristine). */
  jobsPerInstance: 'JobsPerInstance',
  /** Owned capacity: instances the capacity function added to a group. */
  instancesLaunched: 'InstancesLaunched',
  /** Owned capacity: instances the capacity function terminated. */
  instancesTerminated: 'InstancesTerminated',
} as const;

/** The dimensions of owned capacity's timings: the job's profile and where its instance came from (`hot`, `warm`, `cold`). */
export const CAPACITY_DIMENSIONS = { profile: 'Profile', path: 'Path' } as const;
