import { LOCAL_WEBHOOK_SECRET } from '../shared/defaults';
import { createWebhookDependencies } from '../shared/dependencies';
import { jobStatusRows } from '../shared/status/job-status';
import { createWebhookHandler } from '../shared/webhook/handle-webhook';
import { createWebhookServer } from '../shared/webhook/node-http';

// The embedded default: dry run with a local secret unless the environment says otherwise.
const env = process.env;
if (env.WEBHOOK_SECRET === undefined && env.WEBHOOK_SECRET_ARN === undefined)
  env.WEBHOOK_SECRET = LOCAL_WEBHOOK_SECRET;
if (env.DRY_RUN === undefined && env.ECS_CLUSTER === undefined) env.DRY_RUN = 'true';
env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const host = env.HOST ?? '127.0.0.1';
const port = Number(env.PORT ?? 3000);
let deps: ReturnType<typeof createWebhookDependencies>;
try {
  deps = createWebhookDependencies({ env });
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
const handler = createWebhookHandler(deps);
// `npm run status -- --url <this server>`: the local ledger. A dry run has no ECS to ask: its
// pretend tasks read as RUNNING.
const status = async () => {
  const records = await deps.ledger.listOpen();
  const tasks = new Map(
    records.flatMap((record) =>
      record.taskArn === undefined
        ? []
        : [
            [
              record.taskArn,
              {
                taskArn: record.taskArn,
                lastStatus: 'RUNNING',
                desiredStatus: 'RUNNING',
                stoppedReason: undefined,
                startedAt: record.taskStartedAt,
                createdAt: record.taskStartedAt,
                jobId: record.jobId,
                attempt: record.attempt,
                runnerName: record.runnerName,
                repository: record.job.repository.fullName,
                runId: record.job.job.runId,
              },
            ] as const,
          ],
    ),
  );
  return {
    jobs: jobStatusRows(records, tasks, Date.now(), {
      capacityWaitSeconds: deps.config.reconcile.capacityWaitSeconds,
      stuckAfterSeconds: deps.config.reconcile.stuckAfterSeconds,
    }),
  };
};

const server = createWebhookServer(handler, '/webhook', status);
server.on('error', (error) => {
  console.error(`cannot listen on ${host}:${port}: ${error.message} (set PORT to use another port)`);
  process.exit(1);
});
server.listen(port, host, () => {
  // PORT=0 picks a free port: print the one we got.
  const address = server.address();
  const url = `http://${host}:${typeof address === 'object' && address ? address.port : port}/webhook`;
  const secret =
    env.WEBHOOK_SECRET === LOCAL_WEBHOOK_SECRET
      ? `the local secret "${LOCAL_WEBHOOK_SECRET}"`
      : 'WEBHOOK_SECRET';
  console.log(
    [
      `webhook listening on POST ${url}${env.DRY_RUN === 'true' ? ' (dry run: the runner registration and the RunTask request are printed, not sent)' : ''}`,
      `deliveries must be signed with ${secret}`,
      `replay a payload: npm run replay -- test/fixtures/payloads/workflow-job-queued-ours.json --url ${url}`,
    ].join('\n'),
  );
});
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => server.close(() => process.exit(0)));
