/**
 * `npm run status`, built as it ships: against the deployed stack's ledger (dynalite) and ECS (the
 * ECS stand-in), found through the stack's outputs (the CloudFormation stand-in), with the real
 * clients; and against a local `npm start`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDynamoDbJobLedger } from '../../shared/jobs/dynamodb-job-ledger';
import { transition } from '../../shared/jobs/job-lifecycle';
import type { JobRecord } from '../../shared/jobs/job-record';
import { parseWorkflowJob } from '../../shared/runner/workflow-job';
import type { JobStatusRow } from '../../shared/status/job-status';
import { jobOfOurs } from '../fixtures/payloads';
import type { StandIn } from '../support/aws-stand-in';
import { startCloudFormationStandIn } from '../support/cloudformation-stand-in';
import { type DynamoDbServer, startDynamoDbServer } from '../support/dynamodb-server';
import { type EcsStandIn, startEcsStandIn } from '../support/ecs-stand-in';

const run = promisify(execFile);
let dynamodb: DynamoDbServer;
let ecs: EcsStandIn;
let cloudFormation: StandIn;
let table = '';

beforeAll(async () => {
  await run(process.execPath, ['esbuild.config.mjs', '--only', 'status']);
  dynamodb = await startDynamoDbServer();
  // Job 3's task waits for capacity for good: ECS keeps it PROVISIONING.
  ecs = await startEcsStandIn({
    waitsForCapacity: (task) => task.startedBy?.startsWith('gha-job/3/') === true,
  });
  table = await dynamodb.createJobsTable();
  cloudFormation = await startCloudFormationStandIn([
    {
      name: 'GitHubRunners',
      status: 'UPDATE_COMPLETE',
      outputs: { JobsTableName: table, ClusterName: 'runners' },
      tags: {},
      resources: [],
    },
    // A stack deployed before the ledger: no JobsTableName output.
    {
      name: 'OlderRunners',
      status: 'UPDATE_COMPLETE',
      outputs: { ClusterName: 'runners' },
      tags: {},
      resources: [],
    },
  ]);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamodb.url;
  const ledger = createDynamoDbJobLedger(table);
  const now = Date.now();
  const record = (jobId: number, minutesAgo: number, changes: Partial<JobRecord>) => {
    const payload = jobOfOurs({ jobId });
    payload.workflow_job.created_at = new Date(now - minutesAgo * 60_000).toISOString();
    return {
      ...(transition(
        undefined,
        { type: 'delivered', event: parseWorkflowJob(payload), profile: 'default' },
        now,
      ).next as JobRecord),
      ...changes,
    };
  };
  // A job whose task runs, one queued 20 minutes with its launch failing, one whose task waits for capacity.
  const { tasks } = ecs;
  await ledger.put(record(1, 1, {}), undefined);
  await ledger.put(record(2, 20, { lastError: 'ECS could not place the task: RESOURCE:MEMORY' }), undefined);
  await ledger.put(
    record(3, 30, {
      state: 'task-started',
      attempt: 1,
      taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/runners/0000000000000000000000000000abcd',
      taskStartedAt: now - 25 * 60_000,
    }),
    undefined,
  );
  tasks.push({
    taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/runners/0000000000000000000000000000abcd',
    cluster: 'runners',
    taskDefinitionArn:
      'arn:aws:ecs:us-east-1:123456789012:task-definition/github-actions-self-hosted-runner-debian-task:1',
    startedBy: 'gha-job/3/1',
    tags: [],
    overrides: {},
    lastStatus: 'PROVISIONING',
    desiredStatus: 'RUNNING',
    createdAt: now - 25 * 60_000,
  });
});
afterAll(async () => {
  await Promise.all([dynamodb.close(), ecs.close(), cloudFormation.close()]);
});

const status = (...args: string[]) =>
  run(process.execPath, ['dist/status/index.mjs', ...args], {
    env: {
      ...process.env,
      AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url,
      AWS_ENDPOINT_URL_ECS: ecs.url,
    },
  }).then(
    (result) => ({ code: 0, ...result }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe('npm run status', () => {
  it("lists the stack's open jobs beside ECS, says which look stuck and why, and exits 1", async () => {
    const result = await status('--json');
    expect(result.code).toBe(1);
    const { jobs } = JSON.parse(result.stdout) as { jobs: JobStatusRow[] };
    expect(jobs.map((job) => [job.jobId, job.state, job.task])).toEqual([
      [3, 'task-started', 'PROVISIONING'],
      [2, 'queued', '-'],
      [1, 'queued', '-'],
    ]);
    expect(jobs.find((job) => job.jobId === 2)?.stuck).toContain(
      'last launch failed: ECS could not place the task',
    );
    expect(jobs.find((job) => job.jobId === 3)?.stuck).toContain(
      'its task is PROVISIONING (waiting for capacity or its image) after 30 min',
    );
    expect(jobs.find((job) => job.jobId === 1)?.stuck).toBeUndefined();
  });

  it('prints a table for a terminal, the stuck jobs explained under it', async () => {
    const result = await status();
    expect(result.stdout).toMatch(/^job\s+repository\s+state\s+try\s+age\s+task\s+runner/);
    expect(result.stdout).toContain('3 open job(s), 2 stuck');
    expect(result.stdout).toContain('next: launch: queued without a task');
  });

  it('names the flags to pass when the stack has no ledger output', async () => {
    const result = await status('--stack', 'OlderRunners');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'stack OlderRunners has no JobsTableName or ClusterName output: pass --table and --cluster',
    );
  });

  it("passes on CloudFormation's word for a stack that does not exist", async () => {
    const result = await status('--stack', 'NoSuchStack');
    // 2, not 1: it could not tell, which is not "a job looks stuck".
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Stack with id NoSuchStack does not exist');
  });

  it('answers a wrong flag with the usage and exit code 2', async () => {
    const result = await status('--stuck-after', 'soon');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--stuck-after takes a whole number of seconds');
  });
});
