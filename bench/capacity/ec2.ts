/**
 * EC2 and EC2 Auto Scaling on the virtual clock: groups whose desired count launches instances
 * (from the warm pool first, as Auto Scaling does), instances that boot and pull the runner image,
 * terminations of one named instance, and what each instance cost (running time, volume time).
 * Implements the capacity function's {@link InstanceGroups} port.
 */
import type { GroupView, InstanceGroups } from '../../shared/capacity/instance-groups';
import type { InstanceOrigin } from '../../shared/capacity/instance-record';
import { type DelayName, draw } from './delays';
import type { Random } from './random';
import type { VirtualClock } from './virtual-clock';

export type Ec2State = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

export interface SimInstance {
  readonly id: string;
  readonly group: string;
  state: Ec2State;
  /** Auto Scaling's lifecycle state (`Pending`, `InService`, `Terminating`, `Warmed:Pending`, `Warmed:Stopped`). */
  lifecycle: string;
  origin: InstanceOrigin;
  /** Epoch ms its image pull ends (the image is cached from then on); undefined until the pull starts. */
  imageReadyAt: number | undefined;
  /** Epoch ms it entered its group (its launch, or its resume from the warm pool). */
  inServiceSince: number | undefined;
  /** Its root volume exists from this epoch ms (created with the instance) to `goneAt`. */
  readonly createdAt: number;
  goneAt: number | undefined;
  /** Milliseconds it ran (billed), warm-pool preparation apart. */
  runningMs: number;
  /** Milliseconds it ran being prepared for the warm pool (its first boot and pull, before it stopped). */
  warmPrepMs: number;
  runningSince: number | undefined;
}

export interface GroupSpec {
  readonly name: string;
  readonly autoScalingGroupName: string;
  readonly max: number;
  /** Stopped instances the warm pool keeps (its minimum size). */
  readonly warm: number;
}

export interface AutoScalingHooks {
  /** The instance is running and in service: Auto Scaling's "EC2 Instance Launch Successful". */
  onLaunched(instance: SimInstance): void;
  /** Docker and the ECS agent started (the agent registers next). */
  onAgentStarted(instance: SimInstance): void;
  /** Its termination began: the agent disconnects. */
  onTerminating(instance: SimInstance): void;
  /** It left the group: "EC2 Instance Terminate Successful". */
  onTerminated(instance: SimInstance): void;
}

export interface GroupState {
  readonly spec: GroupSpec;
  desired: number;
  /** Instances of the group, warm pool aside (leaving ones included until they are gone). */
  readonly instances: SimInstance[];
  /** The warm pool's instances (warming up, or stopped). */
  readonly warmPool: SimInstance[];
}

export interface AutoScaling extends InstanceGroups {
  readonly groups: ReadonlyMap<string, GroupState>;
  /** Every instance that ever existed. */
  readonly all: readonly SimInstance[];
  /** Closes the books at the end: running and volume time up to now. */
  settle(): void;
}

const LEAVING = new Set(['Terminating', 'Terminated']);

export function createAutoScaling(deps: {
  readonly clock: VirtualClock;
  readonly random: Random;
  readonly groups: readonly GroupSpec[];
  readonly hooks: AutoScalingHooks;
}): AutoScaling {
  const { clock, random, hooks } = deps;
  const wait = (name: DelayName) => draw(random, name);
  const byAsgName = new Map<string, GroupState>();
  const groups = new Map<string, GroupState>();
  const all: SimInstance[] = [];
  const byId = new Map<string, SimInstance>();
  let counter = 0x1000;

  const startRunning = (instance: SimInstance) => {
    instance.state = 'running';
    instance.runningSince = clock.now();
  };
  const stopRunning = (instance: SimInstance, warmPrep = false) => {
    if (instance.runningSince === undefined) return;
    const ran = clock.now() - instance.runningSince;
    if (warmPrep) instance.warmPrepMs += ran;
    else instance.runningMs += ran;
    instance.runningSince = undefined;
  };
  const create = (group: GroupState, lifecycle: string): SimInstance => {
    const instance: SimInstance = {
      id: `i-0${(counter++).toString(16).padStart(16, '0')}`,
      group: group.spec.name,
      state: 'pending',
      lifecycle,
      origin: 'launch',
      imageReadyAt: undefined,
      inServiceSince: undefined,
      createdAt: clock.now(),
      goneAt: undefined,
      runningMs: 0,
      warmPrepMs: 0,
      runningSince: undefined,
    };
    all.push(instance);
    byId.set(instance.id, instance);
    return instance;
  };
  const live = (instance: SimInstance) =>
    instance.state !== 'shutting-down' && instance.state !== 'terminated';

  /** Booted: the user data starts the image pull in the background; Docker and the agent start. */
  const booted = (instance: SimInstance, pullImage: boolean) => {
    if (pullImage) instance.imageReadyAt = clock.now() + wait('imagePull');
    hooks.onAgentStarted(instance);
  };

  const launchNew = (group: GroupState) => {
    const instance = create(group, 'Pending');
    group.instances.push(instance);
    clock.after(wait('ec2Launch'), () => {
      if (!live(instance)) return;
      startRunning(instance);
      instance.lifecycle = 'InService';
      instance.inServiceSince = clock.now();
      hooks.onLaunched(instance);
      clock.after(wait('ec2Boot'), () => live(instance) && booted(instance, true));
    });
  };

  const resume = (group: GroupState, instance: SimInstance) => {
    group.warmPool.splice(group.warmPool.indexOf(instance), 1);
    group.instances.push(instance);
    instance.origin = 'warm-pool';
    instance.lifecycle = 'Pending';
    instance.state = 'pending';
    clock.after(wait('warmResume'), () => {
      if (!live(instance)) return;
      startRunning(instance);
      instance.lifecycle = 'InService';
      instance.inServiceSince = clock.now();
      hooks.onLaunched(instance);
      // The image was pulled when the instance first booted, into the warm pool.
      clock.after(wait('warmBoot'), () => live(instance) && booted(instance, false));
    });
  };

  /** A new instance for the warm pool: it boots once, pulls the image, and stops. */
  const prepareWarm = (group: GroupState, ready: boolean) => {
    const instance = create(group, ready ? 'Warmed:Stopped' : 'Warmed:Pending');
    group.warmPool.push(instance);
    if (ready) {
      instance.state = 'stopped';
      instance.imageReadyAt = clock.now();
      return;
    }
    clock.after(wait('ec2Launch'), () => {
      startRunning(instance);
      clock.after(wait('ec2Boot'), () => {
        const pulled = wait('imagePull');
        instance.imageReadyAt = clock.now() + pulled;
        clock.after(pulled + wait('warmPoolStop'), () => {
          if (!group.warmPool.includes(instance)) return;
          stopRunning(instance, true);
          instance.state = 'stopped';
          instance.lifecycle = 'Warmed:Stopped';
        });
      });
    });
  };

  const refillWarmPool = (group: GroupState) => {
    while (group.warmPool.length < group.spec.warm) prepareWarm(group, false);
  };

  /** Brings the group's count to its desired count (Auto Scaling's next activity). */
  const scaleOut = (group: GroupState) => {
    const inGroup = group.instances.filter((i) => !LEAVING.has(i.lifecycle)).length;
    for (let n = inGroup; n < group.desired; n++) {
      const stopped = group.warmPool.find((i) => i.lifecycle === 'Warmed:Stopped');
      if (stopped) resume(group, stopped);
      else launchNew(group);
    }
    refillWarmPool(group);
  };

  for (const spec of deps.groups) {
    const group: GroupState = { spec, desired: 0, instances: [], warmPool: [] };
    groups.set(spec.name, group);
    byAsgName.set(spec.autoScalingGroupName, group);
    // The warm pool is full when the day begins (prepared the evening before).
    for (let i = 0; i < spec.warm; i++) prepareWarm(group, true);
  }

  const groupOf = (name: string) => {
    const group = byAsgName.get(name) ?? groups.get(name);
    if (group === undefined) throw new Error(`Auto Scaling group ${name} does not exist`);
    return group;
  };

  return {
    groups,
    all,
    async describe(name): Promise<GroupView> {
      await clock.sleep(wait('autoScalingApi'));
      const group = groupOf(name);
      return {
        desired: group.desired,
        max: group.spec.max,
        instances: group.instances.map((i) => ({ instanceId: i.id, lifecycleState: i.lifecycle })),
        rebalanceSuspended: true,
      };
    },
    async setDesired(name, desired) {
      await clock.sleep(wait('autoScalingApi'));
      const group = groupOf(name);
      if (desired > group.spec.max)
        throw new Error(`New SetDesiredCapacity value ${desired} is above max value ${group.spec.max}`);
      group.desired = desired;
      clock.after(wait('asgReaction'), () => scaleOut(group));
    },
    async terminate(instanceId) {
      await clock.sleep(wait('autoScalingApi'));
      const instance = byId.get(instanceId);
      const group = instance && groups.get(instance.group);
      if (instance === undefined || group === undefined || !group.instances.includes(instance)) return 'gone';
      if (LEAVING.has(instance.lifecycle)) return 'terminating';
      instance.lifecycle = 'Terminating';
      group.desired = Math.max(0, group.desired - 1);
      stopRunning(instance);
      instance.state = 'shutting-down';
      hooks.onTerminating(instance);
      clock.after(wait('terminate'), () => {
        instance.state = 'terminated';
        instance.lifecycle = 'Terminated';
        instance.goneAt = clock.now();
        group.instances.splice(group.instances.indexOf(instance), 1);
        hooks.onTerminated(instance);
      });
      return 'terminating';
    },
    async suspendRebalance() {
      await clock.sleep(wait('autoScalingApi'));
    },
    settle() {
      for (const instance of all) {
        const warming = instance.lifecycle.startsWith('Warmed:');
        stopRunning(instance, warming);
      }
    },
  };
}
