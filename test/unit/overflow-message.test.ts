import { describe, expect, it } from '@jest/globals';
import { parseOverflowMessage } from '../../shared/queue/overflow-queue';
import { parseWorkflowJob } from '../../shared/runner/workflow-job';
import { type JobVariation, jobOfOurs } from '../fixtures/payloads';

const roundTrip = (variation: JobVariation) => {
  const job = parseWorkflowJob(jobOfOurs(variation));
  const body = JSON.stringify({ version: 1, deliveryId: 'd-1', job, reason: 'r', enqueuedAt: 'now' });
  return { job, read: parseOverflowMessage(body).job };
};

describe('parseOverflowMessage', () => {
  it("keeps the repository's id, owner type and visibility, which decide whether and where the job runs", () => {
    const { job, read } = roundTrip({});
    expect(read.repository).toEqual(job.repository);
    expect(read.repository).toMatchObject({ visibility: 'private', ownerType: 'Organization' });
    expect(read.repository.id).toEqual(expect.any(Number));
  });

  it('keeps a public or internal visibility as it is, never turning it private', () => {
    expect(roundTrip({ visibility: 'public' }).read.repository.visibility).toBe('public');
    expect(roundTrip({ visibility: 'internal' }).read.repository.visibility).toBe('internal');
  });

  it('reads a message without a visibility as a repository not said to be private', () => {
    expect(roundTrip({ visibility: 'unstated' }).read.repository.visibility).toBeUndefined();
  });
});
