import { describe, expect, it } from '@jest/globals';
import { builtImageTag, versionOfImage } from '../../shared/image/built-image';
import { planImageBuilds } from '../../shared/image/image-build-plan';
import { type Architecture, compareVersions, parseRunnerRelease } from '../../shared/image/runner-release';
import { runnerRelease } from '../support/runner-releases';

const X64 = '1'.repeat(64);
const ARM64 = '2'.repeat(64);
const raw = (version = '2.339.0') =>
  runnerRelease({
    version,
    publishedAt: '2026-11-20T10:00:00Z',
    downloadUrl: `https://github.com/actions/runner/releases/download/v${version}/actions-runner-linux-{arch}-${version}.tar.gz`,
    checksums: { x64: X64, arm64: ARM64 },
  });

describe('a runner release', () => {
  it('takes each Linux package and the checksum its notes mark for it, not another hex string', () => {
    const release = parseRunnerRelease(raw());
    expect(release).toEqual({
      version: '2.339.0',
      publishedAt: '2026-11-20T10:00:00Z',
      packages: {
        x86_64: {
          name: 'actions-runner-linux-x64-2.339.0.tar.gz',
          url: 'https://github.com/actions/runner/releases/download/v2.339.0/actions-runner-linux-x64-2.339.0.tar.gz',
          sha256: X64,
        },
        arm64: {
          name: 'actions-runner-linux-arm64-2.339.0.tar.gz',
          url: 'https://github.com/actions/runner/releases/download/v2.339.0/actions-runner-linux-arm64-2.339.0.tar.gz',
          sha256: ARM64,
        },
      },
    });
  });

  it('is refused without a version or any marked checksum, saying what is missing', () => {
    expect(() => parseRunnerRelease({ ...raw(), tag_name: 'nightly', body: '' })).toThrow(
      /tag_name is not a runner version[\s\S]*no Linux package with its SHA-256/,
    );
  });

  it('leaves out an architecture whose checksum the notes do not mark', () => {
    const body = String(raw().body).replace(
      /<!-- BEGIN SHA linux-arm64 -->\w+<!-- END SHA linux-arm64 -->/,
      '',
    );
    expect(Object.keys(parseRunnerRelease({ ...raw(), body }).packages)).toEqual(['x86_64']);
  });

  it('orders versions by number, not text', () => {
    expect(compareVersions('2.339.0', '2.99.0')).toBeGreaterThan(0);
    expect(compareVersions('2.338.0', '2.338.0')).toBe(0);
  });
});

describe("an image's runner version", () => {
  it.each([
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/runner:2.338.0-x64-12', '2.338.0'],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/runner:2.338.0-2', '2.338.0'],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/runner:2.338.0', '2.338.0'],
    ['registry.example.com:5000/runner:latest', undefined],
    ['{{resolve:ssm:/GitHubRunners/runner-image/x86_64}}', undefined],
  ])('of %s is %s', (image, version) => {
    expect(versionOfImage(image)).toBe(version);
  });

  it("is in the tag of the stack's builds, with the architecture and the build number", () => {
    expect(builtImageTag('2.339.0', 'arm64', 8)).toBe('2.339.0-arm64-8');
    expect(versionOfImage(`runner:${builtImageTag('2.339.0', 'x86_64', 8)}`)).toBe('2.339.0');
  });
});

describe('the builds a release calls for', () => {
  const release = parseRunnerRelease(raw());
  const plan = (reason: 'check' | 'rebuild' | 'deploy', images: Array<[Architecture, string | undefined]>) =>
    planImageBuilds({ release, current: new Map(images), reason });

  it.each<['check' | 'rebuild' | 'deploy', string | undefined, string | undefined]>([
    ['check', undefined, 'no image built yet'],
    ['check', 'runner:2.338.0-x64-7', 'runner 2.339.0 is out; the image has 2.338.0'],
    ['check', 'runner:2.339.0-x64-8', undefined],
    ['rebuild', 'runner:2.339.0-x64-8', 'the scheduled rebuild: a refreshed base and packages'],
    ['deploy', 'runner:2.339.0-x64-8', 'the image source changed'],
    ['deploy', 'runner:2.340.0-x64-9', undefined],
    ['rebuild', 'runner:2.340.0-x64-9', undefined],
  ])('on %s with the image %s: %s', (reason, image, why) => {
    expect(plan(reason, [['x86_64', image]]).builds.map((build) => build.why)).toEqual(
      why === undefined ? [] : [why],
    );
  });
});
