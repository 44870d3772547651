import type { RunnerScope } from '../config';

/** A GitHub App permission the functions use, as the manifest's `default_permissions` names it. */
export type AppPermission =
  | 'administration'
  | 'organization_self_hosted_runners'
  | 'actions'
  | 'organization_hooks'
  | 'metadata';

/** The access a permission grants. */
export type PermissionAccess = 'read' | 'write';

/** A manifest's `default_permissions`. */
export type AppPermissions = Readonly<Partial<Record<AppPermission, PermissionAccess>>>;

/** The JSON GitHub's App manifest flow takes (the `manifest` field of the form posted to `/settings/apps/new`). */
export interface AppManifest {
  readonly name: string;
  readonly url: string;
  readonly description: string;
  readonly public: false;
  readonly redirect_url: string;
  /** Where GitHub sends the browser after the App is installed (the setup page's readiness panel). */
  readonly setup_url?: string;
  readonly hook_attributes: { readonly url: string; readonly active: boolean };
  readonly default_events: readonly ['workflow_job'];
  readonly default_permissions: AppPermissions;
}

export interface AppManifestOptions {
  /** `RUNNER_SCOPE` of the stack the App serves. */
  readonly scope: RunnerScope;
  /**
   * The stack's `WebhookUrl` when the App's own webhook delivers `workflow_job` (`githubHook=app`);
   * none: an organisation webhook delivers it, the App's hook stays off and the redelivery sweep
   * redelivers through the organisation hook.
   */
  readonly webhookUrl?: string | undefined;
  /** Spot profiles: the App may re-run a job its instance's interruption failed (`actions: write`). */
  readonly spotRerun?: boolean | undefined;
  /** The App's name (GitHub App names are global; the owner picks one on GitHub's page). */
  readonly name?: string | undefined;
  /** Where GitHub sends the browser with the manifest's `code` (default: a loopback address nothing listens on). */
  readonly redirectUrl?: string | undefined;
  /** Where GitHub sends the browser after an installation (`setup_url`); none: GitHub's own page. */
  readonly setupUrl?: string | undefined;
}

/** Why each permission is asked for, for the docs and the setup page. */
export const PERMISSION_REASONS: Readonly<Record<AppPermission, string>> = {
  administration:
    'repository runners: register each one just in time, list them, delete idle ones (GitHub has no narrower permission for repository runners)',
  organization_self_hosted_runners:
    'organisation runners: register each one just in time, list and delete them, find or create the runner group',
  actions: "read a job's and a workflow run's jobs' status (late deliveries, the reconciler)",
  organization_hooks:
    "the redelivery sweep on an organisation webhook: list its deliveries, read one, redeliver it (redelivering is a write; an App's own hook needs no permission)",
  metadata: 'granted to every App with a repository permission',
};

/**
 * What a classic token needs for enterprise runners: GitHub Apps cannot use the enterprise runner
 * endpoints (`enabledForGitHubApps: false` in GitHub's OpenAPI description).
 */
export const ENTERPRISE_TOKEN_SCOPES = ['manage_runners:enterprise', 'repo'] as const;

/**
 * The least `default_permissions` for a scope: the runner registration permission of that scope
 * (write: registering and deleting a runner are writes), `actions: read` for the job checks, and
 * `organization_hooks: write` only when the redelivery sweep goes through an organisation webhook.
 * Installation look-ups and the App's own hook deliveries use the App's JWT: no permission.
 * @throws Error for `enterprise`, which a GitHub App cannot serve.
 */
export function appPermissions(
  scope: RunnerScope,
  hook: 'app' | 'org',
  options: { readonly spotRerun?: boolean } = {},
): AppPermissions {
  if (scope === 'enterprise') {
    throw new Error(
      `a GitHub App cannot register enterprise runners (GitHub offers it no enterprise runner permission): use a classic token of an enterprise owner with ${ENTERPRISE_TOKEN_SCOPES.join(' and ')}`,
    );
  }
  return {
    ...(scope === 'repo' ? { administration: 'write' } : { organization_self_hosted_runners: 'write' }),
    // Write only to re-run a job a Spot interruption failed (`spotRerun`): reading is all else needs.
    actions: options.spotRerun ? 'write' : 'read',
    ...(hook === 'org' && { organization_hooks: 'write' }),
    metadata: 'read',
  };
}

/** The placeholder webhook URL of an App whose hook is off: GitHub's manifest flow requires one. */
export const INACTIVE_HOOK_URL = 'https://example.invalid/webhook';

/**
 * The manifest for GitHub's App manifest flow: a private App with the least permissions for the
 * scope, subscribed to `workflow_job`, its webhook on only when `webhookUrl` is given.
 * @throws Error for `enterprise` (see {@link appPermissions}).
 */
export function appManifest(options: AppManifestOptions): AppManifest {
  const hook = options.webhookUrl === undefined ? 'org' : 'app';
  return {
    name: options.name ?? 'ecs-github-runners',
    url: 'https://github.com/',
    description: 'Starts one ephemeral self-hosted runner per queued workflow job on AWS ECS.',
    public: false,
    redirect_url: options.redirectUrl ?? 'http://127.0.0.1:8080/created',
    ...(options.setupUrl !== undefined && { setup_url: options.setupUrl }),
    hook_attributes: { url: options.webhookUrl ?? INACTIVE_HOOK_URL, active: hook === 'app' },
    default_events: ['workflow_job'],
    default_permissions: appPermissions(options.scope, hook, { spotRerun: options.spotRerun === true }),
  };
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '"': '&quot;',
  '<': '&lt;',
  '>': '&gt;',
};

/**
 * Where the manifest form is posted: GitHub's new-App page of an organisation, or of the signed-in
 * user's own account without one; `state` comes back with the code. `serverUrl` is GitHub's web
 * address (`https://github.com`, or a GitHub Enterprise Server's).
 */
export function manifestFormAction(serverUrl: string, org: string | undefined, state: string): string {
  const base = serverUrl.replace(/\/+$/, '');
  const path =
    org === undefined ? '/settings/apps/new' : `/organizations/${encodeURIComponent(org)}/settings/apps/new`;
  return `${base}${path}?state=${encodeURIComponent(state)}`;
}

/**
 * GitHub's web address for its API address: `https://github.com` for `https://api.github.com`,
 * `https://HOST` for a GitHub Enterprise Server's `https://HOST/api/v3`.
 */
export function gitHubServerUrl(apiUrl: string): string {
  const url = apiUrl.replace(/\/+$/, '');
  if (/^https:\/\/api\.github\.com$/i.test(url)) return 'https://github.com';
  return url.replace(/\/api\/v3$/i, '');
}

/** A one-button page that posts the manifest to GitHub's new-App page of an organisation. */
export function appManifestForm(manifest: AppManifest, org: string): string {
  const value = JSON.stringify(manifest).replace(/[&"<>]/g, (c) => HTML_ESCAPES[c] ?? c);
  const action = `https://github.com/organizations/${encodeURIComponent(org)}/settings/apps/new`;
  return [
    '<!doctype html>',
    `<form action="${action}" method="post">`,
    `  <input type="hidden" name="manifest" value="${value}">`,
    `  <button>Create the GitHub App in ${org.replace(/[&"<>]/g, (c) => HTML_ESCAPES[c] ?? c)}</button>`,
    '</form>',
    '',
  ].join('\n');
}
