import type { CapacityProviderItem, EcsTarget } from './runner-plan';
import { templateProblems } from './template';

/** One runner shape: the labels that select it and the ECS task that serves it. */
export interface RunnerProfile
  extends Pick<
    EcsTarget,
    'taskDefinition' | 'containerName' | 'capacityProviderStrategy' | 'cpu' | 'memory' | 'distinctInstance'
  > {
  readonly name: string;
  /** Label templates, as `RUNNER_LABELS_TEMPLATE`. */
  readonly labels: readonly string[];
  /**
   * Where a job goes whose task waited for capacity past `RECONCILE_CAPACITY_WAIT` (a Spot profile's
   * On-Demand provider); undefined: the same strategy again.
   */
  readonly fallbackCapacityProviderStrategy: readonly CapacityProviderItem[] | undefined;
  /**
   * Whether jobs of public repositories (and of internal ones) may have this profile's runners:
   * a fork's pull request then runs its code on them. Default false.
   */
  readonly publicRepositories: boolean;
}

/** What a profile inherits from the single-profile settings (`ECS_TASK_DEFINITION`, ...). */
export interface ProfileDefaults {
  readonly labels: readonly string[];
  readonly taskDefinition: string;
  readonly containerName: string;
  readonly capacityProvider: string | undefined;
  readonly distinctInstance: boolean;
}

const PROFILE_NAME = /^[a-z0-9-]{1,32}$/;
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads `RUNNER_PROFILES` (a JSON array). Without it, one profile named `default` made from the
 * single-profile settings, so existing deployments change nothing. Problems are appended.
 */
export function parseRunnerProfiles(
  json: string | undefined,
  defaults: ProfileDefaults,
  problems: string[],
): RunnerProfile[] {
  const strategyOf = (name: string | undefined): CapacityProviderItem[] | undefined =>
    name === undefined ? undefined : [{ capacityProvider: name, weight: 1 }];
  if (json === undefined) {
    return [
      {
        name: 'default',
        labels: defaults.labels,
        taskDefinition: defaults.taskDefinition,
        containerName: defaults.containerName,
        capacityProviderStrategy: strategyOf(defaults.capacityProvider),
        fallbackCapacityProviderStrategy: undefined,
        cpu: undefined,
        memory: undefined,
        distinctInstance: defaults.distinctInstance,
        publicRepositories: false,
      },
    ];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    problems.push('RUNNER_PROFILES must be a JSON array of profiles');
    return [];
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    problems.push('RUNNER_PROFILES must be a non-empty JSON array of profiles');
    return [];
  }
  const seen = new Set<string>();
  return parsed.flatMap((entry: unknown, index): RunnerProfile[] => {
    const where = `RUNNER_PROFILES[${index}]`;
    if (!isObject(entry)) {
      problems.push(`${where} must be an object`);
      return [];
    }
    const before = problems.length;
    const name = entry.name;
    if (typeof name !== 'string' || !PROFILE_NAME.test(name)) {
      problems.push(`${where}.name must match [a-z0-9-]{1,32}`);
    } else if (seen.has(name)) {
      problems.push(`${where}.name "${name}" is used twice`);
    } else {
      seen.add(name);
    }
    const labels = entry.labels;
    if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string')) {
      problems.push(`${where}.labels must be a non-empty array of label templates`);
    } else {
      for (const label of labels as string[]) {
        for (const problem of templateProblems(label))
          problems.push(`${where}.labels "${label}": ${problem}`);
      }
    }
    const text = (key: string, fallback: string | undefined) => {
      const value = entry[key];
      if (value === undefined) return fallback;
      if (typeof value !== 'string' || value.trim() === '') problems.push(`${where}.${key} must be a string`);
      return typeof value === 'string' ? value : fallback;
    };
    const size = (key: 'cpu' | 'memory') => {
      const value = entry[key];
      if (value === undefined) return undefined;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 128) {
        problems.push(`${where}.${key} must be a whole number (cpu units or MiB, at least 128)`);
      }
      return typeof value === 'number' ? value : undefined;
    };
    const readStrategy = (key: 'capacityProviderStrategy' | 'fallbackCapacityProviderStrategy') => {
      const items = entry[key];
      if (items === undefined) return undefined;
      const valid =
        Array.isArray(items) &&
        items.length > 0 &&
        items.every(
          (item) =>
            isObject(item) &&
            typeof item.capacityProvider === 'string' &&
            (item.weight === undefined || (Number.isInteger(item.weight) && Number(item.weight) >= 0)) &&
            (item.base === undefined || (Number.isInteger(item.base) && Number(item.base) >= 0)),
        );
      if (!valid) {
        problems.push(`${where}.${key} must be RunTask's shape: [{"capacityProvider", "weight"?, "base"?}]`);
        return undefined;
      }
      return (items as Array<Record<string, unknown>>).map(
        (item): CapacityProviderItem => ({
          capacityProvider: item.capacityProvider as string,
          ...(item.weight !== undefined && { weight: item.weight as number }),
          ...(item.base !== undefined && { base: item.base as number }),
        }),
      );
    };
    const strategy = readStrategy('capacityProviderStrategy') ?? strategyOf(defaults.capacityProvider);
    const fallbackStrategy = readStrategy('fallbackCapacityProviderStrategy');
    const distinct = entry.distinctInstance;
    if (distinct !== undefined && typeof distinct !== 'boolean') {
      problems.push(`${where}.distinctInstance must be true or false`);
    }
    const publicRepositories = entry.publicRepositories;
    if (publicRepositories !== undefined && typeof publicRepositories !== 'boolean') {
      problems.push(`${where}.publicRepositories must be true or false`);
    }
    const taskDefinition = text('taskDefinition', defaults.taskDefinition) as string;
    const containerName = text('containerName', defaults.containerName) as string;
    const cpu = size('cpu');
    const memory = size('memory');
    if (problems.length > before) return [];
    return [
      {
        name: name as string,
        labels: labels as string[],
        taskDefinition,
        containerName,
        capacityProviderStrategy: strategy,
        fallbackCapacityProviderStrategy: fallbackStrategy,
        cpu,
        memory,
        distinctInstance: typeof distinct === 'boolean' ? distinct : defaults.distinctInstance,
        publicRepositories: publicRepositories === true,
      },
    ];
  });
}
