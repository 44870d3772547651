import { parseArgs } from 'node:util';
import { runCommand } from '../shared/cli/terminal';
import { createAwsDoctor } from '../shared/doctor/aws-doctor';
import { parseDoctorOptions } from '../shared/doctor/doctor-options';
import { formatReport, reportJson } from '../shared/doctor/doctor-report';
import { hasProblems } from '../shared/doctor/finding';
import { createGitHubDoctor } from '../shared/doctor/github-doctor';
import { runDoctor } from '../shared/doctor/run-doctor';
import { createRunnerReleases } from '../shared/image/github-releases';

const usage = `usage: npm run doctor -- [--stack GitHubRunners] [--region R] [--repo OWNER/NAME] [--org ORG [--hook-id ID] | --app] [--json]

After a deploy, checks what makes jobs fail quietly, and prints each problem with its fix: the
secrets, the webhook's recent deliveries, where the GitHub credentials can register runners, the
runner image in ECR, its runner version against GitHub's releases (30 days to update), its last
build, the ECS cluster, task definition and capacity provider, and the alarms'
subscribers. It reads the stack's outputs with your AWS credentials (read-only calls).
Exits 0 when nothing is wrong, 1 when a problem is found, 2 on a usage error.

  --stack NAME        the deployed stack (default GitHubRunners)
  --region R          its region (default: your AWS configuration's)
  --repo OWNER/NAME   a repository whose jobs the runners serve: with RUNNER_SCOPE=repo (the
                      default) runners register there; its owner is the organisation
  --org ORG           the organisation runners register in (also the webhook's owner)
  --enterprise SLUG   an enterprise instead of an organisation (needs --group)
  --group NAME        the runner group of organisation and enterprise runners (default: the
                      stack's RunnerGroupTemplate output rendered for --org, --repo and its Env tag)
  --scope S           repo, org or enterprise: the stack's RUNNER_SCOPE, for a stack deployed before
                      its RunnerScope output (which the doctor reads otherwise; default repo)
  --hook-id ID        the organisation webhook's id (the number in its settings URL), with --org
  --app               check the GitHub App's webhook instead
  --since 24h         how far back to look at deliveries (at most 3d)
  --github-api-url U  GitHub Enterprise Server's API (default $GITHUB_API_URL or https://api.github.com)
  --releases-api-url U  where actions/runner's releases are read (default https://api.github.com)
  --json              one JSON object for scripts
Targets the stack's outputs name can be given instead: --cluster, --task-definition,
--capacity-provider, --image, --webhook-secret-arn, --github-auth-secret-arn.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: 'string' },
      region: { type: 'string' },
      org: { type: 'string' },
      repo: { type: 'string' },
      scope: { type: 'string' },
      enterprise: { type: 'string' },
      group: { type: 'string' },
      'hook-id': { type: 'string' },
      app: { type: 'boolean', default: false },
      since: { type: 'string' },
      'github-api-url': { type: 'string' },
      'releases-api-url': { type: 'string' },
      cluster: { type: 'string' },
      'task-definition': { type: 'string' },
      'capacity-provider': { type: 'string' },
      image: { type: 'string' },
      'webhook-secret-arn': { type: 'string' },
      'github-auth-secret-arn': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const options = parseDoctorOptions(values, process.env);
  const report = await runDoctor(options, {
    aws: createAwsDoctor({ region: options.region }),
    releases: createRunnerReleases(options.releasesApiUrl),
    github: (credentials, secretValue) => createGitHubDoctor(options.apiUrl, credentials, secretValue),
  });
  console.log(options.json ? reportJson(report) : formatReport(report));
  return hasProblems(report.findings) ? 1 : 0;
}

runCommand('doctor', usage, main);
