import type { RunnerScope } from '../config';
import { ConfigError } from '../errors';
import { gitHubServerUrl } from '../github/app-manifest';
import { createSettingsReader } from '../settings-reader';

/** The setup function's settings, read once at cold start. */
export interface SetupConfig {
  /** The one-time setup secret: its key, and setup's completion once it is recorded. */
  readonly setupSecretArn: string;
  /** Where the App's id and private key go: the functions' GitHub credentials secret. */
  readonly githubAuthSecretArn: string;
  /** Where the App's webhook secret goes: the webhook's secret. */
  readonly webhookSecretArn: string;
  /** The stack's webhook, the App's webhook URL. */
  readonly webhookUrl: string;
  readonly scope: RunnerScope;
  readonly apiUrl: string;
  /** GitHub's web address, where the manifest form goes. */
  readonly serverUrl: string;
  /** The organisation the page suggests (the first of `ALLOWED_ORGS`, else `GITHUB_ORG`). */
  readonly suggestedOrg: string | undefined;
  /** The stack's name, in the App name the page suggests. */
  readonly stackName: string;
  /** Spot profiles: the App may re-run a job its instance's interruption failed (`actions: write`). */
  readonly spotRerun: boolean;
}

const SCOPES: readonly RunnerScope[] = ['repo', 'org', 'enterprise'];

/**
 * Reads the setup function's environment, every problem at once.
 * @throws ConfigError naming each variable that is missing or wrong.
 */
export function parseSetupConfig(env: Readonly<Record<string, string | undefined>>): SetupConfig {
  const problems: string[] = [];
  const { text, list, bool } = createSettingsReader((name) => env[name], problems);
  const required = (name: string) => {
    const value = text(name);
    if (value === undefined) problems.push(`${name} is required`);
    return value ?? '';
  };
  const webhookUrl = required('WEBHOOK_URL');
  if (webhookUrl !== '' && !/^https?:\/\/[^/\s]+/.test(webhookUrl))
    problems.push(`WEBHOOK_URL must be the webhook's http(s) URL (got "${webhookUrl}")`);
  const scopeText = text('RUNNER_SCOPE') ?? 'repo';
  const scope = SCOPES.find((candidate) => candidate === scopeText);
  if (scope === undefined) problems.push(`RUNNER_SCOPE must be repo, org or enterprise (got "${scopeText}")`);
  const apiUrl = (text('GITHUB_API_URL') ?? 'https://api.github.com').replace(/\/+$/, '');
  const serverUrl = (text('GITHUB_SERVER_URL') ?? gitHubServerUrl(apiUrl)).replace(/\/+$/, '');
  for (const [name, url] of [
    ['GITHUB_API_URL', apiUrl],
    ['GITHUB_SERVER_URL', serverUrl],
  ] as const) {
    if (!/^https?:\/\/[^/\s]+/.test(url)) problems.push(`${name} must be an http(s) URL (got "${url}")`);
  }
  const config: SetupConfig = {
    setupSecretArn: required('SETUP_SECRET_ARN'),
    githubAuthSecretArn: required('GITHUB_AUTH_SECRET_ARN'),
    webhookSecretArn: required('WEBHOOK_SECRET_ARN'),
    webhookUrl,
    scope: scope ?? 'repo',
    apiUrl,
    serverUrl,
    suggestedOrg: list('ALLOWED_ORGS')[0] ?? text('GITHUB_ORG'),
    stackName: text('STACK_NAME') ?? 'GitHubRunners',
    spotRerun: bool('SETUP_SPOT_RERUN', false),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
