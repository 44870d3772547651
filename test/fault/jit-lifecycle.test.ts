/**
 * Fault suite, the whole lifecycle with JIT registration: 1,000 jobs through the webhook and the
 * reconciler, with the real ECS and S3 clients and Octokit, against stand-ins that throttle, answer
 * after the deadline, keep tasks waiting for capacity, lose tasks before their job starts (Spot),
 * answer GitHub 5xx, lag the `busy` flag and leave runners out of lists. The end state that must
 * hold: every job exactly one live runner task, and no runner that runs a job stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { WebhookRequest } from '../../shared/webhook/http';
import { jobOfOurs } from '../fixtures/payloads';
import { signedRequest } from '../fixtures/requests';
import type { EcsStandIn, EcsTask } from '../support/ecs-stand-in';
import type { GitHubStandIn } from '../support/github-stand-in';
import { inParallel, startLifecycleWorld } from './functions-in-process';

const JOBS = 1000;
let world: Awaited<ReturnType<typeof startLifecycleWorld>>;
let ecs: EcsStandIn;
let github: GitHubStandIn;
/** Tasks held in PROVISIONING (no capacity for them), by job. */
const noCapacityFor = new Set<string>();
let lateAnswers = 0;
let runTasks = 0;

beforeAll(async () => {
  world = await startLifecycleWorld({
    // A round's GitHub budget for a burst of 1,000 (the default, 60, spreads the repairs over more rounds).
    env: { LAUNCH_DEADLINE_MS: '2000', RECONCILE_GITHUB_REQUESTS: '3000' },
    ecs: {
      bucket: { burst: 100, perSecond: 40 },
      // No capacity ever comes for the first task of these jobs: the reconciler must replace it.
      waitsForCapacity: (task) =>
        noCapacityFor.has((task.startedBy ?? '').split('/').slice(0, 2).join('/')) &&
        task.tags.some((tag) => tag.key === 'gha:launch-attempt' && tag.value === '1'),
      listLagMs: 500,
      fault: (operation) => {
        if (operation !== 'RunTask') return undefined;
        // One RunTask in 20 starts its task but answers after the webhook's deadline.
        if (++runTasks % 20 === 0) {
          lateAnswers++;
          return { kind: 'answer-late', ms: 2500 };
        }
        return undefined;
      },
    },
  });
  ({ ecs, github } = world);
  let jitCalls = 0;
  github.fault = (request) =>
    request.operation.endsWith('/generate-jitconfig') && ++jitCalls % 25 === 0
      ? { status: 502, body: { message: 'Bad Gateway' } }
      : undefined;
});
afterAll(async () => {
  expect(github.violations).toEqual([]);
  await world.close();
});
const webhook = (offsetMs = 0) => world.webhook(offsetMs);
const reconcile = (offsetMs: number) => world.reconcile(offsetMs);

const MINUTE = 60_000;

describe('fault suite: the lifecycle with JIT registration', () => {
  it('gives 1,000 jobs exactly one live task each through lost, late and waiting tasks, and stops no busy runner', async () => {
    const started = Date.now();
    const payloads = Array.from({ length: JOBS }, (_, i) => {
      const payload = jobOfOurs({ jobId: 8_000_000_000 + i, runId: 800_000 + Math.floor(i / 10) });
      payload.workflow_job.created_at = new Date().toISOString();
      github.jobs.set(8_000_000_000 + i, 'queued');
      github.jobRuns.set(8_000_000_000 + i, {
        runId: payload.workflow_job.run_id as number,
        labels: payload.workflow_job.labels as string[],
      });
      return payload;
    });
    const idOf = (i: number) => 8_000_000_000 + i;
    const startedBy = (i: number) => `gha-job/${idOf(i)}`;
    // One job in 20 finds no capacity for its first task (some of them are also lost to Spot).
    for (let i = 0; i < JOBS; i += 20) noCapacityFor.add(startedBy(i));

    const answers: Record<number, number> = {};
    let slowest = 0;
    const requests: WebhookRequest[] = await Promise.all(payloads.map((p) => signedRequest(p)));
    const handle = webhook();
    await inParallel(requests, 50, async (request) => {
      const t0 = performance.now();
      const response = await handle(request);
      slowest = Math.max(slowest, performance.now() - t0);
      answers[response.statusCode] = (answers[response.statusCode] ?? 0) + 1;
    });

    // ECS loses one task in 10 before its job starts (Spot interruptions, OOM at start).
    const live = (i: number) =>
      ecs.tasks.filter((t) => t.startedBy?.startsWith(`${startedBy(i)}/`) && t.desiredStatus === 'RUNNING');
    let lostToSpot = 0;
    for (let i = 5; i < JOBS; i += 10) {
      for (const task of live(i)) {
        ecs.stopTask(task.taskArn, 'Host EC2 (instance i-0f00) terminated: Spot interruption');
        lostToSpot++;
      }
    }
    // The reconciler's rounds, a minute apart; past the capacity wait the held tasks are replaced.
    await new Promise((resolve) => setTimeout(resolve, 600));
    let offset = 0;
    const rounds: unknown[] = [];
    for (let round = 0; round < 4; round++) {
      offset += round === 2 ? 11 * MINUTE : MINUTE;
      const summary = await reconcile(offset);
      rounds.push({
        relaunched: summary.relaunched,
        launched: summary.launched,
        stuck: summary.stuck,
        errors: summary.errors.length,
      });
    }
    const perJob = payloads.map((_, i) => live(i).length);
    const lost = perJob.filter((n) => n === 0).length;
    const duplicates = perJob.filter((n) => n > 1).length;
    expect({ lost, duplicates }).toEqual({ lost: 0, duplicates: 0 });

    // GitHub gives each job to its runner. The in_progress delivery is lost for one job in 5, the
    // busy flag lags (false) for one in 2, and one runner in 3 is left out of runner lists.
    const runnerOf = (task: EcsTask | undefined) => {
      const name = task?.tags.find((t) => t.key === 'gha:runner-name')?.value;
      return [...github.runners.values()].find((runner) => runner.name === name);
    };
    const atWork: EcsTask[] = [];
    const events = webhook(offset);
    await inParallel(
      payloads.map((payload, i) => ({ payload, i })),
      20,
      async ({ payload, i }) => {
        const [task] = live(i);
        const runner = runnerOf(task);
        if (!task || !runner) throw new Error(`job ${idOf(i)}: no live task with a registered runner`);
        Object.assign(runner, { status: 'online', busy: i % 2 === 0 });
        if (i % 3 === 0) github.hiddenFromLists.add(runner.name);
        github.jobs.set(idOf(i), 'in_progress');
        github.jobRunners.set(idOf(i), runner.name);
        atWork.push(task);
        if (i % 5 === 0) return;
        const inProgress = jobOfOurs({
          action: 'in_progress',
          jobId: idOf(i),
          runId: payload.workflow_job.run_id as number,
          runnerName: runner.name,
        });
        expect((await events(await signedRequest(inProgress))).statusCode).toBe(200);
      },
    );
    // Hours pass, far beyond the idle timeout: rounds keep running.
    for (const hours of [1, 3, 6]) await reconcile(offset + hours * 60 * MINUTE);
    const busyStopped = atWork.filter((task) => task.desiredStatus !== 'RUNNING').length;
    expect(busyStopped).toBe(0);

    const figures = {
      name: 'JIT lifecycle',
      jobs: JOBS,
      answers,
      slowestAnswerMs: Math.round(slowest),
      lateRunTaskAnswers: lateAnswers,
      heldForCapacity: JOBS / 20,
      lostToSpot,
      rounds,
      lost,
      duplicates,
      busyStopped,
      tasksStarted: ecs.tasks.length,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
    process.stderr.write(`fault scenario ${JSON.stringify(figures)}\n`);
  }, 300_000);
});
