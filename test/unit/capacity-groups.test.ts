import { describe, expect, it } from '@jest/globals';
import {
  type CapacityGroupSettings,
  hotPoolAt,
  parseCapacitySettings,
  parseHotSchedule,
} from '../../shared/capacity/capacity-groups';

const GROUP = {
  name: 'default',
  autoScalingGroupName: 'runners-DefaultInstancesASG-1A2B3C4D5E6F',
  capacityProvider: 'runners-DefaultCapacityProvider-7G8H9I0J',
  profiles: ['default'],
  maxInstances: 20,
};

describe('CAPACITY_GROUPS', () => {
  it('reads a group with its defaults: pristine, no pools', () => {
    expect(parseCapacitySettings({ CAPACITY_GROUPS: JSON.stringify([GROUP]) })).toEqual({
      groups: [
        {
          ...GROUP,
          hot: 0,
          hotSchedule: undefined,
          warm: 0,
          standby: true,
          reuseIdleMinutes: undefined,
          spot: false,
          onInterruption: undefined,
        },
      ],
      maxInstances: 200,
      idleSeconds: 120,
    });
  });

  it('is absent without the variable: ECS managed scaling places the tasks', () => {
    expect(parseCapacitySettings({})).toBeUndefined();
  });

  it.each([
    ['not JSON', '{', 'must be a JSON array'],
    [
      'a group without profiles',
      JSON.stringify([{ ...GROUP, profiles: [] }]),
      'profiles must be a non-empty',
    ],
    ['a negative hot pool', JSON.stringify([{ ...GROUP, hot: -1 }]), 'hot must be an integer ≥ 0'],
    ['reuse of 0 minutes', JSON.stringify([{ ...GROUP, reuseIdleMinutes: 0 }]), 'reuseIdleMinutes must be'],
    ['an unknown fallback group', JSON.stringify([{ ...GROUP, onInterruption: 'nope' }]), 'names no group'],
  ])('refuses %s, saying what to fix', (_, value, message) => {
    expect(() => parseCapacitySettings({ CAPACITY_GROUPS: value })).toThrow(message);
  });

  it('refuses a ceiling that is no positive integer', () => {
    expect(() =>
      parseCapacitySettings({ CAPACITY_GROUPS: JSON.stringify([GROUP]), CAPACITY_MAX_INSTANCES: '0' }),
    ).toThrow('CAPACITY_MAX_INSTANCES must be an integer ≥ 1');
  });
});

describe('the hot pool schedule', () => {
  const group = (schedule: string): CapacityGroupSettings => ({
    ...GROUP,
    hot: 3,
    hotSchedule: parseHotSchedule(schedule),
    warm: 0,
    standby: true,
    spot: false,
  });

  it('keeps the pool in working hours only (UTC)', () => {
    const workdays = group('Mon-Fri 07:00-19:00');
    // 2026-12-03 is a Thursday.
    expect(hotPoolAt(workdays, Date.parse('2026-12-03T06:59:00Z'))).toBe(0);
    expect(hotPoolAt(workdays, Date.parse('2026-12-03T07:00:00Z'))).toBe(3);
    expect(hotPoolAt(workdays, Date.parse('2026-12-03T18:59:59Z'))).toBe(3);
    expect(hotPoolAt(workdays, Date.parse('2026-12-03T19:00:00Z'))).toBe(0);
    expect(hotPoolAt(workdays, Date.parse('2026-12-05T12:00:00Z'))).toBe(0);
  });

  it('reads ranges across the week end and comma lists', () => {
    expect(parseHotSchedule('Sat-Mon 00:00-24:00').days).toEqual([1, 6, 7]);
    expect(parseHotSchedule('Tue,Thu 09:30-10:00')).toEqual({ days: [2, 4], from: 570, to: 600 });
  });

  it.each(['weekdays 9-5', 'Mon-Fri 19:00-07:00', 'Mon-Fry 07:00-19:00'])('refuses "%s"', (text) => {
    expect(() => parseHotSchedule(text)).toThrow(/hotSchedule/);
  });
});
