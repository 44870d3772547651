import type { GitHubCredentialSetting } from '../config';
import { checkDeliveries } from '../doctor/check-deliveries';
import {
  checkGitHubAccess,
  checkGitHubPermissions,
  type GitHubAccessFacts,
  neededPermissions,
} from '../doctor/check-github-access';
import { checkGitHubCredentials, checkWebhookSecret, type SecretFacts } from '../doctor/check-secrets';
import type { DoctorGitHub } from '../doctor/doctor-ports';
import type { Finding } from '../doctor/finding';
import { attempt, usableCredentials } from '../doctor/gather-facts';
import type { SetupConfig } from './setup-config';
import type { SetupRecord } from './setup-record';

/** What the readiness panel reads through: the stack's secrets, and GitHub as the stored App. */
export interface ReadinessPorts {
  readSecret(arn: string): Promise<string>;
  github(credentials: GitHubCredentialSetting, secretValue: string): DoctorGitHub;
}

/** One thing left to do, with a link when there is a page for it. */
export interface LeftItem {
  readonly text: string;
  readonly href?: string;
  /** `npm run …` to run, shown as code. */
  readonly command?: string;
}

export interface Readiness {
  /** The doctor's findings this page can make, in the doctor's order. */
  readonly findings: readonly Finding[];
  readonly left: readonly LeftItem[];
  /** `${html_url}/installations/new`, when the App is known. */
  readonly installUrl: string | undefined;
}

const DAY_MS = 86_400_000;

/**
 * The readiness panel: the doctor's checks the setup function can make with what it may read (the
 * two secrets it wrote, and GitHub as the App: its installation and permissions, its webhook's
 * deliveries, and for organisation runners their listing), then what is left, the checks only
 * `npm run doctor` makes (the image, ECS, alarms) among it.
 */
export async function checkReadiness(
  config: SetupConfig,
  record: SetupRecord,
  ports: ReadinessPorts,
  now: Date,
): Promise<Readiness> {
  const read = (arn: string) => attempt(() => ports.readSecret(arn)).then((found) => ({ ...found, arn }));
  const [webhookSecret, githubCredentials] = await Promise.all([
    read(config.webhookSecretArn),
    read(config.githubAuthSecretArn),
  ]);
  const secrets: SecretFacts = { webhookSecret, githubCredentials, registrationToken: undefined };
  const findings: Finding[] = [checkWebhookSecret(secrets), checkGitHubCredentials(secrets)];

  const app = record.app;
  const installUrl = app && `${app.htmlUrl}/installations/new`;
  const credentials = usableCredentials(secrets, config.githubAuthSecretArn);
  const github = credentials && ports.github(credentials.setting, credentials.value);
  const org = app?.ownerType === 'Organization' ? app.owner : undefined;
  const needs = neededPermissions(config.scope, 'app');
  const scope = config.scope === 'org' && org !== undefined ? ({ kind: 'org', org } as const) : undefined;
  const [installation, runners, deliveries] = await Promise.all([
    github && org !== undefined && needs !== undefined
      ? attempt(() => github.installation({ org }))
      : undefined,
    github && scope ? attempt(async () => (await github.runners.listRunners(scope)).length) : undefined,
    github ? attempt(() => github.deliveries({ kind: 'app' }).list(now.getTime() - DAY_MS)) : undefined,
  ]);
  const access: GitHubAccessFacts = {
    scopeKind: config.scope,
    scopeFrom: 'stack',
    scope,
    runners,
    group: undefined,
    installation:
      installation && needs !== undefined
        ? { where: `organisation ${org}`, needs, found: installation }
        : undefined,
  };
  if (config.scope === 'org') findings.push(checkGitHubAccess(access));
  const permissions = checkGitHubPermissions(access);
  findings.push(permissions);
  findings.push(checkDeliveries({ hook: { kind: 'app' }, since: '24h', deliveries }));

  const left: LeftItem[] = [];
  const notInstalled = installation !== undefined && !installation.ok && installation.code === 'HTTP 404';
  if (installUrl !== undefined && (notInstalled || org === undefined)) {
    left.push({
      text: `Install the App on ${app?.owner ?? 'the account'}: all repositories, or those whose jobs it should serve`,
      href: installUrl,
    });
  }
  for (const finding of findings) {
    if (finding === permissions && notInstalled) continue;
    // A new App's webhook has delivered nothing yet: the first workflow is what is left, not a fault.
    if (finding.check === 'webhook-deliveries' && finding.status === 'warning') {
      left.push({
        text: "Run a first workflow (docs/deploy.md, step 7): its workflow_job deliveries show on this page and in the App's Recent Deliveries",
      });
      continue;
    }
    if (finding.status === 'problem' || finding.status === 'warning')
      left.push({ text: `${finding.summary}: ${finding.fix ?? ''}` });
  }
  left.push(
    {
      text: "Build the runner image and push it to the stack's repository (output RunnerRepositoryUri): docs/runner-image.md",
    },
    {
      text: 'Check what this page cannot see (the runner image, the ECS cluster and task definition, the alarms), with your AWS credentials:',
      command:
        config.scope === 'repo'
          ? `npm run doctor -- --stack ${config.stackName} --repo ${app?.owner ?? 'OWNER'}/REPOSITORY --app`
          : `npm run doctor -- --stack ${config.stackName} --org ${app?.owner ?? 'ORG'} --app`,
    },
  );
  if (org !== undefined) {
    left.push({
      text: `Serve this organisation's jobs only: set "githubHook": "app" and "allowedOrgs": "${org}" in runners.config.json, then npm run deploy`,
    });
  }
  return { findings, left, installUrl };
}
