import { boundedFetch } from '../call-timeout';
import { hookRangesOf } from './hook-ranges';

/**
 * GitHub's webhook source ranges: the `hooks` list of `GET {apiUrl}/meta`, which needs no
 * credentials (GitHub's "Get GitHub meta information"; unauthenticated calls share the caller's
 * address's rate limit of 60 an hour, and the refresh makes one).
 */
export async function fetchHookRanges(apiUrl: string): Promise<string[]> {
  const response = await boundedFetch(`${apiUrl}/meta`, {
    headers: {
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'ecs-github-runners',
    },
  });
  if (!response.ok) throw new Error(`GitHub's GET /meta answered ${response.status}`);
  return hookRangesOf(await response.json());
}
