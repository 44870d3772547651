import type { Octokit } from '@octokit/rest';
import { boundedFetch } from '../call-timeout';
import type { GitHubSettings } from '../config';
import type { FetchSecret } from '../secrets/webhook-secrets';
import { fetchSecretValue, SECRET_MAX_AGE_SECONDS } from '../secrets/webhook-secrets';
import { type GitHubCredentials, parseGitHubCredentials } from './credentials';
import type { RunnerScopeRef } from './ports';

export type { Octokit };

/** Statuses that another try cannot change (plugin-retry's list, plus 409 Conflict). */
const DO_NOT_RETRY = [400, 401, 403, 404, 409, 410, 422, 451];

/** Gives the Octokit for a scope (a GitHub App finds its installation there) and the App's own client. */
export interface OctokitProvider {
  forScope(scope: RunnerScopeRef): Promise<Octokit>;
  /** The App's JWT client, for `/app/...` routes; the token client when the credentials are a token. */
  forApp(): Promise<Octokit>;
  /** Whether the credentials are a token or a GitHub App (read from the secret on first use). */
  credentialsKind(): Promise<GitHubCredentials['kind']>;
}

export interface OctokitOptions {
  readonly settings: GitHubSettings;
  readonly fetchSecret?: FetchSecret;
  /** Longest rate-limit wait worth taking: short for the webhook (GitHub's 10 s), longer for sweeps. */
  readonly maxRateLimitWaitSeconds?: number;
  readonly log?: { warn(message: string): void };
  /** Called once per HTTP request to GitHub (retries and token exchanges included): the reconciler's budget counts them. */
  readonly onRequest?: () => void;
}

/**
 * Builds Octokit clients on first use (`@octokit/rest` with retry and throttling plugins; a GitHub
 * App through `@octokit/auth-app`). Credentials are read on first use, again after their max age, and never logged;
 * App installations are looked up per organisation or repository and cached.
 */
export function createOctokitProvider(options: OctokitOptions): OctokitProvider {
  const { settings } = options;
  const maxWait = options.maxRateLimitWaitSeconds ?? 2;
  let base:
    | Promise<{
        make: (auth: Record<string, unknown>) => Octokit;
        credentials: GitHubCredentials;
        app: Octokit;
        /** The one client of a fixed installation: it keeps its installation token between calls. */
        fixed: Octokit | undefined;
      }>
    | undefined;
  const installations = new Map<string, Promise<Octokit>>();
  let loadedAt = 0;
  let credentialsText: string | undefined;

  // A failed read is retried on the next call; a good one is read again after the secret's max
  // age (a rotated token or key reaches warm functions), keeping the clients if it did not change.
  const load = () => {
    if (
      base !== undefined &&
      Date.now() - loadedAt > SECRET_MAX_AGE_SECONDS * 1000 &&
      settings.credentials.kind !== 'token'
    ) {
      const arn = settings.credentials.arn;
      const previous = base;
      base = (options.fetchSecret ?? fetchSecretValue)(arn, SECRET_MAX_AGE_SECONDS).then(
        (text) => {
          loadedAt = Date.now();
          if (text === credentialsText) return previous;
          installations.clear();
          return build(text);
        },
        () => previous,
      );
    }
    base ??= (async () => {
      const text =
        settings.credentials.kind === 'token'
          ? undefined
          : await (options.fetchSecret ?? fetchSecretValue)(settings.credentials.arn, SECRET_MAX_AGE_SECONDS);
      loadedAt = Date.now();
      return build(text);
    })();
    base.catch(() => {
      base = undefined;
    });
    return base;
  };

  const countedFetch: typeof boundedFetch = options.onRequest
    ? (input, init) => {
        options.onRequest?.();
        return boundedFetch(input, init);
      }
    : boundedFetch;
  const build = async (secretText: string | undefined) => {
    credentialsText = secretText;
    {
      const [{ Octokit: Rest }, { retry }, { throttling }, { createAppAuth }, { default: Bottleneck }] =
        await Promise.all([
          import('@octokit/rest'),
          import('@octokit/plugin-retry'),
          import('@octokit/plugin-throttling'),
          import('@octokit/auth-app'),
          import('bottleneck/light.js'),
        ]);
      // plugin-throttling spaces writes 1 s apart per process, GitHub's advice for content creation.
      // Registering a runner creates no content, and a warm webhook must not wait a second for it.
      const write = maxWait <= 2 ? { write: new Bottleneck.Group({ maxConcurrent: 10, minTime: 0 }) } : {};
      const credentials =
        settings.credentials.kind === 'token'
          ? ({ kind: 'token', token: settings.credentials.token } as const)
          : parseGitHubCredentials(secretText ?? '');
      const Client = Rest.plugin(retry, throttling);
      // Octokit's request log calls a failure without an answer (DNS, refused) "500 with id UNKNOWN".
      const warn = (message: string) =>
        options.log?.warn(
          message.replace(/ - 500 with id UNKNOWN in (\d+)ms$/, ' - no answer (network error) after $1 ms'),
        );
      const make = (auth: Record<string, unknown>) =>
        new Client({
          baseUrl: settings.apiUrl,
          userAgent: 'ecs-github-runners',
          request: { fetch: countedFetch },
          ...auth,
          // 409 (a runner name taken) is an answer, not a fault. The base delay is short for the
          // webhook: plugin-retry waits (attempt²) × base, and GitHub waits only 10 s for us.
          retry: { retries: 2, retryAfterBaseValue: maxWait <= 2 ? 100 : 1000, doNotRetry: DO_NOT_RETRY },
          throttle: {
            ...write,
            onRateLimit: (after: number, _o: unknown, _k: unknown, count: number) =>
              count < 1 && after <= maxWait,
            onSecondaryRateLimit: (after: number, _o: unknown, _k: unknown, count: number) =>
              count < 1 && after <= maxWait,
          },
          log: { debug: () => {}, info: () => {}, warn, error: warn },
        }) as unknown as Octokit;
      const appAuth = (extra: Record<string, unknown> = {}) =>
        credentials.kind === 'app'
          ? {
              authStrategy: createAppAuth,
              auth: { appId: credentials.appId, privateKey: credentials.privateKey, ...extra },
            }
          : { auth: credentials.token };
      const fixed =
        credentials.kind === 'app' && credentials.installationId !== undefined
          ? make(appAuth({ installationId: credentials.installationId }))
          : undefined;
      return {
        make: (extra: Record<string, unknown>) => make(appAuth(extra)),
        credentials,
        app: make(appAuth()),
        fixed,
      };
    }
  };

  return {
    async forApp() {
      return (await load()).app;
    },
    async credentialsKind() {
      return (await load()).credentials.kind;
    },
    async forScope(scope) {
      const { make, credentials, app, fixed } = await load();
      if (credentials.kind === 'token') return app;
      if (fixed) return fixed;
      const key = JSON.stringify(scope);
      let client = installations.get(key);
      if (!client) {
        client = (async () => {
          if (scope.kind === 'enterprise') {
            throw new Error('a GitHub App needs "installationId" in its secret for enterprise scope');
          }
          const { data } =
            scope.kind === 'org'
              ? await app.rest.apps.getOrgInstallation({ org: scope.org })
              : await app.rest.apps.getRepoInstallation({ owner: scope.owner, repo: scope.repo });
          return make({ installationId: data.id });
        })();
        installations.set(key, client);
        // A failed look-up is not cached: the next delivery tries again.
        client.catch(() => installations.delete(key));
      }
      return client;
    },
  };
}
