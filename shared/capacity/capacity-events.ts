import type { InstanceOrigin } from './instance-record';

/** What the capacity function is told, from EventBridge (AWS's events, the schedule) or a function of ours. */
export type CapacityEvent =
  /** The schedule: every group converged. */
  | { readonly kind: 'tick' }
  /** A job found no free instance of the group. */
  | { readonly kind: 'wanted'; readonly group: string }
  | {
      readonly kind: 'instance-launched';
      readonly autoScalingGroupName: string;
      readonly instanceId: string;
      readonly origin: InstanceOrigin;
    }
  | {
      readonly kind: 'instance-launch-failed';
      readonly autoScalingGroupName: string;
      readonly reason: string;
    }
  | { readonly kind: 'instance-terminated'; readonly instanceId: string }
  | {
      readonly kind: 'container-instance';
      readonly containerInstanceArn: string;
      readonly ec2InstanceId: string;
      readonly status: string;
      readonly agentConnected: boolean;
      readonly capacityProvider: string | undefined;
    }
  | {
      readonly kind: 'task';
      readonly taskArn: string;
      readonly lastStatus: string;
      readonly containerInstanceArn: string | undefined;
      readonly startedBy: string | undefined;
      /** Set once the task ran (its containers started). */
      readonly startedAt: string | undefined;
      readonly stoppedReason: string | undefined;
    }
  | { readonly kind: 'spot-warning'; readonly instanceId: string };

/** The `source` of the events our functions send the capacity function. */
export const CAPACITY_SOURCE = 'github-runners.capacity';
/** The `detail-type` of a job's request for an instance. */
export const INSTANCE_WANTED = 'Instance Wanted';

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/**
 * The capacity event an EventBridge event carries (the shapes AWS documents for ECS, EC2 and EC2
 * Auto Scaling events), or undefined for one the function does not act on. Throws for one that
 * claims to be ours but is malformed, so a wrong rule shows in the function's errors.
 */
export function parseCapacityEvent(raw: unknown): CapacityEvent | undefined {
  if (typeof raw !== 'object' || raw === null)
    throw new Error('the capacity function takes EventBridge events');
  const event = raw as Record<string, unknown>;
  const source = text(event.source);
  const type = text(event['detail-type']);
  const detail = (typeof event.detail === 'object' && event.detail !== null ? event.detail : {}) as Record<
    string,
    unknown
  >;
  if (source === 'aws.events' && type === 'Scheduled Event') return { kind: 'tick' };
  if (source === CAPACITY_SOURCE && type === INSTANCE_WANTED) {
    const group = text(detail.group);
    if (group === undefined) throw new Error(`${INSTANCE_WANTED} needs detail.group`);
    return { kind: 'wanted', group };
  }
  if (source === 'aws.autoscaling') {
    const autoScalingGroupName = text(detail.AutoScalingGroupName);
    const instanceId = text(detail.EC2InstanceId);
    if (autoScalingGroupName === undefined) return undefined;
    if (type === 'EC2 Instance Launch Successful' && instanceId !== undefined) {
      // A resume from the warm pool says where it came from (`Origin: WarmPool`).
      const origin: InstanceOrigin = detail.Origin === 'WarmPool' ? 'warm-pool' : 'launch';
      // The launch into the warm pool itself (`Destination: WarmPool`) is no instance for a job yet.
      if (detail.Destination === 'WarmPool') return undefined;
      return { kind: 'instance-launched', autoScalingGroupName, instanceId, origin };
    }
    if (type === 'EC2 Instance Launch Unsuccessful')
      return {
        kind: 'instance-launch-failed',
        autoScalingGroupName,
        reason: text(detail.StatusMessage) ?? 'unknown',
      };
    if (type === 'EC2 Instance Terminate Successful' && instanceId !== undefined)
      return { kind: 'instance-terminated', instanceId };
    return undefined;
  }
  if (source === 'aws.ecs' && type === 'ECS Container Instance State Change') {
    const containerInstanceArn = text(detail.containerInstanceArn);
    const ec2InstanceId = text(detail.ec2InstanceId);
    if (containerInstanceArn === undefined || ec2InstanceId === undefined) return undefined;
    return {
      kind: 'container-instance',
      containerInstanceArn,
      ec2InstanceId,
      status: text(detail.status) ?? 'UNKNOWN',
      agentConnected: detail.agentConnected === true,
      capacityProvider: text(detail.capacityProviderName),
    };
  }
  if (source === 'aws.ecs' && type === 'ECS Task State Change') {
    const taskArn = text(detail.taskArn);
    if (taskArn === undefined) return undefined;
    return {
      kind: 'task',
      taskArn,
      lastStatus: text(detail.lastStatus) ?? 'UNKNOWN',
      containerInstanceArn: text(detail.containerInstanceArn),
      startedBy: text(detail.startedBy),
      startedAt: text(detail.startedAt),
      stoppedReason: text(detail.stoppedReason),
    };
  }
  if (source === 'aws.ec2' && type === 'EC2 Spot Instance Interruption Warning') {
    const instanceId = text(detail['instance-id']);
    return instanceId === undefined ? undefined : { kind: 'spot-warning', instanceId };
  }
  return undefined;
}
