import { parseDuration } from '../cli/terminal';
import { type Env, type GitHubSettings, parseGitHubSettings } from '../config';
import { ConfigError, errorMessage } from '../errors';
import { parseWorkflowJob } from '../runner/workflow-job';
import type { FetchSecret } from '../secrets/webhook-secrets';
import { createSettingsReader } from '../settings-reader';
import { createGitHubRunners } from './github-runners';
import { createHookDeliveries, type HookRef } from './hook-deliveries';
import { createOctokitProvider } from './octokit';
import { type SweepSummary, sweepFailedDeliveries } from './redeliver-sweep';

/** Settings of the redelivery sweep, from the scheduled function's environment or the CLI's flags. */
export interface RedeliverSettings {
  readonly github: GitHubSettings;
  /** `credentials`: no hook named; the GitHub App's own hook when the credentials are an App. */
  readonly hook: HookRef | { readonly kind: 'credentials' };
  readonly sinceMs: number;
  readonly max: number;
  readonly maxRedeliveries: number;
  readonly dryRun: boolean;
}

/** The sweep's own settings, whose names a command may give as flags. */
type RedeliverSetting =
  | 'GITHUB_ORG'
  | 'GITHUB_HOOK_ID'
  | 'GITHUB_HOOK'
  | 'REDELIVER_SINCE'
  | 'REDELIVER_MAX'
  | 'REDELIVER_MAX_ATTEMPTS';

/**
 * Reads `GITHUB_AUTH_SECRET_ARN` (or `GITHUB_TOKEN`), `GITHUB_API_URL`, `GITHUB_HOOK` (`app` for the
 * GitHub App's hook) or `GITHUB_ORG` + `GITHUB_HOOK_ID`, `REDELIVER_SINCE` (default 6h, at most GitHub's
 * 3 days), `REDELIVER_MAX` (default 50 a sweep), `REDELIVER_MAX_ATTEMPTS` (default 5 a delivery).
 * @throws ConfigError listing every problem.
 */
export function parseRedeliverSettings(
  env: Env,
  /** How the user gave each setting, for the messages (a command's flags); default the variables. */
  names: Partial<Record<RedeliverSetting, string>> = {},
  /**
   * Whether a hook may go unnamed (the scheduled sweep): the credentials then decide, a GitHub
   * App's own hook needing no id. A command asks for the hook.
   */
  options: { readonly hookFromCredentials?: boolean } = {},
): RedeliverSettings {
  const problems: string[] = [];
  const named = (setting: RedeliverSetting) => names[setting] ?? setting;
  const github = parseGitHubSettings(env, problems);
  if (github === undefined)
    problems.push('GitHub credentials are required: GITHUB_AUTH_SECRET_ARN or GITHUB_TOKEN');
  // The functions' own reader: the same trimming, and the same true/false words as DRY_RUN elsewhere.
  const reader = createSettingsReader((name) => env[name], problems);
  const value = reader.text;
  let hook: RedeliverSettings['hook'] = { kind: 'app' };
  const unnamed = ['GITHUB_HOOK', 'GITHUB_ORG', 'GITHUB_HOOK_ID'].every((name) => value(name) === undefined);
  if (unnamed && options.hookFromCredentials === true) {
    hook = { kind: 'credentials' };
  } else if (value('GITHUB_HOOK') !== 'app') {
    const org = value('GITHUB_ORG');
    const hookId = Number(value('GITHUB_HOOK_ID'));
    if (org === undefined || !Number.isInteger(hookId) || hookId <= 0) {
      problems.push(
        `set ${named('GITHUB_ORG')} and ${named('GITHUB_HOOK_ID')} (the organisation webhook), or ${names.GITHUB_HOOK ?? 'GITHUB_HOOK=app'}`,
      );
    } else {
      hook = { kind: 'org', org, hookId };
    }
  }
  let sinceMs = 6 * 3_600_000;
  try {
    sinceMs = Math.min(parseDuration(value('REDELIVER_SINCE') ?? '6h'), 3 * 86_400_000);
  } catch (error) {
    problems.push(`${named('REDELIVER_SINCE')}: ${errorMessage(error)}`);
  }
  const count = (name: RedeliverSetting, fallback: number) => {
    const n = Number(value(name) ?? fallback);
    if (!Number.isInteger(n) || n < 1) problems.push(`${named(name)} must be a whole number ≥ 1`);
    return n;
  };
  const max = count('REDELIVER_MAX', 50);
  const maxRedeliveries = count('REDELIVER_MAX_ATTEMPTS', 5);
  const dryRun = reader.bool('DRY_RUN', false);
  if (problems.length > 0 || github === undefined) throw new ConfigError(problems);
  return { github, hook, sinceMs, max, maxRedeliveries, dryRun };
}

/**
 * One sweep: list the hook's deliveries, skip jobs no longer queued, redeliver the failed ones.
 * With no hook named and a token for credentials there is no hook to read: the sweep says so and
 * does nothing.
 */
export async function runRedeliverSweep(
  settings: RedeliverSettings,
  options: {
    readonly fetchSecret?: FetchSecret;
    readonly onProgress?: (done: number, total: number) => void;
    readonly log?: { warn(message: string): void };
  } = {},
): Promise<SweepSummary> {
  const octokits = createOctokitProvider({
    settings: settings.github,
    // A sweep has minutes, not GitHub's 10 s: it may wait out a short rate limit.
    maxRateLimitWaitSeconds: 60,
    ...(options.fetchSecret && { fetchSecret: options.fetchSecret }),
    ...(options.log && { log: options.log }),
  });
  const runners = createGitHubRunners(octokits);
  let hook: HookRef;
  if (settings.hook.kind === 'credentials') {
    if ((await octokits.credentialsKind()) === 'token') {
      options.log?.warn(
        'no webhook to sweep: the credentials are a token and no hook is set (githubOrg + githubHookId, or githubHook=app)',
      );
      return { found: 0, failed: 0, redelivered: [], skipped: [] };
    }
    hook = { kind: 'app' };
  } else {
    hook = settings.hook;
  }
  return sweepFailedDeliveries(createHookDeliveries(octokits, hook), {
    sinceMs: settings.sinceMs,
    max: settings.max,
    maxRedeliveries: settings.maxRedeliveries,
    dryRun: settings.dryRun,
    ...(options.onProgress && { onProgress: options.onProgress }),
    jobStatus: async (payload) => {
      const event = parseWorkflowJob(payload);
      const { owner, name } = event.repository;
      const job = await runners.job(
        { kind: 'org', org: event.organization ?? owner },
        owner,
        name,
        event.job.id,
      );
      return job?.status;
    },
  });
}
