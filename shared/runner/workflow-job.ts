import { BadRequestError } from '../errors';

/** The parts of a `workflow_job` delivery the system uses, checked and typed. */
export interface WorkflowJobEvent {
  readonly action: string;
  readonly job: {
    readonly id: number;
    readonly runId: number;
    readonly runAttempt: number;
    readonly name: string;
    readonly labels: readonly string[];
    readonly status: string;
    readonly createdAt: string | undefined;
    /** When a runner started it (`in_progress`, `completed`). */
    readonly startedAt?: string | undefined;
    /** The runner that has it (`in_progress`, `completed`): the definitive word on who runs it. */
    readonly runnerName?: string | undefined;
    readonly conclusion?: string | undefined;
  };
  readonly repository: {
    readonly name: string;
    readonly owner: string;
    readonly fullName: string;
    /** The repository id (to restrict a runner group to it); absent in messages of older versions. */
    readonly id?: number | undefined;
    /** `repository.owner.type`: `Organization` or `User`. */
    readonly ownerType?: string | undefined;
    /**
     * `repository.visibility`, else `private` or `public` from `repository.private` (older
     * payloads have no visibility); undefined when the delivery says neither.
     */
    readonly visibility?: RepositoryVisibility | undefined;
  };
  /** `organization.login`; absent for a user-owned repository. */
  readonly organization: string | undefined;
  /** `enterprise.slug`, when the organisation belongs to an enterprise. */
  readonly enterprise: string | undefined;
}

/** Who can read a repository: anyone, its enterprise's members, or only those given access. */
export type RepositoryVisibility = 'public' | 'internal' | 'private';

const VISIBILITIES: readonly RepositoryVisibility[] = ['public', 'internal', 'private'];

/** A repository's visibility as a delivery states it: `visibility` first, then the `private` flag. */
function visibilityOf(repository: Record<string, unknown>): RepositoryVisibility | undefined {
  const stated = VISIBILITIES.find((visibility) => visibility === repository.visibility);
  if (stated !== undefined) return stated;
  if (repository.private === true) return 'private';
  if (repository.private === false) return 'public';
  return undefined;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks a parsed `workflow_job` payload and returns the fields we use.
 * @throws BadRequestError naming every field that is missing or of the wrong type.
 */
export function parseWorkflowJob(payload: unknown): WorkflowJobEvent {
  if (!isObject(payload)) throw new BadRequestError('the body must be a JSON object');
  const { workflow_job: job, repository } = payload;
  const missing: string[] = [];
  if (!isObject(job)) missing.push('workflow_job');
  if (!isObject(repository)) missing.push('repository');
  if (!isObject(job) || !isObject(repository)) {
    throw new BadRequestError(`a workflow_job delivery needs ${missing.join(' and ')}; this body has none`);
  }
  const problems: string[] = [];
  const field = <T>(object: Json, path: string, key: string, check: (v: unknown) => v is T, kind: string) => {
    const value = object[key];
    if (!check(value)) {
      problems.push(`${path}.${key} (${kind})`);
      return undefined;
    }
    return value;
  };
  const isString = (v: unknown): v is string => typeof v === 'string';
  const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const isLabels = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

  const action = field(payload, 'payload', 'action', isString, 'string');
  const id = field(job, 'workflow_job', 'id', isId, 'integer');
  const runId = field(job, 'workflow_job', 'run_id', isId, 'integer');
  // GitHub Enterprise Server 3.x payloads can lack run_attempt; the first attempt is 1.
  const runAttempt =
    job.run_attempt === undefined ? 1 : field(job, 'workflow_job', 'run_attempt', isId, 'integer');
  const labels = field(job, 'workflow_job', 'labels', isLabels, 'array of strings');
  const name = isString(job.name) ? job.name : '';
  const status = isString(job.status) ? job.status : '';
  const repoName = field(repository, 'repository', 'name', isString, 'string');
  const owner = isObject(repository.owner) ? repository.owner : {};
  const ownerLogin = field(owner, 'repository.owner', 'login', isString, 'string');
  const organization = isObject(payload.organization) ? payload.organization.login : undefined;
  if (organization !== undefined && !isString(organization)) problems.push('organization.login (string)');
  const enterprise = isObject(payload.enterprise) ? payload.enterprise.slug : undefined;
  const optionalString = (value: unknown) => (isString(value) && value !== '' ? value : undefined);

  if (problems.length > 0) {
    throw new BadRequestError(
      `the workflow_job delivery is missing or has malformed: ${problems.join(', ')}`,
    );
  }
  return {
    action: action as string,
    job: {
      id: id as number,
      runId: runId as number,
      runAttempt: runAttempt as number,
      name,
      labels: labels as string[],
      status,
      createdAt: isString(job.created_at) ? job.created_at : undefined,
      startedAt: optionalString(job.started_at),
      runnerName: optionalString(job.runner_name),
      conclusion: optionalString(job.conclusion),
    },
    repository: {
      name: repoName as string,
      owner: ownerLogin as string,
      fullName: `${ownerLogin}/${repoName}`,
      id: isId(repository.id) ? repository.id : undefined,
      ownerType: optionalString(owner.type),
      visibility: visibilityOf(repository),
    },
    organization: organization as string | undefined,
    enterprise: isString(enterprise) ? enterprise : undefined,
  };
}
