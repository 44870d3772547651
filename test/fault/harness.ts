/**
 * The fault harness: plays GitHub (deliveries with concurrency, redelivery of failed ones), runs
 * the webhook and launcher handlers in process with the real SDK clients, against ECS and SQS
 * stand-ins that enforce RunTask's bucket and inject faults; then counts tasks per job.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDependencies, createWebhookDependencies } from '../../shared/dependencies';
import { createPrintingRunnerConfigStore } from '../../shared/ecs/runner-config-store';
import { createDryRunGitHub } from '../../shared/github/dry-run-github';
import { createMemoryJobLedger } from '../../shared/jobs/job-ledger';
import { createLauncherHandler } from '../../shared/queue/launcher-handler';
import { createSqsRetryDelay } from '../../shared/queue/overflow-queue';
import { createWebhookHandler } from '../../shared/webhook/handle-webhook';
import type { WebhookRequest } from '../../shared/webhook/http';
import { jobOfOurs } from '../fixtures/payloads';
import { signedRequest, TEST_SECRET } from '../fixtures/requests';
import type { Fault } from '../support/aws-stand-in';
import { startEcsStandIn } from '../support/ecs-stand-in';
import { pollQueue } from '../support/sqs-poller';
import { startSqsStandIn } from '../support/sqs-stand-in';

export interface Scenario {
  readonly name: string;
  readonly jobs: number;
  readonly concurrency: number;
  /** RunTask's bucket; default 100 burst, 40/s. */
  readonly bucket?: { burst: number; perSecond: number };
  /** Extra ECS faults per call (on top of the bucket). */
  readonly ecsFault?: (operation: string, input: Record<string, unknown>) => Fault | undefined;
  readonly placementFailure?: (input: Record<string, unknown>) => string | undefined;
  readonly sqsFault?: (operation: string) => Fault | undefined;
  /** The Lambda dies after answering: GitHub records the delivery as failed. */
  readonly dieAfterAnswer?: (delivery: number) => boolean;
  /** Deliver some jobs twice (GitHub's second `queued` for a job held by an environment rule). */
  readonly queuedTwice?: (job: number) => boolean;
  /** Rounds of redelivery of failed deliveries (GitHub's redelivery, by our sweep). */
  readonly redeliveryRounds?: number;
  readonly timeoutMs?: number;
}

export interface ScenarioResult {
  readonly name: string;
  readonly jobs: number;
  readonly deliveries: number;
  readonly redeliveries: number;
  readonly faultsInjected: number;
  readonly throttled: number;
  readonly queued: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly slowestAnswerMs: number;
  readonly secondsUntilEveryJobHasATask: number;
  readonly answers: Record<string, number>;
}

const FIGURES = join(tmpdir(), 'ecs-github-runners-fault-figures.json');

/** Runs one scenario from a clean slate and returns its figures (kept for README unless `record` is false). */
export async function runScenario(
  scenario: Scenario,
  options: { readonly record?: boolean } = {},
): Promise<ScenarioResult> {
  let faultsInjected = 0;
  const counted =
    <A extends unknown[], R>(fault: ((...args: A) => R | undefined) | undefined) =>
    (...args: A): R | undefined => {
      const result = fault?.(...args);
      if (result !== undefined) faultsInjected++;
      return result;
    };
  const ecs = await startEcsStandIn({
    bucket: scenario.bucket ?? { burst: 100, perSecond: 40 },
    fault: counted(scenario.ecsFault),
    placementFailure: counted(scenario.placementFailure),
  });
  // Visibility as deployed (6 × the launcher's 210 s timeout), at half speed like the retry delays.
  const sqs = await startSqsStandIn({
    maxReceiveCount: 50,
    visibilityTimeoutSeconds: 1260,
    timeScale: 0.5,
    fault: counted(scenario.sqsFault),
  });
  process.env.AWS_ENDPOINT_URL_ECS = ecs.url;
  process.env.AWS_ENDPOINT_URL_SQS = sqs.url;
  const env = {
    WEBHOOK_SECRET: TEST_SECRET,
    ECS_CLUSTER: 'runners',
    OVERFLOW_QUEUE_URL: sqs.queueUrl,
    RUNNER_REGISTRATION: 'token',
    GITHUB_TOKEN: 'ghp_fault_harness',
    RUNNER_CONFIG_BUCKET: 'github-runners-config',
  };
  // The webhook and the launcher share one ledger, as they share the table when deployed. The
  // registration tokens come from the dry run's GitHub and config store: the faults are ECS's and SQS's.
  const ledger = createMemoryJobLedger();
  const overrides = {
    ledger,
    github: createDryRunGitHub(() => undefined),
    configStore: createPrintingRunnerConfigStore(() => undefined),
  };
  const webhook = createWebhookHandler(createWebhookDependencies({ env, overrides }));
  const launcherDeps = createDependencies({ env, overrides });
  const launcher = createLauncherHandler({ ...launcherDeps, delayRetry: createSqsRetryDelay(sqs.queueUrl) });

  const started = Date.now();
  const firstJob = 4_000_000_000 + Math.floor(Math.random() * 1e8) * 10;
  const requests: WebhookRequest[] = [];
  for (let i = 0; i < scenario.jobs; i++) {
    const payload = jobOfOurs({ jobId: firstJob + i, runId: 9_000_000 + Math.floor(i / 10) });
    requests.push(await signedRequest(payload));
    if (scenario.queuedTwice?.(i)) requests.push(await signedRequest(payload));
  }
  const jobIds = Array.from({ length: scenario.jobs }, (_, i) => firstJob + i);

  const answers: Record<string, number> = {};
  let slowestAnswerMs = 0;
  let deliveries = 0;
  const deliver = async (request: WebhookRequest): Promise<boolean> => {
    const index = deliveries++;
    const t0 = performance.now();
    const response = await webhook(request);
    const ms = performance.now() - t0;
    slowestAnswerMs = Math.max(slowestAnswerMs, ms);
    answers[response.statusCode] = (answers[response.statusCode] ?? 0) + 1;
    const died = scenario.dieAfterAnswer?.(index) ?? false;
    if (died) answers.died = (answers.died ?? 0) + 1;
    return response.statusCode >= 200 && response.statusCode < 300 && ms < 10_000 && !died;
  };
  const deliverAll = async (batch: WebhookRequest[]) => {
    const failed: WebhookRequest[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: scenario.concurrency }, async () => {
        while (next < batch.length) {
          const request = batch[next++] as WebhookRequest;
          if (!(await deliver(request))) failed.push(request);
        }
      }),
    );
    return failed;
  };

  const tasksOf = () => {
    const count = new Map<string, number>();
    for (const task of ecs.tasks) {
      const job = (task.startedBy ?? '').split('/').slice(0, 2).join('/');
      count.set(job, (count.get(job) ?? 0) + 1);
    }
    return count;
  };
  const everyJobHasATask = () => {
    const count = tasksOf();
    return jobIds.every((id) => (count.get(`gha-job/${id}`) ?? 0) > 0);
  };
  let doneAt: number | undefined;
  const draining = pollQueue(sqs.queueUrl, launcher, {
    until: () => {
      if (doneAt === undefined && everyJobHasATask()) doneAt = Date.now();
      return doneAt !== undefined && sqs.messages.length === 0;
    },
    timeoutMs: scenario.timeoutMs ?? 120_000,
    batchSize: 10,
    concurrency: 2,
  });

  let failed = await deliverAll(requests);
  let redeliveries = 0;
  for (let round = 0; round < (scenario.redeliveryRounds ?? 3) && failed.length > 0; round++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    redeliveries += failed.length;
    failed = await deliverAll(failed);
  }
  await draining;

  const count = tasksOf();
  const perJob = jobIds.map((id) => count.get(`gha-job/${id}`) ?? 0);
  const result: ScenarioResult = {
    name: scenario.name,
    jobs: scenario.jobs,
    deliveries,
    redeliveries,
    faultsInjected,
    throttled: ecs.throttled(),
    queued: sqs.sent.length,
    lost: perJob.filter((n) => n === 0).length,
    duplicates: perJob.filter((n) => n > 1).length,
    slowestAnswerMs: Math.round(slowestAnswerMs),
    secondsUntilEveryJobHasATask: Math.round(((doneAt ?? Date.now()) - started) / 100) / 10,
    answers,
  };
  await Promise.all([ecs.close(), sqs.close()]);
  if (options.record !== false) record(result);
  return result;
}

/** Keeps each scenario's figures in one file (for README), and prints them. */
function record(result: ScenarioResult) {
  let all: Record<string, ScenarioResult> = {};
  try {
    all = JSON.parse(readFileSync(FIGURES, 'utf8')) as Record<string, ScenarioResult>;
  } catch {
    all = {};
  }
  all[result.name] = result;
  writeFileSync(FIGURES, `${JSON.stringify(all, null, 2)}\n`);
  process.stderr.write(`fault scenario ${JSON.stringify(result)}\n`);
}
