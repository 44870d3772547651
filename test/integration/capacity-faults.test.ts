/**
 * Owned capacity when something is lost, late, repeated or throttled: the world of
 * capacity.test.ts (the webhook, the capacity function on the events the services would send, the
 * reconciler; ECS and EC2 Auto Scaling stand-ins on the test's clock) with its EventBridge losing,
 * repeating, delaying and reordering events, an instance that never registers, Auto Scaling
 * throttling, Spot interruptions. Each scenario says what dies, when, and the end state that must
 * hold, with the lifecycle guarantees: exactly one live task per queued job, no busy runner's
 * task stopped, no task on an instance that ran one before.
 */
import { describe, expect, it } from '@jest/globals';
import { type CapacityWorld, useCapacityWorlds } from '../support/capacity-world';
import type { Payload } from '../support/job-tasks';

const MINUTE = 60_000;
const { world } = useCapacityWorlds({ token: 'ghp_capacity_faults_suite', firstJobId: 7_820_000_000 });

/** The EC2 instance the job's one live task runs on. */
const hostOf = (w: CapacityWorld, payload: Payload) => w.instanceOfTask(w.liveTasksOf(payload)[0]);

describe('events lost', () => {
  it('launches the job though the container instance’s registration event was lost', async () => {
    // What dies: the `ECS Container Instance State Change` of the instance launched for the job.
    // When: 55 s after the delivery, as the instance registers. The minute's schedule runs.
    // End state: the job has one live task, on a pristine instance, within 3 minutes.
    const w = await world({ groups: [{ name: 'default', maxInstances: 10 }] });
    let lost = 0;
    w.bus.delivery = (event) =>
      event['detail-type'] === 'ECS Container Instance State Change' && lost++ === 0 ? 'never' : 'once';
    const payload = w.queue();
    await w.deliver(payload);
    await w.settle();
    await w.advance(3 * MINUTE, { schedule: true });
    expect({
      lost: w.bus.dropped.length,
      live: w.liveTasksOf(payload).length,
      host: hostOf(w, payload) !== undefined,
      launched: w.asg.instances.length,
      violations: w.violations,
    }).toEqual({ lost: 1, live: 1, host: true, launched: 1, violations: [] });
  });
});
