import type { RunnerScopeRef } from '../github/ports';
import { type Finding, type Gathered, ok, problem, skipped } from './finding';

export interface GitHubAccessFacts {
  /** Where runners register; undefined when the user named no organisation or enterprise. */
  readonly scope: RunnerScopeRef | undefined;
  /** How many runners the credentials could list there; undefined without usable credentials. */
  readonly runners: Gathered<number> | undefined;
  /** The runner group the template names, and whether it exists; undefined when its name is unknown. */
  readonly group: { readonly name: string; readonly exists: Gathered<boolean> } | undefined;
}

const where = (scope: RunnerScopeRef) =>
  scope.kind === 'org'
    ? `organisation ${scope.org}`
    : scope.kind === 'enterprise'
      ? `enterprise ${scope.enterprise}`
      : `repository ${scope.owner}/${scope.repo}`;

function refused(error: string, code: string | undefined, scope: RunnerScopeRef): string {
  if (code === 'HTTP 401') {
    return 'GitHub refuses the credentials (revoked or expired token, wrong App key): store new ones in the GitHub credentials secret';
  }
  if (code === 'HTTP 404') {
    return `GitHub shows no ${where(scope)} to these credentials: check --org/--enterprise, and that the GitHub App is installed there`;
  }
  if (code === 'HTTP 403') {
    return 'the credentials may not manage self-hosted runners: a token needs admin:org (manage_runners:enterprise), a GitHub App the "Self-hosted runners" read and write permission';
  }
  return `GitHub answered: ${error}`;
}

/** The credentials can list the runners of the scope the webhook registers them in. */
export function checkGitHubAccess(facts: GitHubAccessFacts): Finding {
  if (facts.scope === undefined) {
    return skipped('github-access', 'pass --org (or --enterprise) to check where runners register');
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
    `the GitHub credentials can manage the runners of ${where(facts.scope)} (${facts.runners.value} registered)`,
  );
}

/** The runner group the group template names exists, so registration does not fail. */
export function checkRunnerGroup(facts: GitHubAccessFacts): Finding {
  if (facts.scope === undefined || facts.runners === undefined) {
    return skipped('runner-group', 'needs --org (or --enterprise) and usable GitHub credentials');
  }
  if (facts.group === undefined) {
    return skipped('runner-group', 'pass --group (the name the runner group template renders) to check it');
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
      `create it (Settings → Actions → Runner groups; custom groups need GitHub Team or Enterprise), or deploy with -c runnerGroupCreate=true, or with -c runnerGroupTemplate=Default on GitHub Free; pass --group if the template renders another name`,
    );
  }
  return ok('runner-group', `runner group ${name} exists in ${where(facts.scope)}`);
}
