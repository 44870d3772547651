import type { OctokitProvider } from './octokit';
import { type GitHubRunners, type RegisteredRunner, RunnerExistsError, type RunnerScopeRef } from './ports';

const status = (error: unknown) => (error as { status?: number }).status;

/** Route parameters of the runner APIs for a scope. */
function scoped(scope: RunnerScopeRef): { prefix: string; params: Record<string, string> } {
  switch (scope.kind) {
    case 'org':
      return { prefix: '/orgs/{org}', params: { org: scope.org } };
    case 'repo':
      return { prefix: '/repos/{owner}/{repo}', params: { owner: scope.owner, repo: scope.repo } };
    case 'enterprise':
      return { prefix: '/enterprises/{enterprise}', params: { enterprise: scope.enterprise } };
  }
}

/**
 * Repository runners have no runner groups of their own: they register in the Default group, whose
 * id is 1 on every GitHub.
 */
const DEFAULT_RUNNER_GROUP_ID = 1;

/** The Octokit adapter of {@link GitHubRunners}. Runner group ids are cached per cold start. */
export function createGitHubRunners(octokits: OctokitProvider): GitHubRunners {
  const groups = new Map<string, number>();
  return {
    async runnerGroupId(scope, name, options, signal) {
      if (scope.kind === 'repo') return DEFAULT_RUNNER_GROUP_ID;
      const key = `${JSON.stringify(scope)}|${name.toLowerCase()}`;
      const cached = groups.get(key);
      if (cached !== undefined) return cached;
      const octokit = await octokits.forScope(scope);
      const { prefix, params } = scoped(scope);
      const all = await octokit.paginate(`GET ${prefix}/actions/runner-groups`, {
        ...params,
        per_page: 100,
        request: { signal },
      } as never);
      const list = (Array.isArray(all) ? all : []) as Array<{ id: number; name: string }>;
      let id = list.find((group) => group.name.toLowerCase() === name.toLowerCase())?.id;
      // A group named for one repository admits only it: its runners are no one else's to take.
      // One open to every repository is made only when the operator accepted a shared group.
      if (id === undefined && options.create && (options.repositoryId !== undefined || options.shared)) {
        const { data } = await octokit.request(`POST ${prefix}/actions/runner-groups`, {
          ...params,
          name,
          ...(options.repositoryId === undefined
            ? { visibility: 'all' }
            : { visibility: 'selected', selected_repository_ids: [options.repositoryId] }),
          allows_public_repositories: options.allowPublicRepositories,
          request: { signal },
        } as never);
        id = (data as { id: number }).id;
      }
      if (id !== undefined) groups.set(key, id);
      return id;
    },

    async generateJitConfig(scope, runner, signal) {
      const octokit = await octokits.forScope(scope);
      const { prefix, params } = scoped(scope);
      try {
        const { data } = await octokit.request(`POST ${prefix}/actions/runners/generate-jitconfig`, {
          ...params,
          name: runner.name,
          labels: [...runner.labels],
          runner_group_id: runner.runnerGroupId,
          request: { signal },
        } as never);
        const body = data as { runner: { id: number }; encoded_jit_config: string };
        return { runnerId: body.runner.id, encodedJitConfig: body.encoded_jit_config };
      } catch (error) {
        if (status(error) === 409) throw new RunnerExistsError(runner.name);
        throw error;
      }
    },

    async createRegistrationToken(scope, signal) {
      const octokit = await octokits.forScope(scope);
      const { prefix, params } = scoped(scope);
      const { data } = await octokit.request(`POST ${prefix}/actions/runners/registration-token`, {
        ...params,
        request: { signal },
      } as never);
      const body = data as { token: string; expires_at: string };
      return { token: body.token, expiresAt: body.expires_at };
    },

    async rerunJob(scope, owner, repo, jobId, signal) {
      const octokit = await octokits.forScope(scope);
      await octokit.rest.actions.reRunJobForWorkflowRun({
        owner,
        repo,
        job_id: jobId,
        ...(signal && { request: { signal } }),
      });
    },

    async findRunner(scope, name, signal) {
      const octokit = await octokits.forScope(scope);
      const { prefix, params } = scoped(scope);
      const { data } = await octokit.request(`GET ${prefix}/actions/runners`, {
        ...params,
        name,
        per_page: 100,
        request: { signal },
      } as never);
      type Listed = Omit<RegisteredRunner, 'labels'> & { labels: Array<{ name: string }> };
      const found = (data as { runners: Listed[] }).runners.find((runner) => runner.name === name);
      return found && { ...found, labels: found.labels.map((label) => label.name) };
    },

    async deleteRunner(scope, runnerId, signal) {
      const octokit = await octokits.forScope(scope);
      const { prefix, params } = scoped(scope);
      try {
        await octokit.request(`DELETE ${prefix}/actions/runners/{runner_id}`, {
          ...params,
          runner_id: runnerId,
          request: { signal },
        } as never);
      } catch (error) {
        if (status(error) !== 404) throw error;
      }
    },

    async listRunners(scope, signal) {
      const octokit = await octokits.forScope(scope);
      const { prefix, params } = scoped(scope);
      const all = await octokit.paginate(`GET ${prefix}/actions/runners`, {
        ...params,
        per_page: 100,
        request: { signal },
      } as never);
      return (
        all as unknown as Array<Omit<RegisteredRunner, 'labels'> & { labels: Array<{ name: string }> }>
      ).map((r) => ({
        id: r.id,
        name: r.name,
        status: r.status,
        busy: r.busy,
        labels: r.labels.map((label) => label.name),
      }));
    },

    async runJobs(scope, owner, repo, runId, signal) {
      const octokit = await octokits.forScope(scope);
      const jobs = await octokit.paginate(octokit.rest.actions.listJobsForWorkflowRun, {
        owner,
        repo,
        run_id: runId,
        filter: 'latest',
        per_page: 100,
        ...(signal && { request: { signal } }),
      });
      return jobs.map((job) => ({
        id: job.id,
        status: job.status,
        runnerName: job.runner_name ?? null,
        labels: job.labels,
      }));
    },

    async job(scope, owner, repo, jobId, signal) {
      const octokit = await octokits.forScope(scope);
      try {
        const { data } = await octokit.rest.actions.getJobForWorkflowRun({
          owner,
          repo,
          job_id: jobId,
          ...(signal && { request: { signal } }),
        });
        return { status: data.status, runnerName: data.runner_name ?? null };
      } catch (error) {
        if (status(error) === 404) return undefined;
        throw error;
      }
    },
  };
}
