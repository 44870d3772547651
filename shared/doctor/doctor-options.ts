import { parseDuration } from '../cli/terminal';
import type { RunnerScope } from '../config';
import { TEMPLATE_DEFAULTS } from '../defaults';
import { ConfigError, errorMessage } from '../errors';
import type { HookRef } from '../github/hook-deliveries';

/** What the user asked the doctor to check, from the command's flags. */
export interface DoctorOptions {
  readonly stackName: string;
  readonly region: string | undefined;
  readonly org: string | undefined;
  readonly enterprise: string | undefined;
  /** A repository whose jobs the runners serve (`--repo OWNER/NAME`): where repository runners register. */
  readonly repo: { readonly owner: string; readonly repo: string } | undefined;
  /** `--scope`: the stack's RUNNER_SCOPE when its `RunnerScope` output cannot say (a stack deployed before it). */
  readonly scope: RunnerScope | undefined;
  readonly hook: HookRef | undefined;
  /** The runner group's name; undefined: the group template rendered for --org. */
  readonly group: string | undefined;
  readonly groupTemplate: string;
  readonly since: string;
  readonly sinceMs: number;
  readonly apiUrl: string;
  /** Where actions/runner's releases are read (github.com's API, also with GitHub Enterprise Server). */
  readonly releasesApiUrl: string;
  readonly json: boolean;
  /** Targets named by flags, which win over the stack's outputs. */
  readonly overrides: {
    readonly cluster?: string;
    readonly taskDefinition?: string;
    readonly capacityProvider?: string;
    readonly image?: string;
    readonly webhookSecretArn?: string;
    readonly githubAuthSecretArn?: string;
  };
}

/** The flags as `node:util` parseArgs gives them. */
export type DoctorFlags = Readonly<Record<string, string | boolean | undefined>>;

const SCOPES: readonly RunnerScope[] = ['repo', 'org', 'enterprise'];

/** GitHub keeps a webhook's deliveries for 3 days. */
const DELIVERY_RETENTION_MS = 3 * 86_400_000;

/**
 * Reads the doctor's flags. Every problem names the flag and is reported together.
 * @throws ConfigError listing every problem.
 */
export function parseDoctorOptions(
  flags: DoctorFlags,
  env: Readonly<Record<string, string | undefined>>,
): DoctorOptions {
  const problems: string[] = [];
  const text = (name: string) => {
    const value = flags[name];
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  const org = text('org');
  const enterprise = text('enterprise');
  if (org !== undefined && enterprise !== undefined) problems.push('pass --org or --enterprise, not both');
  const repoText = text('repo');
  const repoMatch = repoText === undefined ? undefined : /^([\w.-]+)\/([\w.-]+)$/.exec(repoText);
  if (repoText !== undefined && repoMatch == null)
    problems.push(`--repo must be OWNER/NAME, a repository whose jobs the runners serve (got "${repoText}")`);
  const repo =
    repoMatch?.[1] === undefined || repoMatch[2] === undefined
      ? undefined
      : { owner: repoMatch[1], repo: repoMatch[2] };
  if (repo !== undefined && org !== undefined && repo.owner.toLowerCase() !== org.toLowerCase())
    problems.push(`--repo ${repoText} is not in --org ${org}`);
  const scopeText = text('scope');
  const scope = SCOPES.find((candidate) => candidate === scopeText);
  if (scopeText !== undefined && scope === undefined)
    problems.push(`--scope must be ${SCOPES.join(', ')} (got "${scopeText}")`);
  let hook: HookRef | undefined;
  const hookIdText = text('hook-id');
  if (flags.app === true) {
    if (hookIdText !== undefined)
      problems.push('pass --hook-id (an organisation webhook) or --app, not both');
    hook = { kind: 'app' };
  } else if (hookIdText !== undefined) {
    const hookId = Number(hookIdText);
    if (!Number.isInteger(hookId) || hookId <= 0)
      problems.push(`--hook-id must be the webhook's number (got "${hookIdText}")`);
    else if ((org ?? repo?.owner) === undefined)
      problems.push('--hook-id needs --org (the organisation that owns the webhook)');
    else hook = { kind: 'org', org: org ?? repo?.owner ?? '', hookId };
  }
  const since = text('since') ?? '24h';
  let sinceMs = 86_400_000;
  try {
    sinceMs = parseDuration(since);
    if (sinceMs > DELIVERY_RETENTION_MS)
      problems.push('--since may be at most 3d: GitHub keeps deliveries for 3 days');
  } catch (error) {
    problems.push(`--since: ${errorMessage(error)}`);
  }
  const apiUrl = (text('github-api-url') ?? env.GITHUB_API_URL ?? 'https://api.github.com').replace(
    /\/+$/,
    '',
  );
  if (!/^https?:\/\/[^/\s]+/.test(apiUrl))
    problems.push(`--github-api-url must be an http(s) URL (got "${apiUrl}")`);
  const releasesApiUrl = (text('releases-api-url') ?? 'https://api.github.com').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(releasesApiUrl))
    problems.push(`--releases-api-url must be an http(s) URL (got "${releasesApiUrl}")`);
  for (const name of ['webhook-secret-arn', 'github-auth-secret-arn']) {
    const arn = text(name);
    if (arn !== undefined && !arn.startsWith('arn:'))
      problems.push(`--${name} must be a Secrets Manager ARN (got "${arn}")`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const override = (key: keyof DoctorOptions['overrides'], flag: string) => {
    const value = text(flag);
    return value === undefined ? {} : { [key]: value };
  };
  return {
    stackName: text('stack') ?? 'GitHubRunners',
    region: text('region'),
    // A repository's owner is the organisation its runners and webhook belong to.
    org: org ?? repo?.owner,
    enterprise,
    repo,
    scope,
    hook,
    group: text('group'),
    groupTemplate: TEMPLATE_DEFAULTS.group,
    since,
    sinceMs,
    apiUrl,
    releasesApiUrl,
    json: flags.json === true,
    overrides: {
      ...override('cluster', 'cluster'),
      ...override('taskDefinition', 'task-definition'),
      ...override('capacityProvider', 'capacity-provider'),
      ...override('image', 'image'),
      ...override('webhookSecretArn', 'webhook-secret-arn'),
      ...override('githubAuthSecretArn', 'github-auth-secret-arn'),
    },
  };
}
