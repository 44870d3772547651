import type { Dependencies } from '../dependencies';
import { lazyEcsApi } from '../ecs/ecs-api';
import { type Capacity, createCapacity } from './capacity';
import { createEcsContainerInstances } from './container-instances';
import { createAutoScalingGroups } from './instance-groups';
import { handOffToLauncher, launchWaitingJob } from './launch-waiting-job';
import { createStandbyRunners } from './standby-runners';

/**
 * The capacity function's core as deployed, from the functions' dependencies: Auto Scaling and
 * ECS through the real clients, each waiting job's launch handed to the launcher's queue (or made
 * here without one: local use, the tests' world).
 * @throws Error without owned capacity (`CAPACITY_GROUPS`).
 */
export function createCapacityFromDependencies(deps: Dependencies): Capacity {
  const { claims, instances, overflow } = deps;
  const settings = deps.config.capacity;
  if (settings === undefined || claims === undefined || instances === undefined)
    throw new Error('the capacity function needs CAPACITY_GROUPS (owned capacity)');
  return createCapacity({
    ...deps,
    settings,
    claims,
    instances,
    groups: createAutoScalingGroups(),
    containerInstances: createEcsContainerInstances(deps.config.ecs.cluster, lazyEcsApi()),
    jobs: deps.ledger,
    maxAttempts: deps.config.reconcile.maxAttempts,
    // Hot pools' free instances run a standby runner (JIT registration needs the bucket for it).
    standby:
      deps.configStore === undefined
        ? undefined
        : createStandbyRunners({
            config: deps.config,
            launcher: deps.launcher,
            configStore: deps.configStore,
            now: deps.now,
          }),
    // A waiting job's launch (GitHub's registration, RunTask) goes to the launcher, which runs many
    // at once: the capacity function, one at a time, goes on to the next event.
    launch: (record) =>
      overflow === undefined ? launchWaitingJob(deps, record) : handOffToLauncher(overflow, record, deps.now),
  });
}
