/** Where a runner registers: an organisation, a repository or an enterprise. */
export type RunnerScopeRef =
  | { readonly kind: 'org'; readonly org: string }
  | { readonly kind: 'repo'; readonly owner: string; readonly repo: string }
  | { readonly kind: 'enterprise'; readonly enterprise: string };

/** One entry of a RunTask capacity provider strategy. */
export interface CapacityProviderItem {
  readonly capacityProvider: string;
  readonly weight?: number;
  readonly base?: number;
}

/** Where and how a job's runner task runs: one runner profile's ECS target. */
export interface EcsTarget {
  /** The profile's name (`default` without `RUNNER_PROFILES`). */
  readonly profile: string;
  readonly cluster: string;
  readonly taskDefinition: string;
  readonly containerName: string;
  /** Undefined: RunTask's `launchType: EC2`. */
  readonly capacityProviderStrategy: readonly CapacityProviderItem[] | undefined;
  /** Task-level overrides (cpu units, MiB); undefined: the task definition's. */
  readonly cpu: number | undefined;
  readonly memory: number | undefined;
  /** RunTask placement constraint `distinctInstance`: no other runner task on the instance. */
  readonly distinctInstance: boolean;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  readonly assignPublicIp: boolean;
}

/** The runner one job gets: everything needed to register and start it, all values already safe. */
export interface RunnerPlan {
  readonly jobId: number;
  readonly runId: number;
  readonly runAttempt: number;
  readonly repository: string;
  /** The repository id, when the delivery carried it (to restrict a runner group we create). */
  readonly repositoryId: number | undefined;
  readonly labels: readonly string[];
  /**
   * Whether the labels name the run (`<wf_job_run_id>`): then only jobs of its run can take the
   * runner, and the run's job list says for sure whether it runs one.
   */
  readonly labelsBindRun: boolean;
  /** The runner name of the first launch attempt; later attempts add a suffix ({@link runnerNameFor}). */
  readonly name: string;
  readonly group: string;
  /** Whether the group's name is made for one repository (it may then be restricted to it). */
  readonly groupPerRepository: boolean;
  /** Where the runner registers. */
  readonly scopeRef: RunnerScopeRef;
  /** The scope variable of the task's contract: ORGANIZATION, REPOSITORY or ENTERPRISE. */
  readonly scopeEnv: { readonly name: string; readonly value: string };
  /** Seconds the runner waits for a job before it exits (`RUNNER_IDLE_TIMEOUT`). */
  readonly idleTimeoutSeconds: number;
  readonly target: EcsTarget;
}
