import { parseArgs } from 'node:util';
import { formatTable, progressBar, runCommand } from '../shared/cli/terminal';
import { parseRedeliverSettings, runRedeliverSweep } from '../shared/github/redeliver';

const usage = `usage: npm run redeliver -- (--org ORG --hook-id ID | --app) [--since 6h] [--max 50] [--dry-run]

Lists the webhook's deliveries of the last --since (GitHub keeps 3 days), and redelivers each
workflow_job delivery whose every attempt failed, unless its job is no longer queued.
Credentials: GITHUB_TOKEN (a token that can read the hook and the jobs) or GITHUB_AUTH_SECRET_ARN;
GITHUB_API_URL for GitHub Enterprise Server.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      org: { type: 'string' },
      'hook-id': { type: 'string' },
      app: { type: 'boolean', default: false },
      since: { type: 'string', default: '6h' },
      max: { type: 'string', default: '50' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const settings = parseRedeliverSettings(
    {
      ...process.env,
      GITHUB_HOOK: values.app ? 'app' : '',
      GITHUB_ORG: values.org,
      GITHUB_HOOK_ID: values['hook-id'],
      REDELIVER_SINCE: values.since,
      REDELIVER_MAX: values.max,
      DRY_RUN: String(values['dry-run']),
    },
    {
      GITHUB_ORG: '--org',
      GITHUB_HOOK_ID: '--hook-id',
      GITHUB_HOOK: '--app',
      REDELIVER_SINCE: '--since',
      REDELIVER_MAX: '--max',
    },
  );
  let bar: ((done: number) => void) | undefined;
  const summary = await runRedeliverSweep(settings, {
    onProgress: (done, total) => {
      bar ??= progressBar(total);
      bar(done);
    },
    log: { warn: (message) => console.warn(message) },
  });
  const verb = settings.dryRun ? 'would redeliver' : 'redelivered';
  console.log(
    formatTable([
      ['workflow_job deliveries found', summary.found],
      ['failed on every attempt', summary.failed],
      [verb, summary.redelivered.length],
      ['skipped', summary.skipped.length],
    ]),
  );
  for (const guid of summary.redelivered) console.log(`${verb}: ${guid}`);
  for (const { guid, reason } of summary.skipped) console.log(`skipped: ${guid}: ${reason}`);
  return 0;
}

runCommand('redeliver', usage, main);
