import { describe, expect, it } from '@jest/globals';
import { stopReasonOf, VERSION_REFUSED_EXIT, versionRefused } from '../../shared/ecs/runner-exit';
import { toTaskFacts } from '../../shared/ecs/runner-tasks';

const stopped = (exitCode: number | undefined) =>
  toTaskFacts({
    taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/runners/0f1e2d3c4b5a69788796a5b4c3d2e1f0',
    lastStatus: 'STOPPED',
    desiredStatus: 'STOPPED',
    stoppedReason: 'Essential container in task exited',
    containers: [{ name: 'runner', lastStatus: 'STOPPED', ...(exitCode !== undefined && { exitCode }) }],
  });

describe('why a runner task stopped', () => {
  it("reads the runner container's exit code from DescribeTasks", () => {
    expect(stopped(3)?.exitCode).toBe(3);
    expect(stopped(undefined)?.exitCode).toBeUndefined();
  });

  it('says GitHub refused the runner release when the runner exited 78', () => {
    const task = stopped(VERSION_REFUSED_EXIT);
    expect(versionRefused(task)).toBe(true);
    expect(stopReasonOf(task)).toMatch(/^GitHub refused the runner release \(exit 78\)/);
  });

  it("keeps ECS's reason for any other exit, and says when ECS no longer knows the task", () => {
    expect(versionRefused(stopped(1))).toBe(false);
    expect(stopReasonOf(stopped(1))).toBe('Essential container in task exited');
    expect(stopReasonOf(undefined)).toBe('the task is no longer known to ECS');
  });
});
