import { createCapacity } from '../../shared/capacity/capacity';
import { parseCapacityEvent } from '../../shared/capacity/capacity-events';
import { createEcsContainerInstances } from '../../shared/capacity/container-instances';
import { createAutoScalingGroups } from '../../shared/capacity/instance-groups';
import { launchWaitingJob } from '../../shared/capacity/launch-waiting-job';
import { createDependencies } from '../../shared/dependencies';
import { lazyEcsApi } from '../../shared/ecs/ecs-api';

// Built at cold start: a wrong environment fails here, with every problem in one message.
const deps = createDependencies({
  env: { POWERTOOLS_SERVICE_NAME: 'github-runners-capacity', ...process.env },
});
const { claims, instances } = deps;
const settings = deps.config.capacity;
if (settings === undefined || claims === undefined || instances === undefined)
  throw new Error('the capacity function needs CAPACITY_GROUPS (owned capacity)');
const capacity = createCapacity({
  ...deps,
  settings,
  claims,
  instances,
  groups: createAutoScalingGroups(),
  containerInstances: createEcsContainerInstances(deps.config.ecs.cluster, lazyEcsApi()),
  jobs: deps.ledger,
  maxAttempts: deps.config.reconcile.maxAttempts,
  launch: (record) => launchWaitingJob(deps, record),
});

/**
 * EventBridge events (Auto Scaling launches, container instances, task state changes, Spot
 * warnings, the minute's schedule) and our functions' requests for an instance. One at a time
 * (reserved concurrency 1): the one writer of the groups' desired counts.
 */
export const handler = async (event: unknown) => {
  const parsed = parseCapacityEvent(event);
  if (parsed === undefined) return { ignored: true };
  try {
    const summary = await capacity.handle(parsed);
    deps.logger.info('capacity event', { ...summary });
    return summary;
  } finally {
    deps.metrics.publishStoredMetrics();
  }
};
