import type { GitHubCredentialSetting } from '../config';
import { familyOf } from '../ecs/runner-tasks';
import { parseGitHubCredentials } from '../github/credentials';
import type { GitHubAccessFacts } from './check-github-access';
import { neededPermissions } from './check-github-access';
import type { SecretFacts } from './check-secrets';
import type { DoctorFacts } from './diagnose';
import type { DoctorOptions } from './doctor-options';
import type { DoctorPorts } from './doctor-ports';
import { resolveTargets } from './doctor-targets';
import { parseEcrImage } from './ecr-image';
import type { Gathered } from './finding';

/** A failed call as the doctor reports it: GitHub's HTTP status, or the AWS error's name, and its message. */
function describeFailure(error: unknown): { ok: false; error: string; code: string } {
  const { status, name, message } = error as { status?: unknown; name?: unknown; message?: unknown };
  const text = String(message ?? error).split('\n')[0] ?? '';
  const code = typeof status === 'number' ? `HTTP ${status}` : typeof name === 'string' ? name : 'Error';
  return { ok: false, error: `${code}: ${text}`, code };
}

/** A call's answer, or its failure as a fact: what every check reads. */
export async function attempt<T>(call: () => Promise<T>): Promise<Gathered<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return describeFailure(error);
  }
}

/**
 * Gathers what every check needs, through the ports, calling independent services at once. A
 * failed call becomes a fact (the check says what it means); nothing here throws.
 */
export async function gatherFacts(options: DoctorOptions, ports: DoctorPorts): Promise<DoctorFacts> {
  const { aws } = ports;
  const region = await aws.region().catch(() => options.region ?? 'the default region');
  const stack = await attempt(() => aws.stack(options.stackName));
  const targets = resolveTargets(options, stack.ok ? stack.value : undefined);

  const secret = (arn: string | undefined) =>
    arn === undefined ? undefined : attempt(() => aws.secretValue(arn)).then((read) => ({ ...read, arn }));
  const [webhookSecret, githubCredentials, registrationToken] = await Promise.all([
    secret(targets.webhookSecretArn),
    secret(targets.githubAuthSecretArn),
    secret(targets.registrationTokenSecretArn),
  ]);
  const secrets: SecretFacts = { webhookSecret, githubCredentials, registrationToken };

  const ecsResource = <T>(name: string | undefined, describe: (name: string) => Promise<T | undefined>) =>
    name === undefined ? undefined : attempt(() => describe(name)).then((found) => ({ name, found }));
  const awsFacts = Promise.all([
    ecsResource(targets.cluster, (name) => aws.cluster(name)),
    ecsResource(targets.taskDefinition, (name) => aws.taskDefinition(name)),
    ecsResource(targets.capacityProvider, (name) => aws.capacityProvider(name)),
    gatherAlarms(ports, targets.alarmNames),
  ]);

  const credentials = usableCredentials(secrets, targets.githubAuthSecretArn);
  const github = credentials && ports.github(credentials.setting, credentials.value);
  const { scope, group, scopeKind } = targets;
  const { hook } = options;
  // The App's installation where runners register: the repository's for repository runners
  // (with --repo), else the organisation's.
  const installationTarget =
    scopeKind === 'repo' && options.repo !== undefined
      ? { where: `repository ${options.repo.owner}/${options.repo.repo}`, target: options.repo }
      : scopeKind !== 'enterprise' && options.org !== undefined
        ? { where: `organisation ${options.org}`, target: { org: options.org } }
        : undefined;
  const needs = neededPermissions(scopeKind, hook?.kind === 'org' ? 'org' : 'app');
  const installation = async (): Promise<GitHubAccessFacts['installation']> => {
    if (github === undefined || installationTarget === undefined || needs === undefined) return undefined;
    const kind = await github.credentialsKind().catch(() => undefined);
    if (kind === 'token') return 'token';
    if (kind === undefined) return undefined;
    const { where, target } = installationTarget;
    return { where, needs, found: await attempt(() => github.installation(target)) };
  };
  const [runners, groupExists, deliveries, installed] = await Promise.all([
    github && scope ? attempt(async () => (await github.runners.listRunners(scope)).length) : undefined,
    github && scope && group !== undefined
      ? attempt(
          async () =>
            (await github.runners.runnerGroupId(scope, group, {
              create: false,
              allowPublicRepositories: false,
            })) !== undefined,
        )
      : undefined,
    github && hook ? attempt(() => github.deliveries(hook).list(Date.now() - options.sinceMs)) : undefined,
    installation(),
  ]);

  const [cluster, taskDefinition, capacityProvider, alarms] = await awsFacts;
  // The image tasks start from: the family's latest revision (the rollout registers revisions
  // after the deploy's), else the deploy's own.
  const latest =
    targets.image === undefined && targets.taskDefinition !== undefined
      ? await attempt(() => aws.taskDefinition(familyOf(targets.taskDefinition as string)))
      : undefined;
  const image =
    targets.image ??
    (latest?.ok ? latest.value?.image : undefined) ??
    (taskDefinition?.found.ok ? taskDefinition.found.value?.image : undefined);
  const ecr = image === undefined ? undefined : parseEcrImage(image);
  const [imageState, releases, imageBuilds] = await Promise.all([
    ecr === undefined ? undefined : attempt(() => aws.image(ecr)),
    image === undefined ? undefined : attempt(() => ports.releases.recent(30)),
    targets.imageBuildProjects === undefined
      ? undefined
      : attempt(() => aws.imageBuilds(targets.imageBuildProjects ?? [])),
  ]);

  return {
    stack: {
      name: options.stackName,
      region,
      status: stack.ok ? { ok: true, value: stack.value?.status } : stack,
    },
    secrets,
    deliveries: {
      hook,
      since: options.since,
      deliveries: deliveries && (deliveries.ok ? { ok: true, value: deliveries.value } : deliveries),
    },
    github: {
      scopeKind,
      scopeFrom: targets.scopeFrom,
      installation: installed,
      scope,
      runners,
      group:
        group === undefined || groupExists === undefined ? undefined : { name: group, exists: groupExists },
    },
    image: { image, state: imageState },
    runnerVersion: {
      image,
      releases,
      now: Date.now(),
      rebuild: rebuildFix(targets.imageReleaseFunction, targets.imageBuildProjects),
    },
    imageBuild: { projects: targets.imageBuildProjects, builds: imageBuilds },
    ecs: { cluster, taskDefinition, capacityProvider },
    alarms,
  };
}

/** How to get an image of the latest runner release: the stack's release check now, or a build of one's own. */
function rebuildFix(releaseFunction: string | undefined, projects: readonly string[] | undefined): string {
  if (projects === undefined) {
    return 'the image is pinned (imageUri or imageTag): build and push one of the latest runner release and deploy with its imageTag, or leave both unset for the stack to build it (docs/runner-image.md)';
  }
  const invoke =
    releaseFunction === undefined
      ? 'invoke the stack\'s image-release function with {"reason":"check"}'
      : `aws lambda invoke --function-name ${releaseFunction} --cli-binary-format raw-in-base64-out --payload '{"reason":"check"}' /dev/stdout`;
  return `the stack builds the latest release daily; build it now: ${invoke}, then see image-build (docs/runner-image.md)`;
}

/** The GitHub credentials to check with: the credentials secret, when it holds usable ones. */
export function usableCredentials(
  secrets: SecretFacts,
  arn: string | undefined,
): { setting: GitHubCredentialSetting; value: string } | undefined {
  const read = secrets.githubCredentials;
  if (arn === undefined || read === undefined || !read.ok) return undefined;
  try {
    parseGitHubCredentials(read.value);
  } catch {
    return undefined;
  }
  return { setting: { kind: 'secrets-manager', arn }, value: read.value };
}

async function gatherAlarms(
  ports: DoctorPorts,
  names: readonly string[] | undefined,
): Promise<DoctorFacts['alarms']> {
  if (names === undefined) return { alarms: undefined, subscriptions: new Map() };
  const alarms = await attempt(() => (names.length === 0 ? Promise.resolve([]) : ports.aws.alarms(names)));
  const topics = alarms.ok
    ? [
        ...new Set(
          alarms.value.flatMap((alarm) => alarm.actions.filter((action) => action.split(':')[2] === 'sns')),
        ),
      ]
    : [];
  const subscriptions = await Promise.all(
    topics.map(async (topic) => [topic, await attempt(() => ports.aws.subscriptions(topic))] as const),
  );
  return { alarms, subscriptions: new Map(subscriptions) };
}
