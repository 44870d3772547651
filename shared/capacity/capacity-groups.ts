/**
 * The instance groups whose capacity the system owns (`CAPACITY_GROUPS`): one EC2 Auto Scaling
 * group per entry, written by the stack and read by every function that places or counts runner
 * tasks. With owned capacity ECS managed scaling is off: the capacity function sets each group's
 * desired capacity from the ledgers, and every runner task is pinned to the instance its job
 * claimed.
 */

/** Hours of the week in which a group keeps its hot pool (outside them the hot pool is 0). */
export interface HotSchedule {
  /** ISO weekdays, 1 (Monday) to 7 (Sunday). */
  readonly days: readonly number[];
  /** Minutes since midnight, UTC: the pool is kept from `from` (inclusive) to `to` (exclusive). */
  readonly from: number;
  readonly to: number;
}

export interface CapacityGroupSettings {
  /** The group's key: the Auto Scaling group's purpose in our words (`default`, `arm64-spot`). */
  readonly name: string;
  readonly autoScalingGroupName: string;
  /** The ECS capacity provider of the group (RunTask's strategy). */
  readonly capacityProvider: string;
  /** The runner profiles whose jobs run on it. */
  readonly profiles: readonly string[];
  /** The most instances the group may have (its Auto Scaling maximum). */
  readonly maxInstances: number;
  /** Pristine instances kept running, registered and idle, waiting for a job. */
  readonly hot: number;
  /** When set, the hot pool is kept only in these hours. */
  readonly hotSchedule?: HotSchedule | undefined;
  /**
   * Whether the hot pool's free instances run a standby runner (JIT registration only; default
   * true): a job then writes its config instead of starting a task.
   */
  readonly standby: boolean;
  /** Stopped instances in the Auto Scaling warm pool (the group's own; the capacity function only counts them). */
  readonly warm: number;
  /**
   * Absent: pristine (an instance runs one job and is terminated). Set: an idle instance takes the
   * next job of the group for this many minutes, then is terminated (trusted repositories only).
   */
  readonly reuseIdleMinutes?: number | undefined;
  /** Spot instances: an interruption warning moves a job that has not started. */
  readonly spot: boolean;
  /** The group jobs move to when a Spot instance of this one is interrupted before they start. */
  readonly onInterruption?: string | undefined;
}

export interface CapacitySettings {
  readonly groups: readonly CapacityGroupSettings[];
  /** The stack-wide ceiling: never more instances than this across the groups. */
  readonly maxInstances: number;
  /** A free pristine instance no job took (beyond the hot pool) is terminated after this many seconds. */
  readonly idleSeconds: number;
}

/** The ceiling when the stack names none. */
export const DEFAULT_MAX_INSTANCES = 200;
/** Idle bound of a pristine instance launched for a job another instance served. */
export const DEFAULT_IDLE_SECONDS = 120;

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/**
 * A hot schedule from its text, `Mon-Fri 07:00-19:00` (UTC; days a range or a comma list). Throws
 * with what to fix.
 */
export function parseHotSchedule(text: string): HotSchedule {
  const match = /^\s*([A-Za-z,-]+)\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})\s*(?:UTC)?\s*$/.exec(text);
  if (!match) throw new Error(`hotSchedule "${text}" must look like "Mon-Fri 07:00-19:00" (UTC)`);
  const [, dayText = '', fh = '', fm = '', th = '', tm = ''] = match;
  const dayOf = (name: string) => {
    const index = WEEKDAYS.findIndex((day) => day.toLowerCase() === name.toLowerCase());
    if (index < 0) throw new Error(`hotSchedule "${text}": "${name}" is no day (${WEEKDAYS.join(', ')})`);
    return index + 1;
  };
  const days = new Set<number>();
  for (const part of dayText.split(',')) {
    const [first = '', last] = part.split('-');
    const start = dayOf(first);
    const end = last === undefined ? start : dayOf(last);
    for (let day = start; ; day = (day % 7) + 1) {
      days.add(day);
      if (day === end) break;
    }
  }
  const from = Number(fh) * 60 + Number(fm);
  const to = Number(th) * 60 + Number(tm);
  if (from >= to || to > 24 * 60)
    throw new Error(`hotSchedule "${text}": the hours must run forward within a day`);
  return { days: [...days].sort(), from, to };
}

/** Whether the hot pool is kept at `now` (epoch ms). */
export function hotPoolAt(group: CapacityGroupSettings, now: number): number {
  const schedule = group.hotSchedule;
  if (schedule === undefined) return group.hot;
  const date = new Date(now);
  const day = ((date.getUTCDay() + 6) % 7) + 1;
  const minute = date.getUTCHours() * 60 + date.getUTCMinutes();
  return schedule.days.includes(day) && minute >= schedule.from && minute < schedule.to ? group.hot : 0;
}

/** The group a profile's jobs run on, if its capacity is owned. */
export const groupOfProfile = (
  settings: CapacitySettings | undefined,
  profile: string,
): CapacityGroupSettings | undefined => settings?.groups.find((group) => group.profiles.includes(profile));

/** `CAPACITY_GROUPS` (JSON) and `CAPACITY_MAX_INSTANCES`, `CAPACITY_IDLE_SECONDS`; undefined without groups. */
export function parseCapacitySettings(
  env: Readonly<Record<string, string | undefined>>,
): CapacitySettings | undefined {
  const text = env.CAPACITY_GROUPS;
  if (text === undefined || text.trim() === '') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('CAPACITY_GROUPS must be a JSON array of instance groups');
  }
  if (!Array.isArray(raw)) throw new Error('CAPACITY_GROUPS must be a JSON array of instance groups');
  const groups = raw.map((item: unknown, index): CapacityGroupSettings => {
    const where = `CAPACITY_GROUPS[${index}]`;
    if (typeof item !== 'object' || item === null) throw new Error(`${where} must be an object`);
    const entry = item as Record<string, unknown>;
    const text = (key: string) => {
      const value = entry[key];
      if (typeof value !== 'string' || value === '')
        throw new Error(`${where}.${key} must be a non-empty string`);
      return value;
    };
    const count = (key: string, min: number, fallback?: number) => {
      const value = entry[key] ?? fallback;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min)
        throw new Error(`${where}.${key} must be an integer ≥ ${min}`);
      return value;
    };
    const profiles = entry.profiles;
    if (!Array.isArray(profiles) || profiles.length === 0 || !profiles.every((p) => typeof p === 'string'))
      throw new Error(`${where}.profiles must be a non-empty array of profile names`);
    const reuse = entry.reuseIdleMinutes;
    if (reuse !== undefined && (typeof reuse !== 'number' || !Number.isInteger(reuse) || reuse < 1))
      throw new Error(`${where}.reuseIdleMinutes must be an integer ≥ 1 (absent: one job per instance)`);
    const schedule = entry.hotSchedule;
    if (schedule !== undefined && typeof schedule !== 'string')
      throw new Error(`${where}.hotSchedule must be text such as "Mon-Fri 07:00-19:00"`);
    const standby = entry.standby ?? true;
    if (typeof standby !== 'boolean') throw new Error(`${where}.standby must be true or false`);
    const onInterruption = entry.onInterruption;
    if (onInterruption !== undefined && typeof onInterruption !== 'string')
      throw new Error(`${where}.onInterruption must name a group`);
    return {
      name: text('name'),
      autoScalingGroupName: text('autoScalingGroupName'),
      capacityProvider: text('capacityProvider'),
      profiles: profiles as string[],
      maxInstances: count('maxInstances', 1),
      hot: count('hot', 0, 0),
      hotSchedule: schedule === undefined ? undefined : parseHotSchedule(schedule),
      standby,
      warm: count('warm', 0, 0),
      reuseIdleMinutes: reuse as number | undefined,
      spot: entry.spot === true,
      onInterruption,
    };
  });
  const names = new Set(groups.map((group) => group.name));
  for (const group of groups) {
    if (group.onInterruption !== undefined && !names.has(group.onInterruption))
      throw new Error(
        `CAPACITY_GROUPS: ${group.name}.onInterruption names no group ("${group.onInterruption}")`,
      );
  }
  const number = (key: string, fallback: number, min: number) => {
    const value = env[key];
    if (value === undefined || value === '') return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new Error(`${key} must be an integer ≥ ${min}`);
    return parsed;
  };
  return {
    groups,
    maxInstances: number('CAPACITY_MAX_INSTANCES', DEFAULT_MAX_INSTANCES, 1),
    idleSeconds: number('CAPACITY_IDLE_SECONDS', DEFAULT_IDLE_SECONDS, 0),
  };
}
