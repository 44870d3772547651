/**
 * The runner task's default size. A runner task hosts its own Docker daemon, the runner and the
 * job: with one task per instance (`distinctInstance`, the default) it gets the whole instance
 * less what the host itself needs; the seed's 256 cpu units and 512 MiB ran out of memory on the
 * first real `docker build`.
 */

/** An instance type's vCPUs and installed memory. */
export interface InstanceSize {
  readonly vcpus: number;
  readonly memoryMiB: number;
}

/** Task-level cpu units and memory (MiB). */
export interface TaskSize {
  readonly cpu: number;
  readonly memory: number;
}

/**
 * What a task gets when tasks share an instance (`distinctInstance: false`), or on an existing
 * cluster whose instances the stack does not know: enough for a small `docker build`, capped at the
 * instance's share.
 */
export const SHARED_INSTANCE_TASK: TaskSize = { cpu: 1024, memory: 2048 };

/**
 * Memory the host keeps: the kernel's share, which the ECS agent never registers (an m4.large's
 * 8 GiB registers as 7,985 MiB, docs.aws.amazon.com/AmazonECS/latest/developerguide/memory-management.html),
 * and the agent, Docker and the OS's own processes (AWS Batch recommends a 5% buffer for them). A
 * tenth of the instance, at least 512 MiB.
 */
export function hostReserveMiB(memoryMiB: number): number {
  return Math.max(512, Math.ceil(memoryMiB / 10));
}

/** GiB per vCPU of the current general purpose (m), compute (c) and memory (r) families. */
const GIB_PER_VCPU: Readonly<Record<string, number>> = { c: 2, m: 4, r: 8 };

/** Burstable families (t3, t3a, t4g): 2 vCPUs up to large; memory by size. */
const BURSTABLE: Readonly<Record<string, InstanceSize>> = {
  nano: { vcpus: 2, memoryMiB: 512 },
  micro: { vcpus: 2, memoryMiB: 1024 },
  small: { vcpus: 2, memoryMiB: 2048 },
  medium: { vcpus: 2, memoryMiB: 4096 },
  large: { vcpus: 2, memoryMiB: 8192 },
  xlarge: { vcpus: 4, memoryMiB: 16_384 },
  '2xlarge': { vcpus: 8, memoryMiB: 32_768 },
};

/** Families whose memory per vCPU is below their class's (c4: 3.75 GiB a large, r4: 15.25). */
const UNEVEN_FAMILIES = new Set(['c4', 'r4']);

/**
 * An instance type's size, from its name (EC2's naming: family, then size), for the families whose
 * sizes follow one rule: t3, t3a, t4g, and the c, m and r families of generation 4 and later.
 * Undefined for any other (the operator then gives the profile's `cpu` and `memory`).
 */
export function instanceSize(instanceType: string): InstanceSize | undefined {
  const match = /^([a-z]+)(\d+)([a-z-]*)\.([a-z0-9]+)$/.exec(instanceType);
  if (match === null) return undefined;
  const [, letters = '', generation = '', attributes = '', size = ''] = match;
  const family = `${letters}${generation}`;
  if (letters === 't') {
    if (!['t3', 't4'].includes(family) || !['', 'a', 'g'].includes(attributes)) return undefined;
    return BURSTABLE[size];
  }
  const perVcpu = GIB_PER_VCPU[letters];
  if (perVcpu === undefined || Number(generation) < 4 || UNEVEN_FAMILIES.has(family)) return undefined;
  const vcpus =
    size === 'medium'
      ? 1
      : size === 'large'
        ? 2
        : size === 'xlarge'
          ? 4
          : /^\d+xlarge$/.test(size)
            ? 4 * Number.parseInt(size, 10)
            : undefined;
  return vcpus === undefined ? undefined : { vcpus, memoryMiB: vcpus * perVcpu * 1024 };
}

/**
 * The default size of a task that may run on any of `instanceTypes`: with one task per instance,
 * the smallest instance's vCPUs (1,024 units each: ECS registers all of them) and its memory less
 * {@link hostReserveMiB}; tasks sharing an instance get {@link SHARED_INSTANCE_TASK}, capped there.
 * Undefined when an instance type's size is unknown.
 */
export function defaultTaskSize(
  instanceTypes: readonly string[],
  distinctInstance: boolean,
): TaskSize | undefined {
  const sizes = instanceTypes.map(instanceSize);
  if (sizes.length === 0 || sizes.some((size) => size === undefined)) return undefined;
  const known = sizes as InstanceSize[];
  const cpu = Math.min(...known.map((size) => size.vcpus * 1024));
  const memory = Math.min(...known.map((size) => size.memoryMiB - hostReserveMiB(size.memoryMiB)));
  return distinctInstance
    ? { cpu, memory }
    : { cpu: Math.min(cpu, SHARED_INSTANCE_TASK.cpu), memory: Math.min(memory, SHARED_INSTANCE_TASK.memory) };
}
