import { describe, expect, it } from '@jest/globals';
import { parseConfig } from '../../shared/config';
import { buildRunTaskRequest } from '../../shared/ecs/run-task-input';
import { decide, type RunnerPlan } from '../../shared/runner/decide';
import { parseWorkflowJob } from '../../shared/webhook/workflow-job';
import { type JobVariation, jobOfOurs } from '../fixtures/payloads';

const setup = (env: Record<string, string> = {}, variation: JobVariation = {}) => {
  const config = parseConfig({ WEBHOOK_SECRET: 's', ECS_CLUSTER: 'runners', ...env });
  const decision = decide(
    config,
    parseWorkflowJob(jobOfOurs({ jobId: 2832853555, runId: 940463255, ...variation })),
  );
  if (decision.kind !== 'launch') throw new Error(decision.reason);
  return { ecs: config.ecs, plan: decision.plan as RunnerPlan };
};

describe('buildRunTaskRequest', () => {
  it('overrides the seed container with the scope, config args and labels', () => {
    const { ecs, plan } = setup();
    const { input } = buildRunTaskRequest(ecs, plan);
    expect(input.overrides).toEqual({
      containerOverrides: [
        {
          name: 'github-actions-self-hosted-runner-debian-container',
          environment: [
            { name: 'ORGANIZATION', value: 'octo-org' },
            { name: 'RUNNER_CONFIG_ARGS', value: plan.configArgs },
            { name: 'RUNNER_LABELS', value: plan.labels.join(',') },
            { name: 'RUNNER_IDLE_TIMEOUT', value: '900' },
          ],
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

  it('passes RUNNER_IDLE_TIMEOUT, so the runner and the reaper give up on the same clock', () => {
    const { ecs, plan } = setup({ RUNNER_IDLE_TIMEOUT: '600' });
    const environment = buildRunTaskRequest(ecs, plan).input.overrides?.containerOverrides?.[0]?.environment;
    expect(environment).toContainEqual({ name: 'RUNNER_IDLE_TIMEOUT', value: '600' });
  });

  it('uses the capacity provider instead of a launch type when one is set', () => {
    const { ecs, plan } = setup({ ECS_CAPACITY_PROVIDER: 'runners-asg' });
    const { input } = buildRunTaskRequest(ecs, plan);
    expect(input.capacityProviderStrategy).toEqual([{ capacityProvider: 'runners-asg', weight: 1 }]);
    expect(input.launchType).toBeUndefined();
  });

  it('adds awsvpc settings when subnets are set', () => {
    const { ecs, plan } = setup({ ECS_SUBNETS: 'subnet-a,subnet-b', ECS_SECURITY_GROUPS: 'sg-1' });
    expect(buildRunTaskRequest(ecs, plan).input.networkConfiguration).toEqual({
      awsvpcConfiguration: {
        subnets: ['subnet-a', 'subnet-b'],
        securityGroups: ['sg-1'],
        assignPublicIp: 'DISABLED',
      },
    });
  });

  it('marks the task with the job in startedBy and tags', () => {
    const { ecs, plan } = setup();
    const { input } = buildRunTaskRequest(ecs, plan);
    expect(input.startedBy).toBe('gha-job/2832853555');
    expect(input.tags).toEqual(
      expect.arrayContaining([
        { key: 'gha:job-id', value: '2832853555' },
        { key: 'gha:run-id', value: '940463255' },
        { key: 'gha:repository', value: plan.repository },
      ]),
    );
  });

  it('gives the same job the same request and a 64-character token', () => {
    const { ecs, plan } = setup();
    const a = buildRunTaskRequest(ecs, plan).input;
    const b = buildRunTaskRequest(ecs, plan).input;
    expect(a).toEqual(b);
    expect(a.clientToken).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives another job, or another task definition, another token', () => {
    const { ecs, plan } = setup();
    const other = setup({}, { jobId: 1 });
    const revised = setup({ ECS_TASK_DEFINITION: 'github-actions-self-hosted-runner-debian-task:7' });
    const token = buildRunTaskRequest(ecs, plan).input.clientToken;
    expect(buildRunTaskRequest(other.ecs, other.plan).input.clientToken).not.toBe(token);
    expect(buildRunTaskRequest(revised.ecs, revised.plan).input.clientToken).not.toBe(token);
  });

  it('gives a retry under a salt the same request and another token', () => {
    const { ecs, plan } = setup();
    const request = buildRunTaskRequest(ecs, plan);
    const retry = request.withToken('retry-1');
    expect({ ...retry, clientToken: '' }).toEqual({ ...request.input, clientToken: '' });
    expect(retry.clientToken).not.toBe(request.input.clientToken);
  });

  it('refuses overrides longer than ECS accepts', () => {
    const labels = Array.from({ length: 60 }, (_, i) => `label-${i}-${'x'.repeat(60)}`).join(',');
    const { ecs, plan } = setup(
      { RUNNER_LABELS_TEMPLATE: labels },
      { labels: [`label-0-${'x'.repeat(60)}`] },
    );
    expect(() => buildRunTaskRequest(ecs, plan)).toThrow(/at most 8192/);
  });
});

describe('buildRunTaskRequest with a JIT config', () => {
  it('passes RUNNER_JIT_CONFIG instead of RUNNER_CONFIG_ARGS', () => {
    const { ecs, plan } = setup();
    const { input } = buildRunTaskRequest(ecs, plan, {
      kind: 'jit',
      encodedJitConfig: 'eyJqaXQiOiJjb25maWcifQ==',
    });
    const names = input.overrides?.containerOverrides?.[0]?.environment?.map((e) => e.name);
    expect(names).toEqual(['ORGANIZATION', 'RUNNER_JIT_CONFIG', 'RUNNER_LABELS', 'RUNNER_IDLE_TIMEOUT']);
  });

  it('gives the job the same token whatever JIT config it carries', () => {
    const { ecs, plan } = setup();
    const a = buildRunTaskRequest(ecs, plan, { kind: 'jit', encodedJitConfig: 'first' }).input.clientToken;
    const b = buildRunTaskRequest(ecs, plan, { kind: 'jit', encodedJitConfig: 'second' }).input.clientToken;
    expect(a).toBe(b);
    expect(a).not.toBe(buildRunTaskRequest(ecs, plan).input.clientToken);
  });
});
