/**
 * Burst with the overflow queue: the same 1,000 jobs, 100 at a time, against RunTask's bucket, with
 * the webhook handing what it cannot start in time to an SQS stand-in and the launcher draining it.
 * The fault suite's harness runs it (one implementation of "GitHub + webhook + launcher").
 */
import { runScenario } from '../test/fault/harness';
import { FAKE_AWS_CREDENTIALS } from '../test/support/fake-aws-credentials';
import { BURST_CONCURRENCY, bucketFloorSeconds, RUN_TASK_BUCKET } from './burst';
import { atMost, type Figure, type Scenario, under } from './figures';

export const burstOverflow: Scenario = {
  name: 'burst-overflow',
  async run({ jobs, progress }) {
    const floor = bucketFloorSeconds(jobs);
    progress(
      `burst-overflow: ${jobs} jobs, concurrency ${BURST_CONCURRENCY}, webhook + launcher, floor ${floor} s`,
    );
    // In this process: the handlers need credentials for the stand-ins, and their logs would mix with the table.
    const saved = { ...process.env };
    Object.assign(process.env, FAKE_AWS_CREDENTIALS, {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    let result: Awaited<ReturnType<typeof runScenario>>;
    try {
      result = await runScenario(
        { name: 'bench burst with overflow', jobs, concurrency: BURST_CONCURRENCY, bucket: RUN_TASK_BUCKET },
        { record: false },
      );
    } finally {
      process.env = saved;
    }
    const seconds = result.secondsUntilEveryJobHasATask;
    const row = (figure: Omit<Figure, 'scenario'>): Figure => ({
      scenario: 'burst + overflow queue',
      ...figure,
    });
    return [
      row({ name: 'seconds until every job has a task', unit: 's', value: seconds }),
      row({
        name: `ratio to the bucket floor (${floor} s)`,
        unit: 'ratio',
        value: seconds / floor,
        budget: { text: '≤ 1.15, every job with a task', pass: result.lost === 0 && seconds / floor <= 1.15 },
      }),
      row({
        name: 'jobs without a task (lost)',
        unit: 'count',
        value: result.lost,
        budget: atMost(result.lost, 0, '0'),
      }),
      row({
        name: 'jobs with two tasks or more',
        unit: 'count',
        value: result.duplicates,
        budget: atMost(result.duplicates, 0, '0'),
      }),
      row({
        name: 'slowest answer',
        unit: 'ms',
        value: result.slowestAnswerMs,
        budget: under(result.slowestAnswerMs, 10_000, '< 10 s (GitHub gives up)'),
      }),
      row({ name: 'jobs handed to the overflow queue (answered 202)', unit: 'count', value: result.queued }),
    ];
  },
};
