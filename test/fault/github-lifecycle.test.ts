/**
 * Fault suite, with GitHub in the loop: redeliveries hours later, and cancellations before pickup
 * across many runs, with a `busy` flag that lags. Real ECS and S3 clients and Octokit against the
 * stand-ins; the webhook and the reconciler share one ledger, as they share the table when deployed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jobOfOurs } from '../fixtures/payloads';
import { signedRequest } from '../fixtures/requests';
import type { EcsStandIn } from '../support/ecs-stand-in';
import type { GitHubStandIn } from '../support/github-stand-in';
import { inParallel, startLifecycleWorld } from './functions-in-process';

let world: Awaited<ReturnType<typeof startLifecycleWorld>>;
let ecs: EcsStandIn;
let github: GitHubStandIn;
beforeAll(async () => {
  world = await startLifecycleWorld({
    ecs: { bucket: { burst: 100, perSecond: 40 } },
    env: { RUNNER_SCOPE: 'org' },
  });
  ({ ecs, github } = world);
  github.groups.set('org:octo-org', [{ id: 7, name: 'octo-org-sandpit', allows_public_repositories: false }]);
});
afterAll(async () => {
  expect(github.violations).toEqual([]);
  await world.close();
});
const handler = (offsetMs = 0) => world.webhook(offsetMs);
const reconcile = (offsetMs = 0) => world.reconcile(offsetMs);

const tasksOf = (jobId: number) => ecs.tasks.filter((t) => t.startedBy?.startsWith(`gha-job/${jobId}/`));
type Payload = ReturnType<typeof jobOfOurs>;
const idOf = (payload: Payload) => payload.workflow_job.id as number;

describe('fault suite: GitHub lifecycle', () => {
  it('starts nothing new for redeliveries three hours later, whether the job has a runner or is no longer queued', async () => {
    const payloads: Payload[] = [];
    for (let i = 0; i < 100; i++) {
      const payload = jobOfOurs({ jobId: 3_100_000_000 + i, runId: 3_100_000 + Math.floor(i / 10) });
      payload.workflow_job.created_at = new Date().toISOString();
      github.jobs.set(idOf(payload), 'queued');
      payloads.push(payload);
    }
    const requests = await Promise.all(payloads.map((payload) => signedRequest(payload)));
    const now = handler();
    await inParallel(requests, 50, async (request) => {
      expect((await now(request)).statusCode).toBe(200);
    });
    const before = ecs.tasks.length;
    // Three hours on: half the jobs ran and completed, half are (somehow) still queued.
    payloads.forEach((payload, i) => {
      github.jobs.set(idOf(payload), i % 2 === 0 ? 'completed' : 'queued');
    });
    const later = handler(3 * 3_600_000);
    const answers: number[] = [];
    await inParallel(requests, 50, async (request) => {
      answers.push((await later(request)).statusCode);
    });
    // The ledger knows every job has its task: nothing new, and no call to GitHub to learn it.
    expect(ecs.tasks.length).toBe(before);
    expect(answers.filter((s) => s === 200)).toHaveLength(100);
    for (const payload of payloads) expect(tasksOf(idOf(payload))).toHaveLength(1);
  }, 120_000);

  it('stops the idle tasks of jobs cancelled before pickup, and never a busy runner (even with a stale busy flag), across 10 runs', async () => {
    const runs = Array.from({ length: 10 }, (_, r) =>
      Array.from({ length: 10 }, (_, j) => {
        const payload = jobOfOurs({ jobId: 3_200_000_000 + r * 100 + j, runId: 3_200_000 + r });
        payload.workflow_job.created_at = new Date().toISOString();
        github.jobs.set(idOf(payload), 'queued');
        github.jobRuns.set(idOf(payload), {
          runId: 3_200_000 + r,
          labels: payload.workflow_job.labels as string[],
        });
        return payload;
      }),
    );
    const launch = handler();
    await inParallel(runs.flat(), 50, async (payload) => {
      expect((await launch(await signedRequest(payload))).statusCode).toBe(200);
    });
    const runnerOf = (payload: Payload) => {
      const name = tasksOf(idOf(payload))[0]?.tags.find((t) => t.key === 'gha:runner-name')?.value;
      return [...github.runners.values()].find((runner) => runner.name === name);
    };
    // In each run, 3 jobs are cancelled before a runner picked them; the 7 others run on their runners.
    const cancelled = runs.flatMap((run) => run.slice(0, 3));
    const busy = runs.flatMap((run) => run.slice(3));
    const events = handler();
    for (const [i, payload] of busy.entries()) {
      const runner = runnerOf(payload);
      github.jobs.set(idOf(payload), 'in_progress');
      github.jobRunners.set(idOf(payload), runner?.name ?? '');
      // Every other runner's busy flag lags: it still reads false while the job runs.
      Object.assign(runner ?? {}, { status: 'online', busy: i % 2 === 0 });
      const started = jobOfOurs({
        action: 'in_progress',
        jobId: idOf(payload),
        runId: payload.workflow_job.run_id as number,
        runnerName: runner?.name ?? '',
      });
      expect((await events(await signedRequest(started))).statusCode).toBe(200);
    }
    for (const payload of cancelled) {
      github.jobs.set(idOf(payload), 'completed');
      Object.assign(runnerOf(payload) ?? {}, { status: 'online', busy: false });
    }
    const completed = await Promise.all(
      cancelled.map((payload) =>
        signedRequest(
          jobOfOurs({
            action: 'completed',
            jobId: idOf(payload),
            runId: payload.workflow_job.run_id as number,
          }),
        ),
      ),
    );
    await inParallel(completed, 10, async (request) => {
      expect((await events(request)).statusCode).toBe(200);
    });
    // The next reconcile rounds, an hour on (far past the idle timeout).
    await reconcile();
    await reconcile(3_600_000);
    for (const payload of cancelled) expect(tasksOf(idOf(payload))[0]?.desiredStatus).toBe('STOPPED');
    for (const payload of busy) {
      expect(tasksOf(idOf(payload))[0]?.desiredStatus).toBe('RUNNING');
      expect(runnerOf(payload)).toBeDefined();
    }
    process.stderr.write(
      `fault scenario ${JSON.stringify({ name: 'cancelled before pickup', runs: 10, cancelled: cancelled.length, busy: busy.length, stopped: cancelled.length, busyStopped: 0 })}\n`,
    );
  }, 120_000);
});
