import { describe, expect, it } from '@jest/globals';
import { instanceWantedEvent } from '../../shared/capacity/ask-capacity';
import { parseCapacityEvent } from '../../shared/capacity/capacity-events';

const envelope = (source: string, detailType: string, detail: Record<string, unknown>) => ({
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': detailType,
  source,
  account: '123456789012',
  time: '2026-12-03T10:00:00Z',
  region: 'eu-west-1',
  resources: [],
  detail,
});

const CLUSTER = 'arn:aws:ecs:eu-west-1:123456789012:cluster/runners-Cluster-AbCdEf012345';
const CONTAINER_INSTANCE =
  'arn:aws:ecs:eu-west-1:123456789012:container-instance/runners-Cluster-AbCdEf012345/0f1e2d3c4b5a69788796a5b4c3d2e1f0';

describe('the capacity function’s events', () => {
  it('reads an Auto Scaling launch, and a resume from the warm pool as such', () => {
    const detail = {
      AutoScalingGroupName: 'runners-asg',
      EC2InstanceId: 'i-0a1b2c3d4e5f60718',
      StatusCode: 'InProgress',
    };
    expect(parseCapacityEvent(envelope('aws.autoscaling', 'EC2 Instance Launch Successful', detail))).toEqual(
      {
        kind: 'instance-launched',
        autoScalingGroupName: 'runners-asg',
        instanceId: 'i-0a1b2c3d4e5f60718',
        origin: 'launch',
      },
    );
    const resumed = { ...detail, Origin: 'WarmPool', Destination: 'AutoScalingGroup' };
    expect(
      parseCapacityEvent(envelope('aws.autoscaling', 'EC2 Instance Launch Successful', resumed)),
    ).toMatchObject({
      origin: 'warm-pool',
    });
    // A launch into the warm pool is no instance for a job yet.
    const intoPool = { ...detail, Origin: 'EC2', Destination: 'WarmPool' };
    expect(
      parseCapacityEvent(envelope('aws.autoscaling', 'EC2 Instance Launch Successful', intoPool)),
    ).toBeUndefined();
  });

  it('reads a container instance registering, with its capacity provider', () => {
    const detail = {
      clusterArn: CLUSTER,
      containerInstanceArn: CONTAINER_INSTANCE,
      ec2InstanceId: 'i-0a1b2c3d4e5f60718',
      status: 'ACTIVE',
      agentConnected: true,
      capacityProviderName: 'runners-DefaultCapacityProvider',
      runningTasksCount: 0,
    };
    expect(parseCapacityEvent(envelope('aws.ecs', 'ECS Container Instance State Change', detail))).toEqual({
      kind: 'container-instance',
      containerInstanceArn: CONTAINER_INSTANCE,
      ec2InstanceId: 'i-0a1b2c3d4e5f60718',
      status: 'ACTIVE',
      agentConnected: true,
      capacityProvider: 'runners-DefaultCapacityProvider',
    });
  });

  it('reads a task stopping, and whether it ever ran', () => {
    const detail = {
      clusterArn: CLUSTER,
      taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/runners-Cluster-AbCdEf012345/5a4b3c2d1e0f',
      containerInstanceArn: CONTAINER_INSTANCE,
      lastStatus: 'STOPPED',
      startedBy: 'gha-job/29679449/1',
      stoppedReason: 'Essential container in task exited',
      startedAt: '2026-12-03T09:58:01.123Z',
    };
    expect(parseCapacityEvent(envelope('aws.ecs', 'ECS Task State Change', detail))).toMatchObject({
      kind: 'task',
      lastStatus: 'STOPPED',
      startedBy: 'gha-job/29679449/1',
      startedAt: '2026-12-03T09:58:01.123Z',
    });
  });

  it('reads a Spot interruption warning, the schedule, and a job’s request for an instance', () => {
    const spot = envelope('aws.ec2', 'EC2 Spot Instance Interruption Warning', {
      'instance-id': 'i-0a1b2c3d4e5f60718',
      'instance-action': 'terminate',
    });
    expect(parseCapacityEvent(spot)).toEqual({ kind: 'spot-warning', instanceId: 'i-0a1b2c3d4e5f60718' });
    expect(parseCapacityEvent(envelope('aws.events', 'Scheduled Event', {}))).toEqual({ kind: 'tick' });
    expect(parseCapacityEvent(instanceWantedEvent('default'))).toEqual({ kind: 'wanted', group: 'default' });
  });

  it('ignores events it does not act on, and refuses what is no event', () => {
    expect(parseCapacityEvent(envelope('aws.ecs', 'ECS Deployment State Change', {}))).toBeUndefined();
    expect(() => parseCapacityEvent('queued')).toThrow('EventBridge events');
    expect(() => parseCapacityEvent({ ...instanceWantedEvent('x'), detail: {} })).toThrow('detail.group');
  });
});
