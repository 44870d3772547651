import { versionOfImage } from '../image/built-image';
import type { BuildFacts } from '../image/image-ports';
import {
  compareVersions,
  parseRunnerRelease,
  type RawRelease,
  type RunnerRelease,
} from '../image/runner-release';
import { type Finding, type Gathered, ok, problem, skipped, warning } from './finding';

/**
 * GitHub's rule for self-hosted runners with updates disabled: each new runner release must be
 * installed within 30 days, or GitHub queues no more jobs to the runner (GitHub Docs, "Runner
 * software updates on self-hosted runners"; enforced on github.com since 2026-09-25).
 */
export const UPDATE_WINDOW_DAYS = 30;
/** How close to that date the doctor starts to warn. */
export const WARN_DAYS = 7;

const DAY_MS = 86_400_000;

export interface RunnerVersionFacts {
  /** The image the runner family's latest revision runs; undefined when unknown. */
  readonly image: string | undefined;
  /** actions/runner's recent releases, newest first; undefined when not asked. */
  readonly releases: Gathered<readonly RawRelease[]> | undefined;
  /** When the facts were gathered (epoch ms). */
  readonly now: number;
  /** How to get a current image: the stack's release check, or the operator's own build. */
  readonly rebuild: string;
}

const day = (time: number) => new Date(time).toISOString().slice(0, 10);

/**
 * The runner in the image against GitHub's releases: past the 30 days GitHub gives to install the
 * first release newer than it, every job stays queued (a problem); within 7 days of that, a
 * warning. The clock starts at the oldest newer release, not the latest.
 */
export function checkRunnerVersion(facts: RunnerVersionFacts): Finding {
  const { image, releases, now } = facts;
  if (image === undefined) return skipped('runner-version', 'no runner image to check (see runner-image)');
  const version = versionOfImage(image);
  if (version === undefined)
    return skipped('runner-version', `the tag of ${image} names no runner version (e.g. 2.338.0-x64-12)`);
  if (releases === undefined) return skipped('runner-version', "GitHub's runner releases were not read");
  if (!releases.ok) {
    return warning(
      'runner-version',
      `cannot read actions/runner's releases to compare runner ${version} with: ${releases.error}`,
      'run the doctor where api.github.com answers (or pass --releases-api-url)',
    );
  }
  const published = releases.value
    .filter((raw) => raw.draft !== true && raw.prerelease !== true)
    .flatMap((raw): RunnerRelease[] => {
      try {
        return [parseRunnerRelease(raw)];
      } catch {
        return [];
      }
    });
  const newer = published.filter((release) => compareVersions(release.version, version) > 0);
  const latest = published[0];
  if (newer.length === 0 || latest === undefined) {
    return ok('runner-version', `the image has runner ${version}, GitHub's latest release`);
  }
  const first = newer.reduce((oldest, release) =>
    Date.parse(release.publishedAt) < Date.parse(oldest.publishedAt) ? release : oldest,
  );
  const deadline = Date.parse(first.publishedAt) + UPDATE_WINDOW_DAYS * DAY_MS;
  const left = Math.ceil((deadline - now) / DAY_MS);
  const since = `runner ${first.version} came out on ${day(Date.parse(first.publishedAt))} (GitHub's latest: ${latest.version})`;
  if (now >= deadline) {
    return problem(
      'runner-version',
      `the image has runner ${version}, older than GitHub allows: ${since}, and GitHub queues no jobs to a runner ${UPDATE_WINDOW_DAYS} days behind a release (since ${day(deadline)}): every job stays queued`,
      facts.rebuild,
    );
  }
  if (left <= WARN_DAYS) {
    return warning(
      'runner-version',
      `the image has runner ${version}: ${since}; GitHub stops queuing jobs to it on ${day(deadline)}, in ${left} day${left === 1 ? '' : 's'}`,
      facts.rebuild,
    );
  }
  return ok(
    'runner-version',
    `the image has runner ${version}; ${since}: it must be in the image by ${day(deadline)} (${left} days)`,
  );
}

export interface ImageBuildFacts {
  /** The stack's image build projects; undefined when the stack builds none (a pinned image). */
  readonly projects: readonly string[] | undefined;
  /** Each project's latest build (undefined: it has none). */
  readonly builds:
    | Gathered<ReadonlyArray<{ readonly project: string; readonly last: BuildFacts | undefined }>>
    | undefined;
}

const FAILED = ['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED'];

/** When each image build project last ran, and whether it succeeded. */
export function checkImageBuild(facts: ImageBuildFacts): Finding {
  if (facts.projects === undefined || facts.builds === undefined) {
    return skipped('image-build', 'the stack builds no runner image (imageUri or imageTag names one)');
  }
  if (!facts.builds.ok) {
    return warning(
      'image-build',
      `cannot read the image builds: ${facts.builds.error}`,
      'run the doctor with credentials allowed codebuild:ListBuildsForProject and codebuild:BatchGetBuilds',
    );
  }
  const lines = facts.builds.value.map(({ project, last }) =>
    last === undefined
      ? `${project}: no build yet`
      : `${project}: ${last.status === 'IN_PROGRESS' ? 'building since' : `${last.status.toLowerCase()},`} ${last.endedAt ?? last.startedAt ?? 'at an unknown time'}`,
  );
  const failed = facts.builds.value.filter(({ last }) => last !== undefined && FAILED.includes(last.status));
  if (failed.length > 0) {
    return warning(
      'image-build',
      `the last image build failed, the tasks keep the last good image: ${lines.join('; ')}`,
      `read its log: aws codebuild batch-get-builds --ids ${failed[0]?.last?.id} --query 'builds[0].logs.deepLink'`,
    );
  }
  if (facts.builds.value.some(({ last }) => last === undefined)) {
    return warning(
      'image-build',
      `no image build has run: ${lines.join('; ')}`,
      'deploy again: the deploy builds the image (docs/runner-image.md)',
    );
  }
  return ok('image-build', lines.join('; '));
}
