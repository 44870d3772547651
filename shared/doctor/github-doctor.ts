import type { GitHubCredentialSetting } from '../config';
import { createGitHubRunners } from '../github/github-runners';
import { createHookDeliveries } from '../github/hook-deliveries';
import { createOctokitProvider } from '../github/octokit';
import type { DoctorGitHub } from './doctor-ports';

/** The Octokit adapter of the doctor's GitHub port, with the functions' own GitHub adapters. */
export function createGitHubDoctor(
  apiUrl: string,
  credentials: GitHubCredentialSetting,
  secretValue: string | undefined,
): DoctorGitHub {
  const octokits = createOctokitProvider({
    settings: { credentials, apiUrl },
    // The credentials secret was read once already; the doctor does not read it again.
    ...(secretValue !== undefined && { fetchSecret: async () => secretValue }),
    // An operator at a terminal can wait out a short rate limit.
    maxRateLimitWaitSeconds: 30,
  });
  return {
    runners: createGitHubRunners(octokits),
    deliveries: (hook) => createHookDeliveries(octokits, hook),
    credentialsKind: () => octokits.credentialsKind(),
    async installation(target) {
      const app = await octokits.forApp();
      const { data } =
        'org' in target
          ? await app.rest.apps.getOrgInstallation({ org: target.org })
          : await app.rest.apps.getRepoInstallation(target);
      return {
        id: data.id,
        permissions: Object.fromEntries(
          Object.entries(data.permissions ?? {}).filter(([, access]) => typeof access === 'string'),
        ) as Record<string, string>,
        repositorySelection: data.repository_selection,
      };
    },
  };
}
