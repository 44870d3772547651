import { errorMessage } from '../errors';
import { type BuildReason, type PlannedBuild, planImageBuilds } from './image-build-plan';
import type { BuiltImages, ImageBuilds, RunnerReleases } from './image-ports';
import type { ImageReleaseSettings } from './image-settings';
import { type Architecture, parseRunnerRelease } from './runner-release';

export interface ImageReleaseDependencies {
  readonly settings: ImageReleaseSettings;
  readonly releases: RunnerReleases;
  readonly images: BuiltImages;
  readonly builds: ImageBuilds;
}

/** What one release check did. */
export interface ImageReleaseSummary {
  /** GitHub's latest runner release. */
  readonly version: string;
  readonly started: ReadonlyArray<{
    readonly architecture: Architecture;
    readonly buildId: string;
    readonly why: string;
  }>;
  readonly skipped: ReadonlyArray<{ readonly architecture: Architecture; readonly why: string }>;
  /** Builds not started: the package did not match the checksum its release lists. */
  readonly refused: ReadonlyArray<{ readonly architecture: Architecture; readonly why: string }>;
}

export interface ImageReleaseRequest {
  readonly reason: BuildReason;
  /** Only this architecture (a deploy's custom resource is one architecture's); undefined: every target. */
  readonly architecture?: Architecture;
  /** Added to each build's environment (the deploy's response, for the build to send). */
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * Starts the image builds GitHub's latest runner release calls for. Gather: the release (its
 * checksums from its own notes) and each architecture's image now. Decide: {@link planImageBuilds}.
 * Act: each package is downloaded and checked against its listed SHA-256 first; a mismatch starts
 * no build (nothing can be pushed), and the build checks the checksum again itself
 * (`RUNNER_SHA256`, `sha256sum -c` in the Dockerfile).
 */
export async function runImageRelease(
  request: ImageReleaseRequest,
  deps: ImageReleaseDependencies,
): Promise<ImageReleaseSummary> {
  const release = parseRunnerRelease(await deps.releases.latest());
  const targets = deps.settings.targets.filter(
    (target) => request.architecture === undefined || target.architecture === request.architecture,
  );
  const current = new Map<Architecture, string | undefined>();
  for (const target of targets)
    current.set(target.architecture, (await deps.images.current(target.parameter))?.image);
  const plan = planImageBuilds({ release, current, reason: request.reason });

  const started: Array<{ architecture: Architecture; buildId: string; why: string }> = [];
  const refused: Array<{ architecture: Architecture; why: string }> = [];
  for (const build of plan.builds) {
    const target = targets.find((candidate) => candidate.architecture === build.architecture);
    if (target === undefined) continue;
    const mismatch = await checksumMismatch(build, deps.releases);
    if (mismatch !== undefined) {
      refused.push({ architecture: build.architecture, why: mismatch });
      continue;
    }
    const buildId = await deps.builds.start(target.project, {
      RUNNER_VERSION: build.version,
      RUNNER_SHA256: build.package.sha256,
      RUNNER_URL: build.package.url,
      ...request.environment,
    });
    started.push({ architecture: build.architecture, buildId, why: build.why });
  }
  return { version: release.version, started, skipped: plan.skipped, refused };
}

/** Why the package does not match its listed checksum; undefined when it does. */
async function checksumMismatch(build: PlannedBuild, releases: RunnerReleases): Promise<string | undefined> {
  let actual: string;
  try {
    actual = await releases.sha256Of(build.package.url);
  } catch (error) {
    return `could not download ${build.package.name} to check it: ${errorMessage(error)}`;
  }
  return actual === build.package.sha256
    ? undefined
    : `${build.package.name} has SHA-256 ${actual}, not the ${build.package.sha256} its release lists: no build started`;
}
