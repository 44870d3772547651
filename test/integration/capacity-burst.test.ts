/**
 * Owned capacity under a burst: a 100-job matrix queued at once, through the webhook, the capacity
 * function on the events the services would send, and the stand-ins of ECS and EC2 Auto Scaling
 * (see capacity.test.ts for the world). Alone in its file: it is the slow one.
 */
import { describe, expect, it } from '@jest/globals';
import { useCapacityWorlds } from '../support/capacity-world';

const MINUTE = 60_000;
const { world } = useCapacityWorlds({ token: 'ghp_capacity_burst_suite', firstJobId: 7_810_000_000 });

describe('a burst of 100', () => {
  it('raises the desired count to 100 in one converge for a burst of 100 queued jobs, and gives each its own instance', async () => {
    // What comes: a 100-job matrix, all queued at once (every delivery before the capacity
    // function's first request is handled). End state: the first converge sets 100; each job has
    // one live task, each on its own instance; 100 instances in all.
    const w = await world({ groups: [{ name: 'default', maxInstances: 150 }] });
    const payloads = Array.from({ length: 100 }, () => w.queue());
    const answers = await Promise.all(payloads.map((payload) => w.deliver(payload)));
    await w.settle();
    const firstSet = w.asg.desiredSets[0];
    await w.advance(MINUTE);
    const instancesOfTasks = payloads.map((payload) => w.instanceOfTask(w.liveTasksOf(payload)[0]));
    expect({
      answers: [...new Set(answers.map((answer) => answer.statusCode))],
      firstSet: firstSet?.desired,
      sets: w.asg.desiredSets.map((set) => set.desired),
      launched: w.asg.instances.length,
      jobsWithOneLiveTask: payloads.filter((payload) => w.liveTasksOf(payload).length === 1).length,
      distinctInstances: new Set(instancesOfTasks.filter(Boolean)).size,
      violations: w.violations,
    }).toEqual({
      answers: [202],
      firstSet: 100,
      sets: [100],
      launched: 100,
      jobsWithOneLiveTask: 100,
      distinctInstances: 100,
      violations: [],
    });
  }, 90_000);
});
