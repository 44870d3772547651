/**
 * actions/runner releases as GitHub's REST API answers them, with release notes in the layout of
 * actions/runner's releaseNote.md: every package's SHA-256 between its markers
 * (`<!-- BEGIN SHA linux-x64 -->…<!-- END SHA linux-x64 -->`), the other platforms and the
 * `noexternals` packages included, so that only the marked checksum of the right package can match.
 */
import { createHash } from 'node:crypto';

export interface ReleaseOptions {
  readonly version: string;
  readonly publishedAt: string;
  /** Where the Linux packages download from, `{arch}` standing for x64 or arm64. */
  readonly downloadUrl: string;
  /** The SHA-256 the notes list per Linux package; default: `sha256` for both. */
  readonly checksums: { readonly x64: string; readonly arm64: string };
}

const other = (name: string) => createHash('sha256').update(name).digest('hex');

export function runnerRelease(options: ReleaseOptions): Record<string, unknown> {
  const { version } = options;
  const packages = [
    ['win-x64', `actions-runner-win-x64-${version}.zip`, other('win-x64')],
    ['osx-arm64', `actions-runner-osx-arm64-${version}.tar.gz`, other('osx-arm64')],
    ['linux-x64', `actions-runner-linux-x64-${version}.tar.gz`, options.checksums.x64],
    ['linux-arm64', `actions-runner-linux-arm64-${version}.tar.gz`, options.checksums.arm64],
    ['linux-arm', `actions-runner-linux-arm-${version}.tar.gz`, other('linux-arm')],
    ['linux-x64_noexternals', `actions-runner-linux-x64-${version}-noexternals.tar.gz`, other('noexternals')],
  ] as const;
  const body = [
    "## What's Changed",
    `* Bump the runner's dependencies by @dependabot in https://github.com/actions/runner/pull/4000 (${other('pr')})`,
    '',
    '## Linux x64',
    '``` bash',
    `curl -o actions-runner-linux-x64-${version}.tar.gz -L https://github.com/actions/runner/releases/download/v${version}/actions-runner-linux-x64-${version}.tar.gz`,
    '```',
    '',
    '## SHA-256 Checksums',
    '',
    'The SHA-256 checksums for the packages included in this build are shown below:',
    '',
    ...packages.map(
      ([marker, name, sha]) => `- ${name} <!-- BEGIN SHA ${marker} -->${sha}<!-- END SHA ${marker} -->`,
    ),
  ].join('\n');
  return {
    id: Number(version.replaceAll('.', '')),
    tag_name: `v${version}`,
    name: `v${version}`,
    draft: false,
    prerelease: false,
    created_at: options.publishedAt,
    published_at: options.publishedAt,
    body,
    assets: packages.map(([marker, name]) => ({
      name,
      browser_download_url:
        marker.startsWith('linux-x64') && !marker.includes('noexternals')
          ? options.downloadUrl.replace('{arch}', 'x64')
          : marker === 'linux-arm64'
            ? options.downloadUrl.replace('{arch}', 'arm64')
            : `https://github.com/actions/runner/releases/download/v${version}/${name}`,
    })),
  };
}
