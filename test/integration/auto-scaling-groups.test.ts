/**
 * The Auto Scaling adapter of the capacity function (`createAutoScalingGroups`), with the real
 * `@aws-sdk/client-auto-scaling` over the query protocol against the Auto Scaling stand-in: what
 * it reads of a group, and how it takes the service's refusals.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createAutoScalingGroups } from '../../shared/capacity/instance-groups';
import { type AutoScalingStandIn, startAutoScalingStandIn } from '../support/auto-scaling-stand-in';
import { type EcsStandIn, startEcsStandIn } from '../support/ecs-stand-in';

let offset = 0;
const now = () => Date.now() + offset;
let ecs: EcsStandIn;
let asg: AutoScalingStandIn;

beforeEach(async () => {
  offset = 0;
  ecs = await startEcsStandIn({ now });
  asg = await startAutoScalingStandIn({
    ecs,
    now,
    events: () => undefined,
    groups: [
      { name: 'runners', maxSize: 3, capacityProvider: 'runners-cp', warmPool: 1 },
      { name: 'protected', maxSize: 3, capacityProvider: 'protected-cp', protectNewInstances: true },
    ],
  });
  process.env.AWS_ENDPOINT_URL_AUTO_SCALING = asg.url;
});
afterEach(async () => {
  await Promise.all([asg.close(), ecs.close()]);
});

describe('the Auto Scaling adapter', () => {
  it('reads the desired count, the maximum, the instances (warm pool aside) and whether AZRebalance is suspended', async () => {
    const groups = createAutoScalingGroups();
    await groups.setDesired('runners', 2);
    await groups.suspendRebalance('runners');
    const view = await groups.describe('runners');
    expect({
      desired: view.desired,
      max: view.max,
      states: view.instances.map((i) => i.lifecycleState),
      ids: view.instances.every((i) => /^i-0[0-9a-f]{16}$/.test(i.instanceId)),
      rebalanceSuspended: view.rebalanceSuspended,
      warmPool: asg.warm('runners').length,
    }).toEqual({
      desired: 2,
      max: 3,
      // One resumed from the warm pool, one launched; the warm pool refilled.
      states: ['Pending', 'Pending'],
      ids: true,
      rebalanceSuspended: true,
      warmPool: 1,
    });
  });

  it('is refused a desired count above the group’s maximum, as Auto Scaling refuses it', async () => {
    await expect(createAutoScalingGroups().setDesired('runners', 4)).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'New SetDesiredCapacity value 4 is above max value 3 for the AutoScalingGroup.',
    });
  });

  it('says an instance the group no longer has is gone, from Auto Scaling’s "Instance Id not found"', async () => {
    const groups = createAutoScalingGroups();
    await groups.setDesired('runners', 1);
    const [instance] = asg.listed('runners');
    const first = await groups.terminate(instance?.instanceId ?? '');
    offset += 60_000;
    asg.step();
    const again = await groups.terminate(instance?.instanceId ?? '');
    const never = await groups.terminate('i-0123456789abcdef0');
    expect({ first, again, never, desired: asg.desired('runners') }).toEqual({
      first: 'terminating',
      again: 'gone',
      never: 'gone',
      desired: 0,
    });
  });

  it('throws Auto Scaling’s Throttling once the SDK’s retries run out', async () => {
    asg.throttle = { burst: 0, perSecond: 0 };
    await expect(createAutoScalingGroups().describe('runners')).rejects.toMatchObject({ name: 'Throttling' });
    expect(asg.throttled()).toBe(3);
  });

  it('never scales in an instance protected from scale-in', async () => {
    const groups = createAutoScalingGroups();
    await groups.setDesired('protected', 2);
    await groups.setDesired('protected', 1);
    expect(asg.listed('protected').map((i) => i.lifecycleState)).toEqual(['Pending', 'Pending']);
  });
});
