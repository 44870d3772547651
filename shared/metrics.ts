/** Metric names (CloudWatch EMF), one place for the functions, the alarms and the dashboard. */
export const METRIC = {
  served: 'JobsServed',
  queued: 'JobsQueued',
  reaped: 'RunnersReaped',
  ignored: 'JobsIgnored',
  refused: 'JobsRefused',
  runTaskFailures: 'RunTaskFailures',
  rejected: 'DeliveriesRejected',
  duration: 'HandlerDuration',
  setupErrors: 'SetupErrors',
  stuck: 'JobsStuck',
  relaunched: 'JobsRelaunched',
  attemptsExhausted: 'LaunchAttemptsExhausted',
  timeToTaskRunning: 'TimeToTaskRunning',
  timeToJobStarted: 'TimeToJobStarted',
} as const;
