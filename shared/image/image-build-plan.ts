import { versionOfImage } from './built-image';
import { type Architecture, compareVersions, type RunnerPackage, type RunnerRelease } from './runner-release';

/**
 * Why builds are asked for: `check`, the daily look at GitHub's latest release (a build only where
 * the image is older); `rebuild`, the weekly schedule (the same release again, for a refreshed
 * base and packages); `deploy`, a deploy whose image source changed, or the first.
 */
export type BuildReason = 'check' | 'rebuild' | 'deploy';

/** One build to start: an architecture's image of the release. */
export interface PlannedBuild {
  readonly architecture: Architecture;
  readonly version: string;
  readonly package: RunnerPackage;
  readonly why: string;
}

export interface ImageBuildPlan {
  readonly builds: readonly PlannedBuild[];
  readonly skipped: ReadonlyArray<{ readonly architecture: Architecture; readonly why: string }>;
}

/**
 * Which architectures get a build of `release`, from the image each has now (the image parameter's
 * value; undefined: never built). Pure. No build ever goes back to an older runner than the
 * image has: the task definitions follow the newest image, and GitHub would refuse an older one sooner.
 */
export function planImageBuilds(input: {
  readonly release: RunnerRelease;
  readonly current: ReadonlyMap<Architecture, string | undefined>;
  readonly reason: BuildReason;
}): ImageBuildPlan {
  const { release, reason } = input;
  const builds: PlannedBuild[] = [];
  const skipped: Array<{ architecture: Architecture; why: string }> = [];
  for (const [architecture, image] of input.current) {
    const runnerPackage = release.packages[architecture];
    if (runnerPackage === undefined) {
      skipped.push({
        architecture,
        why: `release ${release.version} lists no ${architecture} package with its checksum`,
      });
      continue;
    }
    const version = image === undefined ? undefined : versionOfImage(image);
    const order = version === undefined ? -1 : compareVersions(version, release.version);
    if (order > 0) {
      skipped.push({
        architecture,
        why: `the image has runner ${version}, newer than GitHub's latest ${release.version}`,
      });
    } else if (order === 0 && reason === 'check') {
      skipped.push({ architecture, why: `the image has runner ${version}, GitHub's latest` });
    } else {
      const why =
        image === undefined
          ? 'no image built yet'
          : order < 0
            ? `runner ${release.version} is out; the image has ${version ?? `an unknown version (${image})`}`
            : reason === 'rebuild'
              ? 'the scheduled rebuild: a refreshed base and packages'
              : 'the image source changed';
      builds.push({ architecture, version: release.version, package: runnerPackage, why });
    }
  }
  return { builds, skipped };
}
