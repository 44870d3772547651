import type { GitHubRunners } from './ports';

/**
 * The GitHub of a dry run: says what it would register and answers like GitHub, without a call,
 * so `npm start` never registers a real runner (set DRY_RUN_REGISTER=true to register for real).
 */
export function createDryRunGitHub(print: (line: string) => void): GitHubRunners {
  let nextId = 1;
  const scopeText = (scope: Parameters<GitHubRunners['listRunners']>[0]) =>
    scope.kind === 'org'
      ? `organization ${scope.org}`
      : scope.kind === 'repo'
        ? `repository ${scope.owner}/${scope.repo}`
        : `enterprise ${scope.enterprise}`;
  return {
    async runnerGroupId(_scope, _name) {
      return 1;
    },
    async generateJitConfig(scope, runner) {
      const runnerId = nextId++;
      print(
        `[dry run] GitHub generate-jitconfig in ${scopeText(scope)}: runner ${runner.name}, labels [${runner.labels.join(', ')}], group ${runner.runnerGroupId}`,
      );
      return { runnerId, encodedJitConfig: Buffer.from(`dry-run-jit-config-${runnerId}`).toString('base64') };
    },
    async createRegistrationToken(scope) {
      print(`[dry run] GitHub registration-token in ${scopeText(scope)}`);
      return {
        token: 'dry-run-registration-token',
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      };
    },
    async rerunJob(_scope, owner, repo, jobId) {
      print(`[dry run] GitHub re-run of job ${jobId} in ${owner}/${repo}`);
    },
    async findRunner() {
      return undefined;
    },
    async deleteRunner() {},
    async job() {
      return undefined;
    },
    async runJobs() {
      return [];
    },
    async listRunners() {
      return [];
    },
  };
}
