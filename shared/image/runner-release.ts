import { ConfigError } from '../errors';

/** The architectures the profiles run on (CDK's names). */
export type Architecture = 'x86_64' | 'arm64';

/** The runner release's name of an architecture: `actions-runner-linux-<arch>-<version>.tar.gz`. */
export const RUNNER_ARCH: Readonly<Record<Architecture, 'x64' | 'arm64'>> = { x86_64: 'x64', arm64: 'arm64' };

/** One Linux package of a runner release: where to download it and its SHA-256 from the release notes. */
export interface RunnerPackage {
  readonly name: string;
  readonly url: string;
  readonly sha256: string;
}

/** A release of actions/runner, as far as a build needs it. */
export interface RunnerRelease {
  readonly version: string;
  /** ISO time GitHub published it: GitHub's 30 days to install a newer release count from there. */
  readonly publishedAt: string;
  readonly packages: Readonly<Partial<Record<Architecture, RunnerPackage>>>;
}

/** A release as GitHub's REST API answers it (`GET /repos/actions/runner/releases/latest`), the fields read. */
export interface RawRelease {
  readonly tag_name?: unknown;
  readonly published_at?: unknown;
  readonly body?: unknown;
  readonly draft?: unknown;
  readonly prerelease?: unknown;
  readonly assets?: ReadonlyArray<{ readonly name?: unknown; readonly browser_download_url?: unknown }>;
}

const VERSION = /^\d+\.\d+\.\d+$/;

/**
 * Reads a runner release. The checksums are the release's own: actions/runner's release notes
 * list the SHA-256 of each package between markers, `<!-- BEGIN SHA linux-x64 -->…<!-- END SHA
 * linux-x64 -->` (its releaseNote.md template; the notes hold other 64-digit hex strings too, so
 * only the marked one counts). An architecture without its package or marked checksum is left
 * out; a release with neither version nor any package is refused.
 * @throws ConfigError naming what is missing.
 */
export function parseRunnerRelease(raw: RawRelease): RunnerRelease {
  const problems: string[] = [];
  const version = typeof raw.tag_name === 'string' ? raw.tag_name.replace(/^v/, '') : '';
  if (!VERSION.test(version))
    problems.push(`tag_name is not a runner version (got ${JSON.stringify(raw.tag_name)})`);
  const publishedAt = typeof raw.published_at === 'string' ? raw.published_at : '';
  if (Number.isNaN(Date.parse(publishedAt))) problems.push('published_at is not a time');
  const body = typeof raw.body === 'string' ? raw.body : '';
  const packages: Partial<Record<Architecture, RunnerPackage>> = {};
  for (const architecture of Object.keys(RUNNER_ARCH) as Architecture[]) {
    const arch = RUNNER_ARCH[architecture];
    const name = `actions-runner-linux-${arch}-${version}.tar.gz`;
    const asset = raw.assets?.find((candidate) => candidate.name === name);
    const marked = new RegExp(
      `<!-- BEGIN SHA linux-${arch} -->\\s*([0-9a-fA-F]{64})\\s*<!-- END SHA linux-${arch} -->`,
    ).exec(body);
    if (asset === undefined || typeof asset.browser_download_url !== 'string' || marked?.[1] === undefined)
      continue;
    packages[architecture] = { name, url: asset.browser_download_url, sha256: marked[1].toLowerCase() };
  }
  if (Object.keys(packages).length === 0)
    problems.push('no Linux package with its SHA-256 in the release notes (<!-- BEGIN SHA linux-x64 -->)');
  if (problems.length > 0) throw new ConfigError(problems.map((problem) => `runner release: ${problem}`));
  return { version, publishedAt, packages };
}

/** Compares two runner versions (`2.338.0`): negative when `a` is older. */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string) => version.split('.').map(Number);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const difference = (x[i] ?? 0) - (y[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
