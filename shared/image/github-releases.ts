import { createHash } from 'node:crypto';
import { boundedFetch } from '../call-timeout';
import type { RunnerReleases } from './image-ports';
import type { RawRelease } from './runner-release';

/** How long a runner package (about 200 MB) may take to download and hash. */
const DOWNLOAD_TIMEOUT_MS = 180_000;

/**
 * actions/runner's releases through Octokit, without credentials: the releases of a public
 * repository are public (an unauthenticated caller shares its address's 60 requests an hour; a
 * check makes one). `apiUrl` is github.com's API also for GitHub Enterprise Server: the runner's
 * releases are published there.
 */
export function createRunnerReleases(apiUrl: string): RunnerReleases {
  let octokit: Promise<import('@octokit/rest').Octokit> | undefined;
  const client = () => {
    octokit ??= import('@octokit/rest').then(
      ({ Octokit }) =>
        new Octokit({
          baseUrl: apiUrl,
          userAgent: 'ecs-github-runners',
          request: { fetch: boundedFetch },
          // A failed request is thrown, and its caller says what it means: no console line of Octokit's own.
          log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
        }),
    );
    return octokit;
  };
  const repo = { owner: 'actions', repo: 'runner' };
  return {
    async latest() {
      const { data } = await (await client()).rest.repos.getLatestRelease(repo);
      return data as RawRelease;
    },
    async recent(count) {
      const { data } = await (await client()).rest.repos.listReleases({ ...repo, per_page: count });
      return data as RawRelease[];
    },
    async sha256Of(url) {
      const response = await fetch(url, {
        redirect: 'follow',
        signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
      });
      if (!response.ok || response.body === null) throw new Error(`GET ${url} answered ${response.status}`);
      const hash = createHash('sha256');
      for await (const chunk of response.body) hash.update(chunk as Uint8Array);
      return hash.digest('hex');
    },
  };
}
