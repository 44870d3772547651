import { type Finding, type Gathered, ok, problem, skipped } from './finding';

/** An ECS resource the webhook's RunTask names, and what ECS says of it (undefined: it does not exist). */
export interface EcsResource<T> {
  readonly name: string;
  readonly found: Gathered<T | undefined>;
}

export interface EcsFacts {
  readonly cluster:
    | EcsResource<{ readonly status: string; readonly capacityProviders: readonly string[] }>
    | undefined;
  readonly taskDefinition: EcsResource<{ readonly status: string }> | undefined;
  readonly capacityProvider: EcsResource<{ readonly status: string }> | undefined;
}

const REDEPLOY = 'deploy the stack again (`npm run deploy`): it registers it';

function unknown(check: Finding['check'], what: string, output: string, flag: string): Finding {
  return skipped(check, `no ${what} to check: no ${output} output (see stack) and no ${flag}`);
}

function unreadable(check: Finding['check'], what: string, error: string): Finding {
  return problem(
    check,
    `cannot describe the ${what}: ${error}`,
    "run the doctor with credentials allowed the ECS Describe* calls, in the stack's region",
  );
}

/** The cluster the webhook's RunTask names exists and is active. */
export function checkCluster(facts: EcsFacts): Finding {
  const cluster = facts.cluster;
  if (cluster === undefined) return unknown('ecs-cluster', 'cluster', 'ClusterName', '--cluster');
  if (!cluster.found.ok) return unreadable('ecs-cluster', `cluster ${cluster.name}`, cluster.found.error);
  const found = cluster.found.value;
  if (found === undefined || found.status !== 'ACTIVE') {
    return problem(
      'ecs-cluster',
      `cluster ${cluster.name} ${found === undefined ? 'does not exist' : `is ${found.status}`}: RunTask fails for every job`,
      `${REDEPLOY}, or pass --cluster with the cluster the webhook uses`,
    );
  }
  return ok('ecs-cluster', `cluster ${cluster.name} is active`);
}

/** The runner task definition exists and is not deregistered. */
export function checkTaskDefinition(facts: EcsFacts): Finding {
  const definition = facts.taskDefinition;
  if (definition === undefined)
    return unknown('task-definition', 'task definition', 'TaskDefinitionArn', '--task-definition');
  if (!definition.found.ok) {
    return unreadable('task-definition', `task definition ${definition.name}`, definition.found.error);
  }
  const found = definition.found.value;
  if (found === undefined || found.status !== 'ACTIVE') {
    return problem(
      'task-definition',
      `task definition ${definition.name} ${found === undefined ? 'does not exist' : `is ${found.status} (deregistered)`}: RunTask fails for every job`,
      REDEPLOY,
    );
  }
  return ok('task-definition', `task definition ${definition.name} is active`);
}

/** The capacity provider exists, is active, and is attached to the cluster (RunTask needs all three). */
export function checkCapacityProvider(facts: EcsFacts): Finding {
  const provider = facts.capacityProvider;
  if (provider === undefined)
    return unknown('capacity-provider', 'capacity provider', 'CapacityProviderName', '--capacity-provider');
  if (!provider.found.ok) {
    return unreadable('capacity-provider', `capacity provider ${provider.name}`, provider.found.error);
  }
  const found = provider.found.value;
  if (found === undefined || found.status !== 'ACTIVE') {
    return problem(
      'capacity-provider',
      `capacity provider ${provider.name} ${found === undefined ? 'does not exist' : `is ${found.status}`}: tasks get no instance to run on`,
      REDEPLOY,
    );
  }
  const cluster = facts.cluster?.found;
  if (
    cluster?.ok &&
    cluster.value !== undefined &&
    !cluster.value.capacityProviders.includes(provider.name)
  ) {
    return problem(
      'capacity-provider',
      `capacity provider ${provider.name} is not attached to cluster ${facts.cluster?.name}: RunTask with it fails`,
      `${REDEPLOY}, or attach it: aws ecs put-cluster-capacity-providers (keep the cluster's other providers in the list)`,
    );
  }
  return ok('capacity-provider', `capacity provider ${provider.name} is active on the cluster`);
}
