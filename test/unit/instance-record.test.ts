import { describe, expect, it } from '@jest/globals';
import {
  type InstanceEvent,
  type InstanceRecord,
  instanceTransition,
} from '../../shared/capacity/instance-record';

const ID = 'i-0a1b2c3d4e5f60718';
const ARN = 'arn:aws:ecs:eu-west-1:123456789012:container-instance/runners/0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const NOW = Date.parse('2026-12-03T10:00:00Z');

/** Applies events in order; each refused one leaves the record as it was. */
function run(events: readonly InstanceEvent[], start?: InstanceRecord) {
  let record = start;
  const notes: string[] = [];
  for (const [index, event] of events.entries()) {
    const step = instanceTransition(record, event, ID, NOW + index);
    notes.push(step.note);
    if (step.next) record = step.next;
  }
  return { record, notes };
}

const claim = (jobId: number, reuse = false): InstanceEvent => ({
  type: 'claimed',
  jobId,
  attempt: 1,
  placement: 0,
  reuse,
});
const registered: InstanceEvent = { type: 'registered', group: 'default', containerInstanceArn: ARN };

describe('the instance lifecycle', () => {
  it('goes launching → ready → claimed → retiring → closed, one job in pristine mode', () => {
    const { record } = run([
      { type: 'launched', group: 'default', origin: 'launch' },
      registered,
      claim(1),
      { type: 'task-placed', jobId: 1, taskArn: 'task-1' },
      { type: 'task-stopped', taskArn: 'task-1', reuse: false },
      { type: 'terminate-sent' },
      { type: 'gone' },
    ]);
    expect(record).toMatchObject({
      state: 'retiring',
      open: false,
      jobs: 1,
      retireReason: 'its job task stopped',
    });
  });

  it('never lets two jobs hold one instance', () => {
    const { record, notes } = run([registered, claim(1), claim(2)]);
    expect(record?.claim?.jobId).toBe(1);
    expect(notes[2]).toBe('not free: claimed');
  });

  it('never hands an instance a task ran on to the next job in pristine mode', () => {
    const { record } = run([
      registered,
      claim(1),
      { type: 'task-placed', jobId: 1, taskArn: 't' },
      { type: 'released', jobId: 1, attempt: 1, reason: 'x' },
      claim(2),
    ]);
    expect(record?.claim?.jobId).toBe(1);
  });

  it('with reuse, frees the instance when the task stops and counts its jobs', () => {
    const { record } = run([
      registered,
      claim(1, true),
      { type: 'task-placed', jobId: 1, taskArn: 't1' },
      { type: 'task-stopped', taskArn: 't1', reuse: true },
      claim(2, true),
    ]);
    expect(record).toMatchObject({ state: 'claimed', jobs: 1, claim: expect.objectContaining({ jobId: 2 }) });
  });

  it('gives back an instance no task ran on, still pristine', () => {
    const { record } = run([
      registered,
      claim(1),
      { type: 'released', jobId: 1, attempt: 1, reason: 'lease lost' },
    ]);
    expect(record).toMatchObject({ state: 'ready', jobs: 0, claim: undefined });
  });

  it('takes the registration alone as the instance known (its launch event lost), and a repeated one as nothing', () => {
    const { record, notes } = run([registered, registered]);
    expect(record?.state).toBe('ready');
    expect(notes[1]).toBe('already ready');
  });

  it('counts a stop heard before the placement as a job run, so the instance retires', () => {
    const { record } = run([registered, claim(1), { type: 'task-stopped', taskArn: 't', reuse: false }]);
    expect(record).toMatchObject({ state: 'retiring', jobs: 1 });
  });

  it('does not retire a claimed instance for idleness (ifFree), and ignores events after it is gone', () => {
    const { record, notes } = run([registered, claim(1), { type: 'retire', reason: 'idle', ifFree: true }]);
    expect(record?.state).toBe('claimed');
    expect(notes[2]).toBe('a job holds it');
    const gone = run([registered, { type: 'gone' }, registered, claim(3)]);
    expect(gone.notes.slice(2)).toEqual(['the instance is gone', 'the instance is gone']);
  });
});

describe('a standby on a free instance', () => {
  const KEY = 'runner-config/0123456789abcdef0123456789abcdef.env';
  const launched: InstanceEvent = { type: 'launched', group: 'default', origin: 'launch' };
  const starting: InstanceEvent = { type: 'standby-starting', configKey: KEY, until: NOW + 600_000 };
  const started: InstanceEvent = { type: 'standby-started', configKey: KEY, taskArn: 'standby-1' };

  it('bars a claim while its RunTask is in flight, and hands the claim the standby once it runs', () => {
    const inFlight = run([launched, registered, starting, claim(1)]);
    const running = run([launched, registered, starting, started, claim(1)]);
    expect({
      inFlight: [inFlight.record?.state, inFlight.notes.at(-1)],
      running: [running.record?.state, running.record?.standby?.taskArn, running.record?.claim?.jobId],
    }).toEqual({
      inFlight: ['ready', "its standby's RunTask is in flight"],
      running: ['claimed', 'standby-1', 1],
    });
  });

  it('bars a claim in the last 30 s of the standby, and frees the instance without it once it ended', () => {
    const near = { type: 'standby-starting', configKey: KEY, until: NOW + 20_000 } as const;
    const barred = run([launched, registered, near, started, claim(1)]);
    const ended = run([
      launched,
      registered,
      near,
      started,
      { type: 'standby-ended', configKey: KEY, reason: 'past its time', failed: false },
      claim(1),
    ]);
    expect({
      barred: [barred.record?.state, barred.notes.at(-1)],
      ended: [ended.record?.state, ended.record?.standby, ended.record?.standbyFailures],
    }).toEqual({
      barred: ['ready', 'its standby is about to stop'],
      ended: ['claimed', undefined, undefined],
    });
  });

  it('starts no standby on an instance that ran a job, counts failures, and ignores the end of a standby a job holds', () => {
    const used = run([
      launched,
      registered,
      { type: 'standby-starting', configKey: KEY, until: NOW + 600_000 },
      started,
      claim(1),
      { type: 'task-placed', jobId: 1, taskArn: 'standby-1' },
      { type: 'standby-ended', configKey: KEY, reason: 'its task stopped', failed: true },
    ]);
    const failed = run([
      launched,
      registered,
      starting,
      { type: 'standby-ended', configKey: KEY, reason: 'RESOURCE:MEMORY', failed: true },
    ]);
    const reused = { ...(failed.record as InstanceRecord), jobs: 1 };
    expect({
      heldByAJob: [used.record?.state, used.record?.standby?.taskArn, used.notes.at(-1)],
      failures: failed.record?.standbyFailures,
      onAUsedInstance: instanceTransition(reused, starting, ID, NOW).note,
    }).toEqual({
      heldByAJob: ['claimed', 'standby-1', "the standby is a job's task: claimed"],
      failures: 1,
      onAUsedInstance: 'not a free pristine instance: ready',
    });
  });
});
