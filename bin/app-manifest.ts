import { parseArgs } from 'node:util';
import { runCommand } from '../shared/cli/terminal';
import type { RunnerScope } from '../shared/config';
import { ConfigError } from '../shared/errors';
import { appManifest, appManifestForm } from '../shared/github/app-manifest';

const usage = `usage: npm run --silent app-manifest -- [--scope repo|org] [--webhook-url URL] [--org ORG] [--spot-rerun]

Prints the GitHub App manifest with the least permissions for the stack's RUNNER_SCOPE (default
repo). --webhook-url: the stack's WebhookUrl, when the App's own webhook delivers workflow_job
(githubHook=app); without it the App's hook is off and an organisation webhook delivers.
--org: print instead a one-button page that posts the manifest to that organisation's new-App page.
--spot-rerun: with Spot profiles, let the App re-run a job its instance's interruption failed
(actions: write instead of read).`;

const SCOPES: readonly RunnerScope[] = ['repo', 'org', 'enterprise'];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scope: { type: 'string', default: 'repo' },
      'webhook-url': { type: 'string' },
      org: { type: 'string' },
      'spot-rerun': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const scope = SCOPES.find((candidate) => candidate === values.scope);
  if (scope === undefined) throw new ConfigError([`--scope must be one of ${SCOPES.join(', ')}`]);
  const manifest = appManifest({
    scope,
    webhookUrl: values['webhook-url'],
    spotRerun: values['spot-rerun'],
  });
  console.log(
    values.org === undefined ? JSON.stringify(manifest, null, 2) : appManifestForm(manifest, values.org),
  );
  return 0;
}

runCommand('app-manifest', usage, main);
