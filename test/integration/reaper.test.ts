/**
 * The reaper: runner tasks × GitHub runners → the idle ones are stopped and unregistered; a busy
 * runner never is. Real ECS client and Octokit against the stand-ins; launches go through the
 * webhook, so the tasks carry exactly what production tasks carry.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createDependencies } from '../../shared/dependencies';
import { createWebhookHandler } from '../../shared/webhook/handle-webhook';
import { jobOfOurs } from '../fixtures/payloads';
import { signedRequest, TEST_SECRET } from '../fixtures/requests';
import { type EcsStandIn, startEcsStandIn } from '../support/ecs-stand-in';
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in';

const TOKEN = 'ghp_reaper_token';
let ecs: EcsStandIn;
let github: GitHubStandIn;

beforeAll(async () => {
  ecs = await startEcsStandIn();
  github = await startGitHubStandIn({ token: TOKEN });
  github.groups.set('org:octo-org', [{ id: 7, name: 'octo-org-sandpit', allows_public_repositories: false }]);
  process.env.AWS_ENDPOINT_URL_ECS = ecs.url;
});
afterAll(async () => {
  await Promise.all([ecs.close(), github.close()]);
});
afterEach(() => {
  github.fault = undefined;
  expect(github.violations).toEqual([]);
});

const deps = () =>
  createDependencies({
    env: {
      WEBHOOK_SECRET: TEST_SECRET,
      ECS_CLUSTER: 'runners',
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: github.url,
    },
  });
let nextRun = 500;
let nextJob = 7_100_000_000;

/** Launches one runner task per job of a fresh run through the webhook; returns the jobs. */
async function launchRun(jobs: number) {
  const runId = nextRun++;
  const handle = createWebhookHandler(deps());
  const payloads = [];
  for (let i = 0; i < jobs; i++) {
    const payload = jobOfOurs({ runId, jobId: nextJob++ });
    payload.workflow_job.created_at = new Date().toISOString();
    github.jobs.set(payload.workflow_job.id as number, 'queued');
    github.jobRuns.set(payload.workflow_job.id as number, {
      runId,
      labels: payload.workflow_job.labels as string[],
    });
    expect((await handle(await signedRequest(payload))).statusCode).toBe(200);
    payloads.push(payload);
  }
  return { runId, payloads };
}
const jobIdOf = (payload: ReturnType<typeof jobOfOurs>) => payload.workflow_job.id as number;
const taskOf = (payload: ReturnType<typeof jobOfOurs>) =>
  ecs.tasks.find((t) => t.startedBy === `gha-job/${jobIdOf(payload)}`);
const runnerOf = (payload: ReturnType<typeof jobOfOurs>) => {
  const name = taskOf(payload)?.tags.find((t) => t.key === 'gha:runner-name')?.value;
  return [...github.runners.values()].find((r) => r.name === name);
};

describe('reaper', () => {
  it('stops the idle task of a job cancelled before pickup, and never the busy runner of the same run', async () => {
    const { payloads } = await launchRun(2);
    const [cancelled, running] = payloads as [ReturnType<typeof jobOfOurs>, ReturnType<typeof jobOfOurs>];
    Object.assign(runnerOf(running) ?? {}, { status: 'online', busy: true });
    Object.assign(runnerOf(cancelled) ?? {}, { status: 'online', busy: false });
    github.jobs.set(jobIdOf(cancelled), 'completed');
    github.jobs.set(jobIdOf(running), 'in_progress');

    // GitHub's `completed` event for the cancelled job triggers the check of its run.
    const completed = jobOfOurs({
      action: 'completed',
      runId: cancelled.workflow_job.run_id as number,
      jobId: jobIdOf(cancelled),
    });
    const response = await createWebhookHandler(deps())(await signedRequest(completed));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body).message).toContain('stopped 1');
    expect(taskOf(cancelled)?.desiredStatus).toBe('STOPPED');
    expect(runnerOf(cancelled)).toBeUndefined();
    expect(taskOf(running)?.desiredStatus).toBe('RUNNING');
    expect(runnerOf(running)).toBeDefined();
  });

  it('keeps a runner whose job went to its twin while another job of the run waits, and stops it after', async () => {
    const { payloads } = await launchRun(2);
    const [a, b] = payloads as [ReturnType<typeof jobOfOurs>, ReturnType<typeof jobOfOurs>];
    // Runner B took job A; job B still waits, and runner A can take it.
    github.jobs.set(jobIdOf(a), 'in_progress');
    github.jobRunners.set(jobIdOf(a), runnerOf(b)?.name ?? '');
    Object.assign(runnerOf(b) ?? {}, { status: 'online', busy: true });
    Object.assign(runnerOf(a) ?? {}, { status: 'online' });
    await deps().reaper?.sweep();
    expect(taskOf(a)?.desiredStatus).toBe('RUNNING');
    // Job B was cancelled instead: nothing waits for runner A any more.
    github.jobs.set(jobIdOf(b), 'completed');
    const summary = await deps().reaper?.sweep();
    expect(taskOf(a)?.desiredStatus).toBe('STOPPED');
    expect(taskOf(b)?.desiredStatus).toBe('RUNNING');
    expect(summary?.stopped.find((s) => s.taskArn === taskOf(a)?.taskArn)?.reason).toMatch(
      /^its job was taken by runner/,
    );
  });

  it('keeps a young task that has not registered yet, and stops it once past the idle timeout', async () => {
    const { payloads } = await launchRun(1);
    const [payload] = payloads as [ReturnType<typeof jobOfOurs>];
    const runner = runnerOf(payload);
    if (runner) github.runners.delete(runner.id);
    await deps().reaper?.sweep();
    expect(taskOf(payload)?.desiredStatus).toBe('RUNNING');
    const task = taskOf(payload);
    if (task) task.createdAt -= 16 * 60_000;
    const summary = await deps().reaper?.sweep();
    expect(taskOf(payload)?.desiredStatus).toBe('STOPPED');
    expect(summary?.stopped.find((s) => s.taskArn === task?.taskArn)?.reason).toMatch(/^never registered/);
  });

  it('keeps a runner that took a job between the check and the stop', async () => {
    const { payloads } = await launchRun(1);
    const [payload] = payloads as [ReturnType<typeof jobOfOurs>];
    github.jobs.set(jobIdOf(payload), 'completed');
    github.fault = (request) =>
      request.operation.startsWith('DELETE')
        ? { status: 422, body: { message: 'Runner is currently running a job' } }
        : undefined;
    const summary = await deps().reaper?.sweep();
    expect(taskOf(payload)?.desiredStatus).toBe('RUNNING');
    expect(summary?.errors.some((e) => e.reason.startsWith('kept: GitHub did not delete the runner'))).toBe(
      true,
    );
  });

  it('leaves tasks it did not start alone', async () => {
    const stranger = {
      ...(ecs.tasks[0] as (typeof ecs.tasks)[number]),
      taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/runners/stranger',
      tags: [],
      startedBy: undefined,
    };
    stranger.desiredStatus = 'RUNNING';
    stranger.createdAt = Date.now() - 24 * 3_600_000;
    ecs.tasks.push(stranger);
    await deps().reaper?.sweep();
    expect(stranger.desiredStatus).toBe('RUNNING');
  });
});
