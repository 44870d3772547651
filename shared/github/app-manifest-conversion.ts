import { boundedFetch } from '../call-timeout';

/** The GitHub App the manifest flow made, as GitHub's conversion answers it: its key included. */
export interface CreatedApp {
  readonly id: number;
  readonly slug: string;
  readonly name: string;
  /** The App's page on GitHub; `${htmlUrl}/installations/new` installs it. */
  readonly htmlUrl: string;
  readonly owner: string;
  readonly ownerType: 'Organization' | 'User';
  /** PEM. */
  readonly privateKey: string;
  /** The secret GitHub signs the App's webhook deliveries with. */
  readonly webhookSecret: string;
}

/** The last step of GitHub's App manifest flow: the code GitHub redirected back with, for the App. */
export interface ManifestConversion {
  convert(code: string): Promise<CreatedApp>;
}

/** GitHub refused the code: unknown, used, or older than its hour. */
export class ManifestCodeError extends Error {
  constructor(readonly status: number) {
    super(
      `GitHub refused the manifest code (HTTP ${status}): a code is valid once, for an hour. Start the setup again`,
    );
    this.name = 'ManifestCodeError';
  }
}

/**
 * `POST /app-manifests/{code}/conversions` through Octokit, without credentials: the code is the
 * credential. `apiUrl` is GitHub's API (`https://api.github.com`, or a GitHub Enterprise Server's).
 */
export function createManifestConversion(apiUrl: string): ManifestConversion {
  return {
    async convert(code) {
      const { Octokit } = await import('@octokit/rest');
      const octokit = new Octokit({
        baseUrl: apiUrl,
        userAgent: 'ecs-github-runners',
        request: { fetch: boundedFetch },
        log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      });
      let data: Awaited<ReturnType<typeof octokit.rest.apps.createFromManifest>>['data'];
      try {
        ({ data } = await octokit.rest.apps.createFromManifest({ code }));
      } catch (error) {
        const status = (error as { status?: unknown }).status;
        if (status === 404 || status === 422) throw new ManifestCodeError(status);
        throw error;
      }
      const owner = (data.owner ?? {}) as { login?: string; type?: string };
      if (data.webhook_secret === null || data.webhook_secret === undefined)
        throw new Error('GitHub made the App without a webhook secret: its webhook would be unsigned');
      return {
        id: data.id,
        slug: data.slug ?? String(data.id),
        name: data.name,
        htmlUrl: data.html_url,
        owner: owner.login ?? '',
        ownerType: owner.type === 'User' ? 'User' : 'Organization',
        privateKey: data.pem,
        webhookSecret: data.webhook_secret,
      };
    },
  };
}
