/**
 * EC2 Auto Scaling on loopback, through the real query protocol (API version 2011-01-01), for the
 * real `@aws-sdk/client-auto-scaling` (`AWS_ENDPOINT_URL_AUTO_SCALING`): DescribeAutoScalingGroups,
 * SetDesiredCapacity, TerminateInstanceInAutoScalingGroup, SuspendProcesses, ResumeProcesses and
 * SetInstanceProtection, with the refusals the real service answers (ValidationError
 * "New SetDesiredCapacity value 5 is above max value 3 for the AutoScalingGroup.",
 * "Instance Id not found - No managed instance found for instance ID: i-…" as reported in
 * yaybu/touchdown#51, ScalingActivityInProgress "Scaling activity … is in progress and blocks this
 * action" for a HonorCooldown call within the cooldown as in diem/diem#4597), and optionally
 * Auto Scaling's request throttling (`Throttling`, "Rate exceeded") as a token bucket.
 *
 * Its instances live on the test's clock: a new one (`i-0` and 16 hex digits) is Pending, then
 * InService after `bootMs`, and its ECS agent registers it with the cluster `registerMs` later (or
 * never, for the fault); a warm pool keeps stopped instances (Warmed:Pending, then Warmed:Stopped)
 * that a raised desired count resumes first, faster; the group keeps its desired count (a Spot
 * instance EC2 takes back is replaced), scales in only unprotected instances, and ends an instance
 * it terminates after `terminateMs`. Everything that happens is said as the real services say it
 * on EventBridge: Auto Scaling's `EC2 Instance Launch Successful` (with `Origin` and `Destination`
 * for the warm pool) and `EC2 Instance Terminate Successful`, EC2's `EC2 Spot Instance
 * Interruption Warning`; ECS's container instance and task events come from the ECS stand-in, which
 * this one registers container instances in. Time moves only when the test calls {@link step}
 * (every call answered also steps first).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { startAwsQueryStandIn } from './aws-query-stand-in';
import { AwsError, type StandIn } from './aws-stand-in';
import type { EcsStandIn, EventBridgeEvent } from './ecs-stand-in';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const ZONES = ['us-east-1a', 'us-east-1b'];

export interface AutoScalingGroupSpec {
  readonly name: string;
  readonly maxSize: number;
  readonly minSize?: number;
  readonly desired?: number;
  /** The ECS capacity provider its container instances register under. */
  readonly capacityProvider: string;
  /** The cluster its instances join (default: the ECS stand-in's first). */
  readonly cluster?: string;
  /** Stopped instances kept in the group's warm pool; absent: none. */
  readonly warmPool?: number;
  /** New instances are protected from scale-in (NewInstancesProtectedFromScaleIn). */
  readonly protectNewInstances?: boolean;
  /** Seconds after a scaling activity during which a HonorCooldown call is refused (300 by default, as AWS's). */
  readonly cooldownSeconds?: number;
}

/** How long each step of an instance's life takes, in ms of the test's clock. */
export interface AutoScalingTiming {
  /** A new instance: Pending → InService (launch and boot). */
  readonly bootMs: number;
  /** InService → its ECS agent registers the container instance. */
  readonly registerMs: number;
  /** A warm pool instance: Warmed:Pending → Warmed:Stopped (booted once, then stopped). */
  readonly warmUpMs: number;
  /** A warm pool instance resumed: Pending → InService. */
  readonly resumeMs: number;
  /** A resumed instance: InService → its agent registers. */
  readonly resumeRegisterMs: number;
  /** Terminating → gone from the group. */
  readonly terminateMs: number;
  /** EC2 takes a Spot instance back this long after its interruption warning. */
  readonly spotNoticeMs: number;
}

export const DEFAULT_TIMING: AutoScalingTiming = {
  bootMs: 40_000,
  registerMs: 15_000,
  warmUpMs: 60_000,
  resumeMs: 10_000,
  resumeRegisterMs: 4_000,
  terminateMs: 30_000,
  // EC2 warns two minutes before it interrupts a Spot instance.
  spotNoticeMs: 120_000,
};

export interface AsgInstance {
  readonly instanceId: string;
  readonly group: string;
  /** Auto Scaling's lifecycle state: Pending, InService, Terminating, Terminated, Warmed:Pending, Warmed:Stopped. */
  lifecycleState: string;
  protectedFromScaleIn: boolean;
  readonly zone: string;
  /** Epoch ms of the state's next step (undefined: none due). */
  dueAt: number | undefined;
  /** Epoch ms its agent registers (once InService). */
  registerAt?: number | undefined;
  /** Epoch ms EC2 takes it back (a Spot interruption). */
  reclaimAt?: number | undefined;
  /** Whether it ever left the warm pool. */
  resumed: boolean;
  /** Whether EC2 took it back (a Spot interruption), not Auto Scaling. */
  reclaimed: boolean;
  /** Epoch ms it entered each state, for the tests' time-lines. */
  readonly history: Array<{ readonly state: string; readonly at: number }>;
}

interface Group {
  readonly spec: AutoScalingGroupSpec;
  readonly cluster: string | undefined;
  min: number;
  max: number;
  desired: number;
  readonly suspended: Set<string>;
  lastActivityAt: number | undefined;
}

export interface AutoScalingStandIn extends StandIn {
  /** Every instance ever launched, the warm pool's and the terminated ones included. */
  readonly instances: AsgInstance[];
  /** Runs every step due at the clock's time, in order (instances boot, register, end). */
  step(): void;
  desired(group: string): number;
  /** The group's instances Auto Scaling lists (warm pool aside, terminated ones gone). */
  listed(group: string): AsgInstance[];
  /** The warm pool's instances. */
  warm(group: string): AsgInstance[];
  /** Whether an instance's agent ever registers it (default: all do). */
  registers: (instance: AsgInstance) => boolean;
  /** Auto Scaling's request throttling (a token bucket on the clock); undefined: none. */
  throttle: { readonly burst: number; readonly perSecond: number } | undefined;
  /** Requests answered `Throttling`. */
  throttled(): number;
  /** EC2 warns that it takes the Spot instance back, and does `spotNoticeMs` later. */
  interruptSpot(instanceId: string): void;
  /** Every SetDesiredCapacity answered, in order: what was asked. */
  readonly desiredSets: Array<{ readonly group: string; readonly desired: number; readonly at: number }>;
}

export async function startAutoScalingStandIn(options: {
  readonly groups: readonly AutoScalingGroupSpec[];
  readonly ecs: EcsStandIn;
  readonly now: () => number;
  /** Where the EventBridge events of Auto Scaling and EC2 go. */
  readonly events: (event: EventBridgeEvent) => void;
  readonly timing?: Partial<AutoScalingTiming>;
}): Promise<AutoScalingStandIn> {
  const { ecs, now } = options;
  const timing = { ...DEFAULT_TIMING, ...options.timing };
  const instances: AsgInstance[] = [];
  const desiredSets: AutoScalingStandIn['desiredSets'] = [];
  const groups = new Map<string, Group>(
    options.groups.map((spec) => [
      spec.name,
      {
        spec,
        cluster: spec.cluster,
        min: spec.minSize ?? 0,
        max: spec.maxSize,
        desired: spec.desired ?? spec.minSize ?? 0,
        suspended: new Set<string>(),
        lastActivityAt: undefined,
      },
    ]),
  );
  const groupArn = (name: string) =>
    `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:${randomUUID()}:autoScalingGroupName/${name}`;
  let throttledCount = 0;
  let bucket: { tokens: number; at: number } | undefined;

  let eventSequence = 0;
  const emit = (source: string, type: string, resources: string[], detail: Record<string, unknown>) =>
    options.events({
      version: '0',
      id: `asg-${++eventSequence}-${randomUUID()}`,
      'detail-type': type,
      source,
      account: ACCOUNT,
      time: new Date(now()).toISOString(),
      region: REGION,
      resources,
      detail,
    });
  const instanceArn = (id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${id}`;
  /** Auto Scaling's launch and termination events, with the fields AWS's event reference shows. */
  const activityEvent = (
    type: 'EC2 Instance Launch Successful' | 'EC2 Instance Terminate Successful',
    instance: AsgInstance,
    extra: Record<string, unknown>,
  ) =>
    emit('aws.autoscaling', type, [groupArn(instance.group), instanceArn(instance.instanceId)], {
      StatusCode: 'InProgress',
      Description: `${type.startsWith('EC2 Instance Launch') ? 'Launching a new' : 'Terminating'} EC2 instance: ${instance.instanceId}`,
      AutoScalingGroupName: instance.group,
      ActivityId: randomUUID(),
      Details: { 'Availability Zone': instance.zone, 'Subnet ID': 'subnet-0123456789abcdef0' },
      RequestId: randomUUID(),
      StatusMessage: '',
      EndTime: new Date(now()).toISOString(),
      EC2InstanceId: instance.instanceId,
      StartTime: new Date(now()).toISOString(),
      Cause: 'description-text',
      ...extra,
    });

  const enter = (instance: AsgInstance, state: string, dueAt: number | undefined) => {
    instance.lifecycleState = state;
    instance.dueAt = dueAt;
    instance.history.push({ state, at: now() });
  };
  const isLive = (instance: AsgInstance) => ['Pending', 'InService'].includes(instance.lifecycleState);
  const isWarm = (instance: AsgInstance) => instance.lifecycleState.startsWith('Warmed:');
  const ofGroup = (name: string) => instances.filter((instance) => instance.group === name);

  function launch(group: Group, into: 'group' | 'warm-pool', ready = false) {
    const instance: AsgInstance = {
      instanceId: `i-0${randomBytes(8).toString('hex')}`,
      group: group.spec.name,
      lifecycleState: '',
      protectedFromScaleIn: into === 'group' && group.spec.protectNewInstances === true,
      zone: ZONES[instances.length % ZONES.length] as string,
      dueAt: undefined,
      resumed: false,
      reclaimed: false,
      history: [],
    };
    instances.push(instance);
    if (into === 'warm-pool') {
      if (ready) enter(instance, 'Warmed:Stopped', undefined);
      else enter(instance, 'Warmed:Pending', now() + timing.warmUpMs);
      activityEvent('EC2 Instance Launch Successful', instance, { Origin: 'EC2', Destination: 'WarmPool' });
    } else {
      enter(instance, 'Pending', now() + timing.bootMs);
      activityEvent('EC2 Instance Launch Successful', instance, {
        Origin: 'EC2',
        Destination: 'AutoScalingGroup',
      });
    }
  }

  function resume(group: Group, instance: AsgInstance) {
    instance.resumed = true;
    instance.protectedFromScaleIn = group.spec.protectNewInstances === true;
    enter(instance, 'Pending', now() + timing.resumeMs);
    activityEvent('EC2 Instance Launch Successful', instance, {
      Origin: 'WarmPool',
      Destination: 'AutoScalingGroup',
    });
  }

  function terminate(instance: AsgInstance) {
    if (!isLive(instance) && !isWarm(instance)) return;
    enter(instance, 'Terminating', now() + timing.terminateMs);
    instance.registerAt = undefined;
    // The instance shuts down: its agent is gone, and ECS stops its tasks.
    ecs.deregisterContainerInstance(instance.instanceId);
  }

  /** The group keeps its desired count: launches (warm pool first), scales in, refills the warm pool. */
  function balance(group: Group, starting = false) {
    const name = group.spec.name;
    const live = ofGroup(name).filter(isLive);
    let missing = group.desired - live.length;
    if (missing > 0) {
      const stopped = ofGroup(name).filter((i) => i.lifecycleState === 'Warmed:Stopped');
      for (const instance of stopped) {
        if (missing === 0) break;
        resume(group, instance);
        missing--;
      }
      for (; missing > 0; missing--) launch(group, 'group');
      group.lastActivityAt = now();
    } else if (missing < 0) {
      // Scale-in never picks an instance protected from it; the newest go first.
      const candidates = live.filter((i) => !i.protectedFromScaleIn).reverse();
      for (const instance of candidates.slice(0, -missing)) terminate(instance);
      group.lastActivityAt = now();
    }
    const pool = group.spec.warmPool ?? 0;
    const warm = ofGroup(name).filter(isWarm).length;
    for (let i = warm; i < pool; i++) launch(group, 'warm-pool', starting);
  }

  function step() {
    for (;;) {
      const at = now();
      const due = instances
        .flatMap((instance) => [
          ...(instance.dueAt !== undefined && instance.dueAt <= at
            ? [{ instance, at: instance.dueAt, kind: 'state' as const }]
            : []),
          ...(instance.registerAt !== undefined && instance.registerAt <= at
            ? [{ instance, at: instance.registerAt, kind: 'register' as const }]
            : []),
          ...(instance.reclaimAt !== undefined && instance.reclaimAt <= at
            ? [{ instance, at: instance.reclaimAt, kind: 'reclaim' as const }]
            : []),
        ])
        .sort((a, b) => a.at - b.at);
      const next = due[0];
      if (next === undefined) break;
      const { instance, kind } = next;
      const group = groups.get(instance.group) as Group;
      if (kind === 'register') {
        instance.registerAt = undefined;
        if (instance.lifecycleState === 'InService' && standIn.registers(instance))
          ecs.registerContainerInstance({
            ec2InstanceId: instance.instanceId,
            capacityProviderName: group.spec.capacityProvider,
            ...(group.cluster !== undefined && { cluster: group.cluster }),
          });
      } else if (kind === 'reclaim') {
        instance.reclaimAt = undefined;
        instance.reclaimed = true;
        // EC2 takes it back; the group replaces it (its desired count is unchanged).
        terminate(instance);
        balance(group);
      } else if (instance.lifecycleState === 'Pending') {
        enter(instance, 'InService', undefined);
        instance.registerAt = now() + (instance.resumed ? timing.resumeRegisterMs : timing.registerMs);
      } else if (instance.lifecycleState === 'Warmed:Pending') {
        enter(instance, 'Warmed:Stopped', undefined);
      } else if (instance.lifecycleState === 'Terminating') {
        enter(instance, 'Terminated', undefined);
        activityEvent('EC2 Instance Terminate Successful', instance, {
          Origin: 'AutoScalingGroup',
          Destination: 'EC2',
        });
      } else {
        instance.dueAt = undefined;
      }
    }
  }

  const takeToken = () => {
    const limit = standIn.throttle;
    if (limit === undefined) return true;
    const at = now();
    bucket ??= { tokens: limit.burst, at };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((at - bucket.at) / 1000) * limit.perSecond);
    bucket.at = at;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };
  /** Every call: throttled or not, then the clock's steps, then the operation. */
  const operation =
    <T>(run: (form: URLSearchParams) => T) =>
    (form: URLSearchParams) => {
      if (!takeToken()) {
        throttledCount++;
        throw new AwsError('Throttling', 'Rate exceeded');
      }
      step();
      return run(form);
    };
  const members = (form: URLSearchParams, name: string) => {
    const values: string[] = [];
    for (let i = 1; form.has(`${name}.member.${i}`); i++) values.push(form.get(`${name}.member.${i}`) ?? '');
    return values;
  };
  const groupNamed = (name: string | null) => {
    const group = name === null ? undefined : groups.get(name);
    if (group === undefined)
      throw new AwsError(
        'ValidationError',
        `AutoScalingGroup name not found - AutoScalingGroup ${name} not found`,
      );
    return group;
  };
  const activity = (group: string, description: string) => ({
    ActivityId: randomUUID(),
    AutoScalingGroupName: group,
    Description: description,
    Cause: `At ${new Date(now()).toISOString()} ${description.toLowerCase()} in response to a user request.`,
    StartTime: new Date(now()),
    StatusCode: 'InProgress',
    Progress: 0,
    Details: '{}',
  });

  const server = await startAwsQueryStandIn({
    version: '2011-01-01',
    xmlns: 'http://autoscaling.amazonaws.com/doc/2011-01-01/',
    operations: {
      DescribeAutoScalingGroups: operation((form) => {
        const names = members(form, 'AutoScalingGroupNames');
        // Names it does not know are left out, not refused.
        const found = [...groups.values()].filter(
          (group) => names.length === 0 || names.includes(group.spec.name),
        );
        return {
          AutoScalingGroups: found.map((group) => ({
            AutoScalingGroupName: group.spec.name,
            AutoScalingGroupARN: groupArn(group.spec.name),
            MinSize: group.min,
            MaxSize: group.max,
            DesiredCapacity: group.desired,
            DefaultCooldown: group.spec.cooldownSeconds ?? 300,
            AvailabilityZones: ZONES,
            HealthCheckType: 'EC2',
            CreatedTime: new Date('2026-01-01T00:00:00Z'),
            NewInstancesProtectedFromScaleIn: group.spec.protectNewInstances === true,
            Instances: listed(group.spec.name).map((instance) => ({
              InstanceId: instance.instanceId,
              InstanceType: 'm7g.large',
              AvailabilityZone: instance.zone,
              LifecycleState: instance.lifecycleState,
              HealthStatus: 'Healthy',
              ProtectedFromScaleIn: instance.protectedFromScaleIn,
            })),
            SuspendedProcesses: [...group.suspended].map((ProcessName) => ({
              ProcessName,
              SuspensionReason: `User suspended at ${new Date(now()).toISOString()}`,
            })),
            ...(group.spec.warmPool !== undefined && {
              WarmPoolConfiguration: { MinSize: group.spec.warmPool, PoolState: 'Stopped' },
              WarmPoolSize: ofGroup(group.spec.name).filter(isWarm).length,
            }),
          })),
        };
      }),
      SetDesiredCapacity: operation((form) => {
        const group = groupNamed(form.get('AutoScalingGroupName'));
        const desired = Number(form.get('DesiredCapacity'));
        if (desired > group.max)
          throw new AwsError(
            'ValidationError',
            `New SetDesiredCapacity value ${desired} is above max value ${group.max} for the AutoScalingGroup.`,
          );
        if (desired < group.min)
          throw new AwsError(
            'ValidationError',
            `New SetDesiredCapacity value ${desired} is below min value ${group.min} for the AutoScalingGroup.`,
          );
        const cooldownMs = (group.spec.cooldownSeconds ?? 300) * 1000;
        if (
          form.get('HonorCooldown') === 'true' &&
          group.lastActivityAt !== undefined &&
          now() - group.lastActivityAt < cooldownMs
        )
          throw new AwsError(
            'ScalingActivityInProgress',
            `Scaling activity ${randomUUID()} is in progress and blocks this action`,
          );
        group.desired = desired;
        desiredSets.push({ group: group.spec.name, desired, at: now() });
        balance(group);
        return {};
      }),
      TerminateInstanceInAutoScalingGroup: operation((form) => {
        const id = form.get('InstanceId') ?? '';
        const instance = instances.find(
          (i) => i.instanceId === id && (isLive(i) || i.lifecycleState === 'Terminating'),
        );
        if (instance === undefined)
          throw new AwsError(
            'ValidationError',
            `Instance Id not found - No managed instance found for instance ID: ${id}`,
          );
        const group = groups.get(instance.group) as Group;
        if (instance.lifecycleState === 'Terminating')
          return { Activity: activity(group.spec.name, `Terminating EC2 instance: ${id}`) };
        if (form.get('ShouldDecrementDesiredCapacity') === 'true') {
          if (group.desired - 1 < group.min)
            throw new AwsError(
              'ValidationError',
              `Currently, desiredSize equals minSize (${group.min}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`,
            );
          group.desired--;
        }
        terminate(instance);
        balance(group);
        return { Activity: activity(group.spec.name, `Terminating EC2 instance: ${id}`) };
      }),
      SuspendProcesses: operation((form) => {
        const group = groupNamed(form.get('AutoScalingGroupName'));
        const processes = members(form, 'ScalingProcesses');
        for (const process of processes.length > 0 ? processes : ['Launch', 'Terminate', 'AZRebalance'])
          group.suspended.add(process);
        return {};
      }),
      ResumeProcesses: operation((form) => {
        const group = groupNamed(form.get('AutoScalingGroupName'));
        const processes = members(form, 'ScalingProcesses');
        if (processes.length === 0) group.suspended.clear();
        for (const process of processes) group.suspended.delete(process);
        return {};
      }),
      SetInstanceProtection: operation((form) => {
        const group = groupNamed(form.get('AutoScalingGroupName'));
        const protect = form.get('ProtectedFromScaleIn') === 'true';
        for (const id of members(form, 'InstanceIds')) {
          const instance = ofGroup(group.spec.name).find((i) => i.instanceId === id && isLive(i));
          if (instance === undefined)
            throw new AwsError(
              'ValidationError',
              `The instance ${id} is not part of Auto Scaling group ${group.spec.name}.`,
            );
          instance.protectedFromScaleIn = protect;
        }
        return {};
      }),
    },
  });

  function listed(name: string) {
    return ofGroup(name).filter((i) => isLive(i) || i.lifecycleState === 'Terminating');
  }

  const standIn: AutoScalingStandIn = {
    ...server,
    instances,
    desiredSets,
    step,
    desired: (name) => groups.get(name)?.desired ?? 0,
    listed,
    warm: (name) => ofGroup(name).filter(isWarm),
    registers: () => true,
    throttle: undefined,
    throttled: () => throttledCount,
    interruptSpot(instanceId) {
      const instance = instances.find((i) => i.instanceId === instanceId && isLive(i));
      if (instance === undefined) throw new Error(`no live instance ${instanceId}`);
      instance.reclaimAt = now() + timing.spotNoticeMs;
      emit('aws.ec2', 'EC2 Spot Instance Interruption Warning', [instanceArn(instanceId)], {
        'instance-id': instanceId,
        'instance-action': 'terminate',
      });
    },
  };
  // The groups start at their desired counts, their warm pools stopped and ready.
  for (const group of groups.values()) balance(group, true);
  return standIn;
}
