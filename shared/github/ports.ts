import type { RunnerScopeRef } from '../runner/runner-plan';

export type { RunnerScopeRef };

/** A one-use runner registration made by `generate-jitconfig`. */
export interface JitConfig {
  readonly runnerId: number;
  readonly encodedJitConfig: string;
}

/**
 * A registration token (`config.sh --token`): it registers runners in its scope until `expiresAt`
 * (GitHub: one hour), and reads nothing.
 */
export interface RegistrationToken {
  readonly token: string;
  /** ISO 8601, as GitHub answers it. */
  readonly expiresAt: string;
}

/** A job as GitHub reports it: `queued`, `in_progress`, `completed`, ...; the runner that has it. */
export interface JobState {
  readonly status: string;
  readonly runnerName: string | null;
}

/** A job of a workflow run, with the labels it asks for. */
export interface RunJob extends JobState {
  readonly id: number;
  readonly labels: readonly string[];
}

/** A registered self-hosted runner, as GitHub lists it. */
export interface RegisteredRunner {
  readonly id: number;
  readonly name: string;
  readonly status: string;
  readonly busy: boolean;
  readonly labels: readonly string[];
}

/** The port to GitHub's self-hosted runner and job APIs. */
export interface GitHubRunners {
  /** The id of the runner group named `name`, creating it when asked; undefined when it does not exist. */
  runnerGroupId(
    scope: RunnerScopeRef,
    name: string,
    options: {
      readonly create: boolean;
      readonly allowPublicRepositories: boolean;
      /** A group we create admits only this repository (`visibility: selected`). */
      readonly repositoryId?: number | undefined;
      /**
       * Without `repositoryId`, a group we create admits every repository (`visibility: all`):
       * only when the operator said so (`RUNNER_GROUP_SHARED`). Neither: no group is created.
       */
      readonly shared?: boolean;
    },
    signal?: AbortSignal,
  ): Promise<number | undefined>;
  /** Registers a runner for one job and returns its JIT config. Throws {@link RunnerExistsError} on a name taken. */
  generateJitConfig(
    scope: RunnerScopeRef,
    runner: { readonly name: string; readonly labels: readonly string[]; readonly runnerGroupId: number },
    signal?: AbortSignal,
  ): Promise<JitConfig>;
  /** Mints a registration token of the scope (token registration: the runner registers itself). */
  createRegistrationToken(scope: RunnerScopeRef, signal?: AbortSignal): Promise<RegistrationToken>;
  /** Re-runs one job of a finished workflow run (and the jobs that depend on it): GitHub's re-run-a-job API. */
  rerunJob(
    scope: RunnerScopeRef,
    owner: string,
    repo: string,
    jobId: number,
    signal?: AbortSignal,
  ): Promise<void>;
  findRunner(
    scope: RunnerScopeRef,
    name: string,
    signal?: AbortSignal,
  ): Promise<RegisteredRunner | undefined>;
  /** Deletes a registration; an already deleted runner is not an error. */
  deleteRunner(scope: RunnerScopeRef, runnerId: number, signal?: AbortSignal): Promise<void>;
  /**
   * A job's state, or undefined when GitHub does not know it. `scope` picks the credentials (a
   * GitHub App's installation).
   */
  job(
    scope: RunnerScopeRef,
    owner: string,
    repo: string,
    jobId: number,
    signal?: AbortSignal,
  ): Promise<JobState | undefined>;
  /** The jobs of a workflow run's latest attempt. */
  runJobs(
    scope: RunnerScopeRef,
    owner: string,
    repo: string,
    runId: number,
    signal?: AbortSignal,
  ): Promise<RunJob[]>;
  /** Every runner registered in a scope. */
  listRunners(scope: RunnerScopeRef, signal?: AbortSignal): Promise<RegisteredRunner[]>;
}

/** GitHub answered 409: a runner with this name is already registered. */
export class RunnerExistsError extends Error {
  constructor(readonly runnerName: string) {
    super(`a runner named ${runnerName} is already registered`);
    this.name = 'RunnerExistsError';
  }
}
