import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { boundedRequestHandler } from '../call-timeout';

/** One instance of an Auto Scaling group, as the group reports it. */
export interface GroupInstance {
  readonly instanceId: string;
  /** Auto Scaling's lifecycle state: `Pending`, `InService`, `Terminating`, `Warmed:Pending`, … */
  readonly lifecycleState: string;
}

/** An Auto Scaling group as the capacity function needs it. */
export interface GroupView {
  readonly desired: number;
  readonly max: number;
  /** Instances in the group (warm pool aside). */
  readonly instances: readonly GroupInstance[];
  /** Whether Auto Scaling's AZ rebalancing is suspended (it would terminate instances to balance zones). */
  readonly rebalanceSuspended: boolean;
}

/**
 * The port to EC2 Auto Scaling. Capacity only grows through `setDesired` (never lowered by it: a
 * lower desired count would let Auto Scaling choose which instance to end) and only shrinks through
 * `terminate`, of one instance we chose, decrementing the desired count.
 */
export interface InstanceGroups {
  describe(groupName: string, signal?: AbortSignal): Promise<GroupView>;
  setDesired(groupName: string, desired: number, signal?: AbortSignal): Promise<void>;
  /** Ends the instance and lowers the group's desired count; `gone` when the group no longer has it. */
  terminate(instanceId: string, signal?: AbortSignal): Promise<'terminating' | 'gone'>;
  /** Suspends AZRebalance (our terminations unbalance the zones; its rebalancing would end busy instances). */
  suspendRebalance(groupName: string, signal?: AbortSignal): Promise<void>;
}

type AutoScalingModule = typeof import('@aws-sdk/client-auto-scaling');

/** The AWS adapter of {@link InstanceGroups}; the SDK loads on first use (endpoint: `AWS_ENDPOINT_URL_AUTO_SCALING`). */
export function createAutoScalingGroups(): InstanceGroups {
  let loaded: Promise<{ client: AutoScalingClient; sdk: AutoScalingModule }> | undefined;
  const load = () => {
    loaded ??= import('@aws-sdk/client-auto-scaling').then((sdk) => ({
      // Two tries: Auto Scaling throttles bursts of calls (Throttling, ResourceContention).
      client: new sdk.AutoScalingClient({ maxAttempts: 3, requestHandler: boundedRequestHandler }),
      sdk,
    }));
    return loaded;
  };
  const options = (signal?: AbortSignal) => (signal ? { abortSignal: signal } : {});
  return {
    async describe(groupName, signal) {
      const { client, sdk } = await load();
      const { AutoScalingGroups } = await client.send(
        new sdk.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
        options(signal),
      );
      const group = AutoScalingGroups?.[0];
      if (group === undefined) throw new Error(`Auto Scaling group ${groupName} does not exist`);
      return {
        desired: group.DesiredCapacity ?? 0,
        max: group.MaxSize ?? 0,
        instances: (group.Instances ?? []).map((instance) => ({
          instanceId: instance.InstanceId ?? '',
          lifecycleState: instance.LifecycleState ?? '',
        })),
        rebalanceSuspended: (group.SuspendedProcesses ?? []).some((p) => p.ProcessName === 'AZRebalance'),
      };
    },
    async setDesired(groupName, desired, signal) {
      const { client, sdk } = await load();
      await client.send(
        new sdk.SetDesiredCapacityCommand({
          AutoScalingGroupName: groupName,
          DesiredCapacity: desired,
          HonorCooldown: false,
        }),
        options(signal),
      );
    },
    async terminate(instanceId, signal) {
      const { client, sdk } = await load();
      try {
        await client.send(
          new sdk.TerminateInstanceInAutoScalingGroupCommand({
            InstanceId: instanceId,
            ShouldDecrementDesiredCapacity: true,
          }),
          options(signal),
        );
        return 'terminating';
      } catch (error) {
        // Auto Scaling's ValidationError for an instance no group has (terminated already):
        // "Instance Id not found - No managed instance found for instance ID: i-…" (as reported in
        // yaybu/touchdown#51). Another refusal is no proof the instance is gone.
        const { name, message } = error as { name?: string; message?: string };
        if (
          name === 'ValidationError' &&
          /Instance Id not found|No managed instance found/i.test(message ?? '')
        )
          return 'gone';
        throw error;
      }
    },
    async suspendRebalance(groupName, signal) {
      const { client, sdk } = await load();
      await client.send(
        new sdk.SuspendProcessesCommand({
          AutoScalingGroupName: groupName,
          ScalingProcesses: ['AZRebalance'],
        }),
        options(signal),
      );
    },
  };
}
