import { describe, expect, it } from '@jest/globals';
import { parseConfig } from '../../shared/config';
import { buildRunTaskRequest, parseStartedBy, runnerConfigArgs } from '../../shared/ecs/run-task-input';
import { decide, runnerNameFor } from '../../shared/runner/decide';
import type { RunnerPlan } from '../../shared/runner/runner-plan';
import { parseWorkflowJob } from '../../shared/runner/workflow-job';
import { type JobVariation, jobOfOurs } from '../fixtures/payloads';

const setup = (env: Record<string, string> = {}, variation: JobVariation = {}): RunnerPlan => {
  const config = parseConfig({
    ECS_CLUSTER: 'runners',
    RUNNER_REGISTRATION: 'token',
    GITHUB_TOKEN: 'ghp_unused',
    RUNNER_CONFIG_BUCKET: 'github-runners-config',
    ...env,
  });
  const decision = decide(
    config,
    parseWorkflowJob(jobOfOurs({ jobId: 2832853555, runId: 940463255, ...variation })),
  );
  if (decision.kind !== 'ours') throw new Error(decision.reason);
  return decision.plan;
};
const first = (plan: RunnerPlan) => ({ number: 1, runnerName: plan.name });
const ENV_FILE = 'arn:aws:s3:::github-runners-config/runner-config/0123456789abcdef0123456789abcdef.env';
/** A token registration: the registration token in the S3 environment file. */
const TOKEN = { kind: 'token', environmentFileArn: ENV_FILE } as const;

describe('buildRunTaskRequest', () => {
  it('overrides the runner container with the scope, config args and labels', () => {
    const plan = setup();
    const { input } = buildRunTaskRequest(plan, first(plan), TOKEN);
    expect(input.overrides).toEqual({
      containerOverrides: [
        {
          name: 'github-actions-self-hosted-runner-debian-container',
          environment: [
            { name: 'REPOSITORY', value: 'octo-org/elastic-machines-testing' },
            { name: 'RUNNER_CONFIG_ARGS', value: runnerConfigArgs(plan, plan.name) },
            { name: 'RUNNER_LABELS', value: plan.labels.join(',') },
            { name: 'RUNNER_IDLE_TIMEOUT', value: '900' },
          ],
          environmentFiles: [{ type: 's3', value: ENV_FILE }],
        },
      ],
    });
    expect(input).toMatchObject({
      cluster: 'runners',
      taskDefinition: 'github-actions-self-hosted-runner-debian-task',
      count: 1,
      launchType: 'EC2',
    });
  });

  it('places a runner task on an instance of its own by default, and packs them when asked', () => {
    const plan = setup();
    expect(buildRunTaskRequest(plan, first(plan), TOKEN).input.placementConstraints).toEqual([
      { type: 'distinctInstance' },
    ]);
    const packed = setup({ RUNNER_DISTINCT_INSTANCE: 'false' });
    expect(buildRunTaskRequest(packed, first(packed), TOKEN).input.placementConstraints).toBeUndefined();
  });

  it('passes RUNNER_IDLE_TIMEOUT, so the runner and the reconciler give up on the same clock', () => {
    const plan = setup({ RUNNER_IDLE_TIMEOUT: '600' });
    const environment = buildRunTaskRequest(plan, first(plan), TOKEN).input.overrides?.containerOverrides?.[0]
      ?.environment;
    expect(environment).toContainEqual({ name: 'RUNNER_IDLE_TIMEOUT', value: '600' });
  });

  it('uses the capacity provider instead of a launch type when one is set', () => {
    const plan = setup({ ECS_CAPACITY_PROVIDER: 'runners-asg' });
    const { input } = buildRunTaskRequest(plan, first(plan), TOKEN);
    expect(input.capacityProviderStrategy).toEqual([{ capacityProvider: 'runners-asg', weight: 1 }]);
    expect(input.launchType).toBeUndefined();
  });

  it('adds awsvpc settings when subnets are set', () => {
    const plan = setup({ ECS_SUBNETS: 'subnet-a,subnet-b', ECS_SECURITY_GROUPS: 'sg-1' });
    expect(buildRunTaskRequest(plan, first(plan), TOKEN).input.networkConfiguration).toEqual({
      awsvpcConfiguration: {
        subnets: ['subnet-a', 'subnet-b'],
        securityGroups: ['sg-1'],
        assignPublicIp: 'DISABLED',
      },
    });
  });

  it('marks the task with the job and its attempt in startedBy and tags', () => {
    const plan = setup();
    const { input } = buildRunTaskRequest(plan, first(plan), TOKEN);
    expect(input.startedBy).toBe('gha-job/2832853555/1');
    expect(parseStartedBy(input.startedBy)).toEqual({ jobId: 2832853555, attempt: 1 });
    expect(parseStartedBy('gha-job/2832853555')).toEqual({ jobId: 2832853555, attempt: undefined });
    expect(parseStartedBy('someone-else')).toBeUndefined();
    expect(input.tags).toEqual(
      expect.arrayContaining([
        { key: 'gha:job-id', value: '2832853555' },
        { key: 'gha:run-id', value: '940463255' },
        { key: 'gha:repository', value: plan.repository },
        { key: 'gha:launch-attempt', value: '1' },
        { key: 'gha:profile', value: 'default' },
      ]),
    );
  });

  it('gives the same attempt of a job the same request and a 64-character token', () => {
    const plan = setup();
    const a = buildRunTaskRequest(plan, first(plan), TOKEN).input;
    const b = buildRunTaskRequest(plan, first(plan), TOKEN).input;
    expect(a).toEqual(b);
    expect(a.clientToken).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives a new attempt its own runner name and token, so a stopped task is not returned again', () => {
    const plan = setup();
    const second = { number: 2, runnerName: runnerNameFor(plan, 2) };
    expect(second.runnerName).not.toBe(plan.name);
    expect(second.runnerName.length).toBeLessThanOrEqual(64);
    expect(buildRunTaskRequest(plan, second, TOKEN).input.clientToken).not.toBe(
      buildRunTaskRequest(plan, first(plan), TOKEN).input.clientToken,
    );
  });

  it('gives another job another token, and a changed request the same one (ECS then answers ConflictException)', () => {
    const plan = setup();
    const other = setup({}, { jobId: 1 });
    const revised = setup({ ECS_TASK_DEFINITION: 'github-actions-self-hosted-runner-debian-task:7' });
    const token = buildRunTaskRequest(plan, first(plan), TOKEN).input.clientToken;
    expect(buildRunTaskRequest(other, first(other), TOKEN).input.clientToken).not.toBe(token);
    expect(buildRunTaskRequest(revised, first(revised), TOKEN).input.clientToken).toBe(token);
    expect(
      buildRunTaskRequest(setup({ RUNNER_IDLE_TIMEOUT_SECONDS: '600' }), first(plan), TOKEN).input
        .clientToken,
    ).toBe(token);
  });

  it('gives the next placement of an attempt the same request under another token', () => {
    const plan = setup();
    const request = buildRunTaskRequest(plan, first(plan), TOKEN).input;
    const next = buildRunTaskRequest(plan, { ...first(plan), placement: 1 }, TOKEN).input;
    expect({ ...next, clientToken: '' }).toEqual({ ...request, clientToken: '' });
    expect(next.clientToken).not.toBe(request.clientToken);
  });

  it('refuses overrides longer than ECS accepts', () => {
    const labels = Array.from({ length: 60 }, (_, i) => `label-${i}-${'x'.repeat(60)}`).join(',');
    const plan = setup({ RUNNER_LABELS_TEMPLATE: labels }, { labels: [`label-0-${'x'.repeat(60)}`] });
    expect(() => buildRunTaskRequest(plan, first(plan), TOKEN)).toThrow(/at most 8192/);
  });
});

describe('buildRunTaskRequest with a JIT registration', () => {
  it('names the S3 environment file and carries no config value in the request', () => {
    const plan = setup();
    const { input } = buildRunTaskRequest(plan, first(plan), { kind: 'jit', environmentFileArn: ENV_FILE });
    const override = input.overrides?.containerOverrides?.[0];
    expect(override?.environment?.map((e) => e.name)).toEqual([
      'REPOSITORY',
      'RUNNER_LABELS',
      'RUNNER_IDLE_TIMEOUT',
    ]);
    expect(override?.environmentFiles).toEqual([{ type: 's3', value: ENV_FILE }]);
    expect(JSON.stringify(input)).not.toContain('RUNNER_JIT_CONFIG');
  });

  it('keeps the attempt token when the registration changes: ECS refuses the changed request (ConflictException)', () => {
    const plan = setup();
    const jit = buildRunTaskRequest(plan, first(plan), { kind: 'jit', environmentFileArn: ENV_FILE });
    const token = buildRunTaskRequest(plan, first(plan), TOKEN);
    expect(jit.input.clientToken).toBe(token.input.clientToken);
    expect(jit.input.overrides).not.toEqual(token.input.overrides);
  });
});

describe('buildRunTaskRequest with runner profiles', () => {
  const profiles = JSON.stringify([
    {
      name: 'large',
      labels: ['<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>', 'large'],
      taskDefinition: 'runner-large',
      cpu: 4096,
      memory: 8192,
      capacityProviderStrategy: [{ capacityProvider: 'x86-spot', weight: 1 }],
    },
    {
      name: 'default',
      labels: ['<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>'],
      taskDefinition: 'runner-default',
    },
  ]);

  it("uses the matched profile's task definition, strategy and task-level size", () => {
    const plan = setup({ RUNNER_PROFILES: profiles }, { labels: ['octo-org-sandpit-940463255-1', 'large'] });
    const { input } = buildRunTaskRequest(plan, first(plan), TOKEN);
    expect(input).toMatchObject({
      taskDefinition: 'runner-large',
      capacityProviderStrategy: [{ capacityProvider: 'x86-spot', weight: 1 }],
      overrides: { cpu: '4096', memory: '8192' },
    });
    expect(input.tags).toContainEqual({ key: 'gha:profile', value: 'large' });
  });
});
