import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Octokit } from '@octokit/rest';
import type { RunnerScope } from '../../shared/config';
import {
  type AppPermission,
  type AppPermissions,
  appManifest,
  appManifestForm,
  appPermissions,
  type PermissionAccess,
} from '../../shared/github/app-manifest';
import { OPERATIONS } from '../support/github-openapi';

type Hook = 'app' | 'org';
interface Use {
  readonly scope: RunnerScope;
  readonly hook: Hook;
  /** Spot profiles whose interrupted jobs are re-run. */
  readonly spotRerun?: boolean;
}

/**
 * Every route the functions call, the permission GitHub documents for it ("Permissions required
 * for GitHub Apps", docs.github.com/rest/authentication/permissions-required-for-github-apps, and
 * each endpoint's "Fine-grained access tokens" section), and which configurations call it.
 * `jwt`: called as the App itself (installation look-ups, token exchange, the App's own hook),
 * which needs no permission.
 */
const ROUTES: ReadonlyArray<{
  readonly route: string;
  readonly needs: readonly [AppPermission, PermissionAccess] | 'jwt' | 'none';
  readonly calledBy: (use: Use) => boolean;
}> = [
  // Repository runners: Repository permissions for "Administration".
  ...[
    ['POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig', 'write'],
    ['POST /repos/{owner}/{repo}/actions/runners/registration-token', 'write'],
    ['GET /repos/{owner}/{repo}/actions/runners', 'read'],
    ['DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}', 'write'],
  ].map(([route, access]) => ({
    route: route as string,
    needs: ['administration', access as PermissionAccess] as const,
    calledBy: (use: Use) => use.scope === 'repo',
  })),
  // Organisation runners and groups: Organization permissions for "Self-hosted runners".
  ...[
    ['POST /orgs/{org}/actions/runners/generate-jitconfig', 'write'],
    ['POST /orgs/{org}/actions/runners/registration-token', 'write'],
    ['GET /orgs/{org}/actions/runners', 'read'],
    ['DELETE /orgs/{org}/actions/runners/{runner_id}', 'write'],
    ['GET /orgs/{org}/actions/runner-groups', 'read'],
    ['POST /orgs/{org}/actions/runner-groups', 'write'],
  ].map(([route, access]) => ({
    route: route as string,
    needs: ['organization_self_hosted_runners', access as PermissionAccess] as const,
    calledBy: (use: Use) => use.scope === 'org',
  })),
  // Jobs: Repository permissions for "Actions".
  ...[
    'GET /repos/{owner}/{repo}/actions/jobs/{job_id}',
    'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
  ].map((route) => ({ route, needs: ['actions', 'read'] as const, calledBy: () => true })),
  // Re-running a job: Repository permissions for "Actions" (write).
  {
    route: 'POST /repos/{owner}/{repo}/actions/jobs/{job_id}/rerun',
    needs: ['actions', 'write'],
    calledBy: (use) => use.spotRerun === true,
  },
  // The organisation webhook's deliveries: Organization permissions for "Webhooks" (redelivering writes).
  ...[
    ['GET /orgs/{org}/hooks/{hook_id}/deliveries', 'read'],
    ['GET /orgs/{org}/hooks/{hook_id}/deliveries/{delivery_id}', 'read'],
    ['POST /orgs/{org}/hooks/{hook_id}/deliveries/{delivery_id}/attempts', 'write'],
  ].map(([route, access]) => ({
    route: route as string,
    needs: ['organization_hooks', access as PermissionAccess] as const,
    calledBy: (use: Use) => use.hook === 'org',
  })),
  // "You must use a JWT to access this endpoint."
  ...[
    'GET /app/hook/deliveries',
    'GET /app/hook/deliveries/{delivery_id}',
    'POST /app/hook/deliveries/{delivery_id}/attempts',
  ].map((route) => ({ route, needs: 'jwt' as const, calledBy: (use: Use) => use.hook === 'app' })),
  {
    route: 'GET /orgs/{org}/installation',
    needs: 'jwt',
    calledBy: (use) => use.scope === 'org' || use.hook === 'org',
  },
  { route: 'GET /repos/{owner}/{repo}/installation', needs: 'jwt', calledBy: (use) => use.scope === 'repo' },
  // The setup page's end of the manifest flow: the code is the credential, no App exists yet.
  { route: 'POST /app-manifests/{code}/conversions', needs: 'none', calledBy: () => true },
  // @octokit/auth-app's exchange of the JWT for an installation token.
  { route: 'POST /app/installations/{installation_id}/access_tokens', needs: 'jwt', calledBy: () => true },
];

/** Enterprise routes: GitHub Apps cannot call them (`enabledForGitHubApps: false`); a classic token does. */
const ENTERPRISE_ONLY = /^\w+ \/enterprises\//;

/**
 * Expansions of `${prefix}` the code never makes: `runnerGroupId` answers the Default group for the
 * repository scope before any call (GitHub has no repository runner groups).
 */
const NEVER_CALLED = new Set([
  'GET /repos/{owner}/{repo}/actions/runner-groups',
  'POST /repos/{owner}/{repo}/actions/runner-groups',
]);

/** The route templates in shared/github's sources, `${prefix}` and `${base}` expanded as the code does. */
function routesInCode(): Set<string> {
  const dir = new URL('../../shared/github/', import.meta.url);
  const source = readdirSync(dir)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => readFileSync(new URL(file, dir), 'utf8'))
    .join('\n');
  const expansions: Record<string, readonly string[]> = {
    prefix: ['/orgs/{org}', '/repos/{owner}/{repo}', '/enterprises/{enterprise}'],
    base: ['/orgs/{org}/hooks/{hook_id}/deliveries', '/app/hook/deliveries'],
  };
  for (const values of Object.values(expansions)) {
    for (const value of values) expect(source).toContain(`'${value}`);
  }
  const routes = new Set<string>();
  for (const [, method, variable, rest] of source.matchAll(
    /`(GET|POST|PUT|PATCH|DELETE) (?:\$\{(\w+)\})?([^`]*)`/g,
  )) {
    for (const start of variable === undefined ? [''] : (expansions[variable] ?? [`<${variable}>`])) {
      routes.add(`${method} ${start}${rest}`);
    }
  }
  const octokit = new Octokit() as unknown as Record<
    'rest',
    Record<string, Record<string, { endpoint: { DEFAULTS: { method: string; url: string } } }>>
  >;
  for (const [, namespace = '', method = ''] of source.matchAll(/\.rest\.(\w+)\.(\w+)/g)) {
    const { DEFAULTS } = octokit.rest[namespace]?.[method]?.endpoint ?? { DEFAULTS: undefined };
    if (DEFAULTS === undefined) throw new Error(`octokit.rest.${namespace}.${method} is no Octokit method`);
    routes.add(`${DEFAULTS.method} ${DEFAULTS.url}`);
  }
  return routes;
}

/** The permissions the routes a configuration calls need, each at its highest access. */
function leastPermissions(use: Use): AppPermissions {
  const needed: Partial<Record<AppPermission, PermissionAccess>> = { metadata: 'read' };
  for (const { needs, calledBy } of ROUTES) {
    if (needs === 'jwt' || needs === 'none' || !calledBy(use)) continue;
    const [permission, access] = needs;
    if (needed[permission] !== 'write') needed[permission] = access;
  }
  return needed;
}

describe('GitHub App manifest', () => {
  it('has a permission row for every route the code calls, and none for a route it does not', () => {
    const called = [...routesInCode()].filter(
      (route) => !ENTERPRISE_ONLY.test(route) && !NEVER_CALLED.has(route),
    );
    const listed = ROUTES.map((row) => row.route);
    expect(new Set([...called, 'POST /app/installations/{installation_id}/access_tokens'])).toEqual(
      new Set(listed),
    );
  });

  it('has a permission row for every GitHub operation the stand-in accepts, enterprise routes aside', () => {
    const operations = OPERATIONS.map(([method, path]) => `${method} ${path}`).filter(
      // GET /meta and actions/runner's releases are public (the hook-ranges refresh and the image's
      // release check read them with no credentials at all).
      (route) => !ENTERPRISE_ONLY.test(route) && route !== 'GET /meta' && !route.includes('/releases'),
    );
    expect(new Set(operations)).toEqual(new Set(ROUTES.map((row) => row.route)));
  });

  it.each([
    ['repo', 'org'],
    ['repo', 'app'],
    ['org', 'org'],
    ['org', 'app'],
  ] as const)('asks for exactly the permissions its routes need (scope %s, %s webhook)', (scope, hook) => {
    const manifest = appManifest({
      scope,
      webhookUrl: hook === 'app' ? 'https://hooks.example/webhook' : undefined,
    });
    expect(manifest.default_permissions).toEqual(leastPermissions({ scope, hook }));
    expect(appPermissions(scope, hook)).toEqual(leastPermissions({ scope, hook }));
    const spot = appManifest({
      scope,
      spotRerun: true,
      ...(hook === 'app' && { webhookUrl: 'https://hooks.example/webhook' }),
    });
    expect(spot.default_permissions).toEqual(leastPermissions({ scope, hook, spotRerun: true }));
  });

  it('asks a repository-scope App with an organisation webhook for administration write, actions read and organisation hooks write', () => {
    expect(appManifest({ scope: 'repo' }).default_permissions).toEqual({
      administration: 'write',
      actions: 'read',
      organization_hooks: 'write',
      metadata: 'read',
    });
  });

  it('asks an organisation-scope App on its own webhook for no repository administration and no hooks', () => {
    expect(
      appManifest({ scope: 'org', webhookUrl: 'https://hooks.example/webhook' }).default_permissions,
    ).toEqual({
      organization_self_hosted_runners: 'write',
      actions: 'read',
      metadata: 'read',
    });
  });

  it('turns the App webhook on at the given URL, and off at a placeholder without one', () => {
    expect(
      appManifest({ scope: 'org', webhookUrl: 'https://hooks.example/webhook' }).hook_attributes,
    ).toEqual({
      url: 'https://hooks.example/webhook',
      active: true,
    });
    expect(appManifest({ scope: 'org' }).hook_attributes.active).toBe(false);
  });

  it('describes a private App subscribed to workflow_job only', () => {
    const manifest = appManifest({
      scope: 'repo',
      name: 'runners-octo',
      redirectUrl: 'https://setup.example/done',
    });
    expect(manifest).toMatchObject({
      name: 'runners-octo',
      public: false,
      redirect_url: 'https://setup.example/done',
      default_events: ['workflow_job'],
    });
  });

  it('refuses the enterprise scope, naming the classic token scope it needs instead', () => {
    expect(() => appManifest({ scope: 'enterprise' })).toThrow(/manage_runners:enterprise/);
  });

  it('puts the manifest in the form as one attribute GitHub reads back as the same JSON', () => {
    const manifest = appManifest({ scope: 'org', name: 'a "quoted" & <odd> name' });
    const form = appManifestForm(manifest, 'octo-org');
    expect(form).toContain('action="https://github.com/organizations/octo-org/settings/apps/new"');
    const value = /name="manifest" value="([^"]*)"/.exec(form)?.[1] ?? '';
    const decoded = value
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    expect(JSON.parse(decoded)).toEqual(manifest);
  });
});
