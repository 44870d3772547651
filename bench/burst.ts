/**
 * Burst: a matrix of queued jobs of ours delivered with fixed concurrency against an ECS stand-in
 * that enforces RunTask's token bucket. Each concurrent delivery has its own handler, as each
 * concurrent Lambda invocation has its own instance; every handler sends its RunTask itself.
 */
import { createWebhookDependencies } from '../shared/dependencies';
import { createWebhookHandler } from '../shared/webhook/handle-webhook';
import { jobOfOurs } from '../test/fixtures/payloads';
import { signedRequest } from '../test/fixtures/requests';
import { startEcsStandIn } from '../test/support/ecs-stand-in';
import { startSecretsManagerStandIn } from '../test/support/secrets-manager-stand-in';
import { STORED_SECRETS, webhookEnv } from './bench-env';
import { atMost, type Figure, type Scenario, under } from './figures';
import { summarize } from './statistics';
import { reply, runWorker } from './worker';

/** ECS's RunTask token bucket (AWS: "Request throttling for the Amazon ECS API", RunTask: 100 burst, 40/s). */
export const RUN_TASK_BUCKET = { burst: 100, perSecond: 40 } as const;
export const BURST_CONCURRENCY = 100;
const FIRST_JOB_ID = 6_000_000_000;

/** Seconds the bucket needs at the least to start `jobs` tasks: what is not in the burst, at the rate. */
export const bucketFloorSeconds = (jobs: number) =>
  Math.max(0, jobs - RUN_TASK_BUCKET.burst) / RUN_TASK_BUCKET.perSecond;

interface BurstResult {
  readonly startedAt: number;
  readonly answers: Record<string, number>;
  readonly latencies: number[];
}

/** The worker's side: delivers every job, `BURST_CONCURRENCY` at a time, one handler per lane. */
export async function burstWorker(jobs: number): Promise<never> {
  const requests = await Promise.all(
    Array.from({ length: jobs }, (_, i) => signedRequest(jobOfOurs({ jobId: FIRST_JOB_ID + i }))),
  );
  const answers: Record<string, number> = {};
  const latencies: number[] = [];
  let next = 0;
  const lane = async () => {
    const handle = createWebhookHandler(createWebhookDependencies());
    for (let request = requests[next++]; request !== undefined; request = requests[next++]) {
      const started = performance.now();
      const response = await handle(request);
      latencies.push(performance.now() - started);
      answers[response.statusCode] = (answers[response.statusCode] ?? 0) + 1;
    }
  };
  const startedAt = Date.now();
  await Promise.all(Array.from({ length: BURST_CONCURRENCY }, lane));
  return reply({ value: { startedAt, answers, latencies } satisfies BurstResult });
}

export const burst: Scenario = {
  name: 'burst',
  // The webhook alone, without the overflow queue.
  async run({ jobs, progress }) {
    const [ecs, secretsManager] = await Promise.all([
      startEcsStandIn({ bucket: RUN_TASK_BUCKET }),
      startSecretsManagerStandIn(STORED_SECRETS),
    ]);
    try {
      const floor = bucketFloorSeconds(jobs);
      progress(`burst: ${jobs} jobs, concurrency ${BURST_CONCURRENCY}, bucket floor ${floor} s`);
      const env = webhookEnv({ ecs: ecs.url, secretsManager: secretsManager.url });
      const result = await runWorker<BurstResult>('burst', env, ['--jobs', String(jobs)]);

      const tasksPerJob = new Map<string, number>();
      for (const task of ecs.tasks) {
        tasksPerJob.set(String(task.startedBy), (tasksPerJob.get(String(task.startedBy)) ?? 0) + 1);
      }
      const lost = jobs - tasksPerJob.size;
      const duplicates = [...tasksPerJob.values()].reduce((sum, n) => sum + n - 1, 0);
      const lastTaskAt = Math.max(...ecs.tasks.map((task) => task.createdAt));
      const seconds = (lastTaskAt - result.startedAt) / 1000;
      const latency = summarize(result.latencies);
      const runTasks = ecs.calls.filter((call) => call.operation === 'RunTask').length;
      const answered503 = result.answers[503] ?? 0;
      const row = (figure: Omit<Figure, 'scenario'>): Figure => ({
        scenario: 'burst, no overflow queue',
        ...figure,
      });
      return [
        row({
          name: lost === 0 ? 'seconds until every job has a task' : 'seconds until the last task started',
          unit: 's',
          value: seconds,
        }),
        row({
          name: `ratio to the bucket floor (${floor} s)`,
          unit: 'ratio',
          value: seconds / floor,
          budget: atMost(seconds / floor, 1.15, '≤ 1.15'),
        }),
        // Without the overflow queue (the stack always deploys one: see burst-overflow) a job the
        // bucket cannot serve within GitHub's 10 s is answered 503, which the redelivery sweep
        // and the reconciler take up later. None may be answered 200 without a task.
        row({
          name: 'jobs without a task yet, each answered 503 (left to the sweep and the reconciler)',
          unit: 'count',
          value: lost,
          budget: atMost(lost, answered503, `≤ the 503 answers (${answered503})`),
        }),
        row({
          name: 'jobs with two tasks or more',
          unit: 'count',
          value: duplicates,
          budget: atMost(duplicates, 0, '0'),
        }),
        row({ name: 'answer time', unit: 'ms', summary: latency }),
        row({
          name: 'slowest answer',
          unit: 'ms',
          value: latency.max,
          budget: under(latency.max, 10_000, '< 10 s (GitHub gives up)'),
        }),
        row({
          name: `answers by status: ${Object.entries(result.answers)
            .map(([status, n]) => `${status}×${n}`)
            .join(', ')}`,
          unit: 'count',
          value: jobs,
        }),
        row({ name: 'RunTask calls (throttled ones included)', unit: 'count', value: runTasks }),
        row({ name: 'RunTask calls throttled', unit: 'count', value: ecs.throttled() }),
      ];
    } finally {
      await Promise.all([ecs.close(), secretsManager.close()]);
    }
  },
};
