import type { RunnerScope } from '../config';
import { type AppPermissions, appPermissions, type PermissionAccess } from '../github/app-manifest';
import type { RunnerScopeRef } from '../github/ports';
import type { AppInstallation } from './doctor-ports';
import { type Finding, type Gathered, ok, problem, skipped } from './finding';

export interface GitHubAccessFacts {
  /** The stack's RUNNER_SCOPE, and where the doctor learnt it. */
  readonly scopeKind: RunnerScope;
  readonly scopeFrom: 'stack' | 'flag' | 'default';
  /** Where runners register; undefined when the user named no repository, organisation or enterprise. */
  readonly scope: RunnerScopeRef | undefined;
  /** How many runners the credentials could list there; undefined without usable credentials. */
  readonly runners: Gathered<number> | undefined;
  /** The runner group the template names, and whether it exists; undefined when its name is unknown. */
  readonly group: { readonly name: string; readonly exists: Gathered<boolean> } | undefined;
  /**
   * The GitHub App's installation where runners register (the repository, else the organisation)
   * and the permissions the deployment needs; `token` for token credentials; undefined when there
   * is nothing to read it with or for.
   */
  readonly installation:
    | 'token'
    | {
        readonly where: string;
        readonly found: Gathered<AppInstallation>;
        readonly needs: AppPermissions;
      }
    | undefined;
}

const where = (scope: RunnerScopeRef) =>
  scope.kind === 'org'
    ? `organisation ${scope.org}`
    : scope.kind === 'enterprise'
      ? `enterprise ${scope.enterprise}`
      : `repository ${scope.owner}/${scope.repo}`;

/** The scope as the report names it: `RUNNER_SCOPE=repo (the stack's)`. */
const scopeNote = (facts: GitHubAccessFacts) =>
  `RUNNER_SCOPE=${facts.scopeKind} (${facts.scopeFrom === 'stack' ? "the stack's" : facts.scopeFrom === 'flag' ? '--scope' : 'the default; pass --scope if the stack was deployed with another runnerScope'})`;

function refused(error: string, code: string | undefined, scope: RunnerScopeRef): string {
  if (code === 'HTTP 401') {
    return 'GitHub refuses the credentials (revoked or expired token, wrong App key): store new ones in the GitHub credentials secret';
  }
  if (code === 'HTTP 404') {
    return scope.kind === 'repo'
      ? `GitHub shows no ${where(scope)} to these credentials: check --repo, and that the GitHub App is installed on it (or the token may see it)`
      : `GitHub shows no ${where(scope)} to these credentials: check --org/--enterprise, and that the GitHub App is installed there`;
  }
  if (code === 'HTTP 403') {
    return scope.kind === 'repo'
      ? 'the credentials may not manage the repository\'s runners: a GitHub App needs the repository permission "Administration" (read and write), a token the repo scope (fine-grained: Administration read and write)'
      : 'the credentials may not manage self-hosted runners: a token needs admin:org (manage_runners:enterprise), a GitHub App the "Self-hosted runners" read and write permission';
  }
  return `GitHub answered: ${error}`;
}

/** The credentials can list the runners where the stack's scope registers them. */
export function checkGitHubAccess(facts: GitHubAccessFacts): Finding {
  if (facts.scope === undefined) {
    return skipped(
      'github-access',
      facts.scopeKind === 'repo'
        ? `${scopeNote(facts)}: pass --repo OWNER/NAME (a repository whose jobs the runners serve) to check where runners register`
        : `${scopeNote(facts)}: pass --${facts.scopeKind === 'org' ? 'org' : 'enterprise'} to check where runners register`,
    );
  }
  if (facts.runners === undefined) {
    return skipped('github-access', 'needs usable GitHub credentials (see github-credentials)');
  }
  if (!facts.runners.ok) {
    return problem(
      'github-access',
      `the GitHub credentials cannot list the runners of ${where(facts.scope)}: ${facts.runners.error}`,
      refused(facts.runners.error, facts.runners.code, facts.scope),
    );
  }
  return ok(
    'github-access',
    `the GitHub credentials can manage the runners of ${where(facts.scope)} (${facts.runners.value} registered; ${scopeNote(facts)})`,
  );
}

const RANK: Readonly<Record<string, number>> = { read: 1, write: 2, admin: 3 };

/** What an installation lacks of `needs`: `administration: write (has read)`. */
function missing(granted: Readonly<Record<string, string>>, needs: AppPermissions): string[] {
  return Object.entries(needs).flatMap(([permission, access]) => {
    const has = granted[permission];
    return (RANK[has ?? ''] ?? 0) >= (RANK[access as PermissionAccess] ?? 0)
      ? []
      : [`${permission}: ${access}${has === undefined ? '' : ` (has ${has})`}`];
  });
}

const describePermissions = (needs: AppPermissions) =>
  Object.entries(needs)
    .map(([permission, access]) => `${permission}: ${access}`)
    .join(', ');

/**
 * The GitHub App is installed where runners register and its installation grants what the scope
 * needs (shared/github/app-manifest.ts: the same least permissions the manifest asks for).
 */
export function checkGitHubPermissions(facts: GitHubAccessFacts): Finding {
  const { installation } = facts;
  if (installation === undefined) {
    return skipped(
      'github-permissions',
      facts.scopeKind === 'enterprise'
        ? 'enterprise runners need a classic token (a GitHub App cannot register them)'
        : facts.runners === undefined && facts.scope !== undefined
          ? 'needs usable GitHub credentials (see github-credentials)'
          : `pass --${facts.scopeKind === 'repo' ? 'repo' : 'org'} to read the GitHub App installation's permissions`,
    );
  }
  if (installation === 'token') {
    return skipped(
      'github-permissions',
      "a token's permissions cannot be read: github-access shows what it may list; it also needs Actions read for the job checks",
    );
  }
  const { found, needs } = installation;
  if (!found.ok) {
    return problem(
      'github-permissions',
      found.code === 'HTTP 404'
        ? `the GitHub App is not installed on ${installation.where}`
        : `cannot read the GitHub App's installation on ${installation.where}: ${found.error}`,
      found.code === 'HTTP 404'
        ? `install it: the App's page (the setup page links it) → Install App → ${installation.where.replace(/^\w+ /, '')}${facts.scopeKind === 'repo' ? ' (all repositories, or this one among the selected)' : ''}`
        : found.code === 'HTTP 401'
          ? "GitHub refuses the App (wrong App id or private key): store the App's credentials again"
          : `GitHub answered: ${found.error}`,
    );
  }
  const lacking = missing(found.value.permissions, needs);
  if (lacking.length > 0) {
    return problem(
      'github-permissions',
      `the GitHub App's installation on ${installation.where} lacks ${lacking.join(', ')}`,
      `give the App ${describePermissions(needs)} (its settings → Permissions & events), then accept the new permissions in the organisation's installed App settings (docs/github-setup.md)`,
    );
  }
  return ok(
    'github-permissions',
    `the GitHub App's installation on ${installation.where} grants what RUNNER_SCOPE=${facts.scopeKind} needs (${describePermissions(needs)})`,
  );
}

/** The least permissions of a scope and webhook, as the App manifest asks for them. */
export function neededPermissions(scope: RunnerScope, hook: 'app' | 'org'): AppPermissions | undefined {
  return scope === 'enterprise' ? undefined : appPermissions(scope, hook);
}

/** The runner group the group template names exists, so registration does not fail. */
export function checkRunnerGroup(facts: GitHubAccessFacts): Finding {
  if (facts.scopeKind === 'repo') {
    return skipped(
      'runner-group',
      "repository runners (RUNNER_SCOPE=repo) use their repository's Default group: no runner group to check",
    );
  }
  if (facts.scope === undefined || facts.runners === undefined) {
    return skipped('runner-group', 'needs --org (or --enterprise) and usable GitHub credentials');
  }
  if (facts.group === undefined) {
    return skipped(
      'runner-group',
      'pass --group (the name the runner group template renders), or --repo when it names the repository, to check it',
    );
  }
  const { name, exists } = facts.group;
  if (!exists.ok) {
    return problem(
      'runner-group',
      `cannot list the runner groups of ${where(facts.scope)}: ${exists.error}`,
      refused(exists.error, exists.code, facts.scope),
    );
  }
  if (!exists.value) {
    return problem(
      'runner-group',
      `${where(facts.scope)} has no runner group named ${name}: every job's registration fails`,
      `create it (Settings → Actions → Runner groups; custom groups need GitHub Team or Enterprise), or set "runnerGroupCreate": true in runners.config.json and deploy, or "runnerGroupTemplate": "Default" on GitHub Free; pass --group if the template renders another name`,
    );
  }
  return ok('runner-group', `runner group ${name} exists in ${where(facts.scope)}`);
}
