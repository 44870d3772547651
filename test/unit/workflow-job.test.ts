import { describe, expect, it } from '@jest/globals';
import { BadRequestError } from '../../shared/errors';
import { parseWorkflowJob } from '../../shared/runner/workflow-job';
import { jobOfOurs, realWorkflowJob } from '../fixtures/payloads';

describe('parseWorkflowJob', () => {
  it('reads the fields of a real queued payload', () => {
    const event = parseWorkflowJob(realWorkflowJob('queued', 'self-hosted'));
    expect(event).toEqual({
      action: 'queued',
      job: expect.objectContaining({
        id: 12877621891,
        runId: 4747967848,
        runAttempt: 1,
        labels: ['self-hosted', 'k8s'],
      }),
      repository: {
        name: 'elastic-machines-testing',
        owner: 'lineville',
        fullName: 'lineville/elastic-machines-testing',
        id: 591427149,
        ownerType: 'User',
        visibility: 'public',
      },
      organization: undefined,
      enterprise: undefined,
    });
  });

  it('reads the organisation', () => {
    expect(parseWorkflowJob(jobOfOurs()).organization).toBe('octo-org');
  });

  it('takes attempt 1 when a payload has no run_attempt', () => {
    const payload = realWorkflowJob('in_progress', 'gpu');
    expect(payload.workflow_job.run_attempt).toBeUndefined();
    expect(parseWorkflowJob(payload).job.runAttempt).toBe(1);
  });

  it('reads a private repository from "private" when the payload has no visibility', () => {
    const payload = realWorkflowJob('in_progress', 'gpu');
    expect(payload.repository.visibility).toBeUndefined();
    expect(payload.repository.private).toBe(true);
    expect(parseWorkflowJob(payload).repository.visibility).toBe('private');
  });

  it('reads an internal repository from its visibility, although GitHub marks it private', () => {
    expect(parseWorkflowJob(jobOfOurs({ visibility: 'internal' })).repository.visibility).toBe('internal');
  });

  it('leaves the visibility unknown when the payload states none', () => {
    expect(parseWorkflowJob(jobOfOurs({ visibility: 'unstated' })).repository.visibility).toBeUndefined();
  });

  it('says that workflow_job and repository are missing', () => {
    expect(() => parseWorkflowJob({ action: 'queued' })).toThrow(
      new BadRequestError('a workflow_job delivery needs workflow_job and repository; this body has none'),
    );
  });

  it('names each malformed field', () => {
    const payload = jobOfOurs();
    payload.workflow_job.id = 'one';
    payload.workflow_job.labels = 'self-hosted';
    expect(() => parseWorkflowJob(payload)).toThrow(
      /workflow_job\.id \(integer\), workflow_job\.labels \(array of strings\)/,
    );
  });

  it('refuses a body that is not an object', () => {
    expect(() => parseWorkflowJob([1, 2])).toThrow(BadRequestError);
  });
});
