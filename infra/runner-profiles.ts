import { InstanceArchitecture, InstanceType } from 'aws-cdk-lib/aws-ec2';
import { parseHotSchedule } from '../shared/capacity/capacity-groups';

export type Architecture = 'x86_64' | 'arm64';

/**
 * One runner profile of the `profiles` context: what the functions' `RUNNER_PROFILES` takes (the
 * stack fills in the task definition and the capacity provider strategy), plus the capacity the
 * profile's tasks run on.
 */
export interface ProfileSettings {
  readonly name: string;
  /** Label templates, as `RUNNER_LABELS_TEMPLATE`: a job gets the first profile whose labels cover its own. */
  readonly labels: readonly string[];
  readonly containerName: string | undefined;
  /** Task cpu units and memory (MiB); undefined: the stack's `cpu` and `memoryMiB`. */
  readonly cpu: number | undefined;
  readonly memory: number | undefined;
  /** One runner task per instance (RunTask's `distinctInstance` placement): a privileged job owns its host. */
  readonly distinctInstance: boolean;
  readonly architecture: Architecture;
  readonly spot: boolean;
  /** undefined: the capacity's defaults for its architecture and purchase option. */
  readonly instanceTypes: readonly string[] | undefined;
  readonly minInstances: number | undefined;
  readonly maxInstances: number | undefined;
  /** Stopped instances kept ready in the Auto Scaling warm pool. */
  readonly warmPool: number;
  /** Owned capacity: pristine instances kept running and registered, waiting for a job. */
  readonly hotPool: number;
  /** Owned capacity: the hours the hot pool is kept (`Mon-Fri 07:00-19:00`, UTC); undefined: always. */
  readonly hotSchedule: string | undefined;
  /**
   * Owned capacity: an idle instance takes the next job of the profile's group for this many
   * minutes (trusted repositories only); undefined: pristine, one job per instance.
   */
  readonly reuseIdleMinutes: number | undefined;
  /** Owned capacity, Spot: where a job whose instance is interrupted before it started goes. */
  readonly onInterruption: 'on-demand' | undefined;
  /** Whether public and internal repositories' jobs may have its runners (fork pull requests included). */
  readonly publicRepositories: boolean;
}

/** The profile fields of capacity the system owns (`capacityMode=owned`): pools, reuse, Spot fallback. */
export const OWNED_CAPACITY_FIELDS = [
  'hotPool',
  'hotSchedule',
  'reuseIdleMinutes',
  'onInterruption',
] as const;

/** The profile fields only the stack reads: the capacity a profile's tasks run on. */
export const CAPACITY_FIELDS = [
  'architecture',
  'spot',
  'instanceTypes',
  'minInstances',
  'maxInstances',
  'warmPool',
  ...OWNED_CAPACITY_FIELDS,
] as const;

const FIELDS = new Set<string>([
  'name',
  'labels',
  'containerName',
  'cpu',
  'memory',
  'distinctInstance',
  'publicRepositories',
  ...CAPACITY_FIELDS,
]);

/**
 * Reads the `profiles` context (a JSON array), every problem reported, each with the profile it is in.
 * `defaults` fill what the functions' profile leaves to the stack's settings.
 */
export function parseProfiles(value: unknown, problems: string[]): ProfileSettings[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push('profiles must be a non-empty JSON array of profiles');
    return [];
  }
  const names = new Set<string>();
  return value.flatMap((raw, index): ProfileSettings[] => {
    const where = `profiles[${index}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`${where} must be an object`);
      return [];
    }
    const profile = raw as Record<string, unknown>;
    for (const key of Object.keys(profile)) {
      if (!FIELDS.has(key))
        problems.push(`${where}: unknown field "${key}" (known: ${[...FIELDS].join(', ')})`);
    }
    const name = typeof profile.name === 'string' ? profile.name : '';
    if (!/^[a-z0-9-]{1,32}$/.test(name))
      problems.push(`${where}.name must match [a-z0-9-]{1,32} (got ${JSON.stringify(profile.name)})`);
    else if (names.has(name)) problems.push(`${where}.name "${name}" is not unique`);
    names.add(name);
    const at = `profiles "${name || index}"`;

    const labels = profile.labels;
    if (
      !Array.isArray(labels) ||
      labels.length === 0 ||
      !labels.every((label) => typeof label === 'string' && label !== '')
    ) {
      problems.push(`${at}: labels must be a non-empty array of label templates`);
    }
    const optionalInt = (key: string, min: number, max: number): number | undefined => {
      const item = profile[key];
      if (item === undefined) return undefined;
      if (typeof item !== 'number' || !Number.isInteger(item) || item < min || item > max) {
        problems.push(
          `${at}: ${key} must be a whole number from ${min} to ${max} (got ${JSON.stringify(item)})`,
        );
        return undefined;
      }
      return item;
    };
    const optionalBool = (key: string, fallback: boolean): boolean => {
      const item = profile[key];
      if (item === undefined) return fallback;
      if (typeof item !== 'boolean') {
        problems.push(`${at}: ${key} must be true or false (got ${JSON.stringify(item)})`);
        return fallback;
      }
      return item;
    };
    const containerName = profile.containerName;
    if (
      containerName !== undefined &&
      (typeof containerName !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(containerName))
    ) {
      problems.push(`${at}: containerName must be a container name ([A-Za-z0-9_-])`);
    }
    const architecture = profile.architecture ?? 'x86_64';
    if (architecture !== 'x86_64' && architecture !== 'arm64') {
      problems.push(`${at}: architecture must be x86_64 or arm64 (got ${JSON.stringify(architecture)})`);
    }
    const arch: Architecture = architecture === 'arm64' ? 'arm64' : 'x86_64';
    let instanceTypes: string[] | undefined;
    if (profile.instanceTypes !== undefined) {
      if (
        !Array.isArray(profile.instanceTypes) ||
        profile.instanceTypes.length === 0 ||
        !profile.instanceTypes.every((type) => typeof type === 'string')
      ) {
        problems.push(`${at}: instanceTypes must be a non-empty array of instance types`);
      } else {
        instanceTypes = profile.instanceTypes as string[];
        const wrong = instanceTypes.filter((type) => architectureOf(type) !== arch);
        if (wrong.length > 0) problems.push(`${at}: instanceTypes ${wrong.join(', ')} are not ${arch}`);
      }
    }
    const spot = optionalBool('spot', false);
    const minInstances = optionalInt('minInstances', 0, 1000);
    const maxInstances = optionalInt('maxInstances', 1, 1000);
    if (minInstances !== undefined && maxInstances !== undefined && minInstances > maxInstances) {
      problems.push(`${at}: minInstances (${minInstances}) exceeds maxInstances (${maxInstances})`);
    }
    const warmPool = optionalInt('warmPool', 0, 1000) ?? 0;
    // EC2 Auto Scaling: a warm pool takes neither Spot Instances nor a mixed instances policy.
    if (warmPool > 0 && spot)
      problems.push(`${at}: warmPool needs On-Demand instances (no warm pool with Spot)`);
    if (warmPool > 0 && instanceTypes !== undefined && instanceTypes.length > 1) {
      problems.push(`${at}: warmPool needs one instance type (no warm pool with a mixed instances policy)`);
    }
    const hotPool = optionalInt('hotPool', 0, 1000) ?? 0;
    if (maxInstances !== undefined && hotPool > maxInstances)
      problems.push(`${at}: hotPool (${hotPool}) exceeds maxInstances (${maxInstances})`);
    let hotSchedule: string | undefined;
    if (profile.hotSchedule !== undefined) {
      if (typeof profile.hotSchedule !== 'string') {
        problems.push(`${at}: hotSchedule must be text such as "Mon-Fri 07:00-19:00" (UTC)`);
      } else {
        try {
          parseHotSchedule(profile.hotSchedule);
          hotSchedule = profile.hotSchedule;
        } catch (error) {
          problems.push(`${at}: ${(error as Error).message}`);
        }
        if (hotPool === 0) problems.push(`${at}: hotSchedule needs a hotPool (the instances it keeps)`);
      }
    }
    const publicRepositories = optionalBool('publicRepositories', false);
    const reuseIdleMinutes = optionalInt('reuseIdleMinutes', 1, 1440);
    if (reuseIdleMinutes !== undefined && publicRepositories) {
      problems.push(
        `${at}: reuseIdleMinutes with publicRepositories: a fork's job would run on the instance of the next job; public repositories' jobs get a pristine instance each`,
      );
    }
    const onInterruption = profile.onInterruption;
    if (onInterruption !== undefined && onInterruption !== 'on-demand') {
      problems.push(`${at}: onInterruption must be "on-demand" (got ${JSON.stringify(onInterruption)})`);
    } else if (onInterruption !== undefined && !spot) {
      problems.push(`${at}: onInterruption is for Spot profiles (spot: true)`);
    }
    return [
      {
        name,
        labels: Array.isArray(labels) ? labels.map(String) : [],
        containerName: typeof containerName === 'string' ? containerName : undefined,
        cpu: optionalInt('cpu', 128, 196_608),
        memory: optionalInt('memory', 128, 1_048_576),
        distinctInstance: optionalBool('distinctInstance', true),
        architecture: arch,
        spot,
        instanceTypes,
        minInstances,
        maxInstances,
        warmPool,
        hotPool,
        hotSchedule,
        reuseIdleMinutes,
        onInterruption: onInterruption === 'on-demand' ? 'on-demand' : undefined,
        publicRepositories,
      },
    ];
  });
}

/** The architecture of an instance type, as CDK knows it (offline). */
export function architectureOf(instanceType: string): Architecture {
  return new InstanceType(instanceType).architecture === InstanceArchitecture.ARM_64 ? 'arm64' : 'x86_64';
}

/** The instances of one capacity provider: the profiles of one architecture and purchase option share them. */
export interface CapacityGroup {
  /** Prefix of its construct ids: '' for the group of the stack's own instance types (its ids predate profiles). */
  readonly key: string;
  /** Its name for the functions (`CAPACITY_GROUPS`): `default` for the stack's own group, else `arm64-spot`… */
  readonly name: string;
  readonly architecture: Architecture;
  readonly spot: boolean;
  readonly instanceTypes: readonly string[];
  readonly minInstances: number;
  readonly maxInstances: number;
  readonly warmPool: number;
  /** The largest hot pool of its profiles. */
  readonly hotPool: number;
  /** The hot schedule of the profiles with a hot pool (they must agree). */
  readonly hotSchedule: string | undefined;
  /** Set only when every profile of the group reuses instances: the smallest of their idle minutes. */
  readonly reuseIdleMinutes: number | undefined;
  /** The group (its name) a Spot group's not-yet-started jobs move to when their instance is interrupted. */
  readonly onInterruption: string | undefined;
  /** The names of the profiles that run on it. */
  readonly profiles: readonly string[];
}

/**
 * Instance types of a group no profile names: burstable for On-Demand; for Spot, several current
 * types of one size, so that capacity-optimised allocation has pools to choose from.
 */
export const DEFAULT_INSTANCE_TYPES: Readonly<
  Record<Architecture, Readonly<Record<'onDemand' | 'spot', readonly string[]>>>
> = {
  x86_64: { onDemand: ['t3.medium'], spot: ['m7i.large', 'm6i.large', 'm6a.large', 'm5.large', 'c7i.large'] },
  arm64: { onDemand: ['t4g.medium'], spot: ['m7g.large', 'm6g.large', 'c7g.large', 'c6g.large'] },
};

/**
 * One group per distinct (architecture, Spot) of the profiles, in the order the profiles name
 * them. The group of the stack's own settings (`instanceTypes`' architecture, On-Demand) keeps
 * their instance types, minimum and maximum; a group takes the largest minimum, maximum, warm and
 * hot pool of its profiles, and the instance types they name. It reuses instances only when every
 * profile of it says so (the shortest idle time): one pristine profile keeps the group pristine.
 * A Spot group moves interrupted jobs to the On-Demand group of its architecture when one of its
 * profiles asks. What cannot be made of the profiles goes to `problems`.
 */
export function capacityGroups(
  profiles: readonly ProfileSettings[],
  base: {
    readonly instanceTypes: readonly string[];
    readonly minCapacity: number;
    readonly maxCapacity: number;
  },
  problems: string[] = [],
): CapacityGroup[] {
  const baseArchitecture = architectureOf(base.instanceTypes[0] ?? 't3.medium');
  const groups = new Map<string, ProfileSettings[]>();
  for (const profile of profiles) {
    const id = `${profile.architecture}/${profile.spot}`;
    groups.set(id, [...(groups.get(id) ?? []), profile]);
  }
  const made = [...groups.values()].map((members) => {
    const { architecture, spot } = members[0] as ProfileSettings;
    const isBase = architecture === baseArchitecture && !spot;
    const name = isBase ? 'default' : `${architecture}${spot ? '-spot' : ''}`;
    const names = members.map((profile) => profile.name).join(', ');
    const named = [...new Set(members.flatMap((profile) => profile.instanceTypes ?? []))];
    const largest = (values: readonly (number | undefined)[], fallback: number) =>
      Math.max(...values.map((value) => value ?? fallback));
    const minInstances = largest(
      members.map((profile) => profile.minInstances),
      isBase ? base.minCapacity : 0,
    );
    const maxInstances = Math.max(
      minInstances,
      largest(
        members.map((profile) => profile.maxInstances),
        base.maxCapacity,
      ),
    );
    const hotPool = Math.max(...members.map((profile) => profile.hotPool));
    if (hotPool > maxInstances)
      problems.push(
        `profiles ${names} share the ${name} instances: their hotPool (${hotPool}) exceeds the group's maxInstances (${maxInstances})`,
      );
    const schedules = new Set(members.filter((p) => p.hotPool > 0).map((p) => p.hotSchedule));
    if (schedules.size > 1)
      problems.push(
        `profiles ${names} share the ${name} instances and keep one hot pool: give them one hotSchedule (got ${[...schedules].map((text) => text ?? '(always)').join(', ')})`,
      );
    const reuse = members.map((profile) => profile.reuseIdleMinutes);
    return {
      group: {
        key: isBase ? '' : `${architecture === 'arm64' ? 'Arm64' : 'X8664'}${spot ? 'Spot' : ''}`,
        name,
        architecture,
        spot,
        instanceTypes:
          named.length > 0
            ? named
            : isBase
              ? base.instanceTypes
              : DEFAULT_INSTANCE_TYPES[architecture][spot ? 'spot' : 'onDemand'],
        minInstances,
        maxInstances,
        warmPool: Math.max(...members.map((profile) => profile.warmPool)),
        hotPool,
        hotSchedule: [...schedules][0],
        reuseIdleMinutes: reuse.every((minutes) => minutes !== undefined) ? Math.min(...reuse) : undefined,
        onInterruption: undefined as string | undefined,
        profiles: members.map((profile) => profile.name),
      },
      movesOnInterruption: members.some((profile) => profile.onInterruption === 'on-demand'),
    };
  });
  return made.map(({ group, movesOnInterruption }) => {
    if (!movesOnInterruption) return group;
    const onDemand = made.find(
      (other) => !other.group.spot && other.group.architecture === group.architecture,
    )?.group;
    if (onDemand === undefined)
      problems.push(
        `profiles ${group.profiles.join(', ')}: onInterruption "on-demand" needs an On-Demand profile of ${group.architecture} (the stack makes instances only for the profiles that use them; one no workflow asks for will do)`,
      );
    return { ...group, onInterruption: onDemand?.name };
  });
}

/** What the functions need of a profile's task: its family, container and size. */
export interface ProfileTarget {
  readonly profile: ProfileSettings;
  readonly family: string;
  readonly containerName: string;
  readonly cpu: number;
  readonly memory: number;
}

/**
 * The functions' `RUNNER_PROFILES`: the profiles in order, each with the task definition and the
 * capacity provider the stack made for it. Capacity provider names are deploy-time values: they
 * are written into the JSON as tokens, which CloudFormation fills in (names hold no quote).
 */
export function runnerProfilesVariable(
  targets: readonly ProfileTarget[],
  providerFor: (profile: string) => string,
): string {
  // A Spot profile falls back on the On-Demand capacity of its architecture, where a profile has it.
  const onDemandOf = (architecture: string) =>
    targets.find((target) => target.profile.architecture === architecture && !target.profile.spot)?.profile
      .name;
  return JSON.stringify(
    targets.map(({ profile, family, containerName, cpu, memory }) => {
      const fallback = profile.spot ? onDemandOf(profile.architecture) : undefined;
      return {
        name: profile.name,
        labels: profile.labels,
        taskDefinition: family,
        containerName,
        capacityProviderStrategy: [{ capacityProvider: providerFor(profile.name), weight: 1 }],
        ...(fallback !== undefined && {
          fallbackCapacityProviderStrategy: [{ capacityProvider: providerFor(fallback), weight: 1 }],
        }),
        cpu,
        memory,
        distinctInstance: profile.distinctInstance,
        ...(profile.publicRepositories && { publicRepositories: true }),
      };
    }),
  );
}
