/**
 * The runner image's release check with Octokit and the real SSM and CodeBuild clients, against a
 * GitHub stand-in serving actions/runner releases (notes in the real layout, packages downloadable
 * from loopback) and stand-ins of SSM and CodeBuild: which builds start, with which release, and
 * that a package whose bytes do not match its listed checksum starts none.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createCodeBuildImageBuilds, createSsmBuiltImages } from '../../shared/image/aws-image-ports';
import {
  type DeployRequest,
  type DeployResponse,
  handleDeployRequest,
  respondToCloudFormation,
} from '../../shared/image/deploy-build';
import { createRunnerReleases } from '../../shared/image/github-releases';
import { type ImageReleaseDependencies, runImageRelease } from '../../shared/image/image-release';
import { parseImageReleaseSettings } from '../../shared/image/image-settings';
import type { StandIn } from '../support/aws-stand-in';
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in';
import {
  type StandInBuild,
  type StandInParameter,
  startCodeBuildStandIn,
  startSsmStandIn,
} from '../support/image-build-stand-ins';
import { runnerRelease } from '../support/runner-releases';

const PREFIX = '/GitHubRunners/runner-image';
const REPOSITORY = '123456789012.dkr.ecr.us-east-1.amazonaws.com/github-actions-self-hosted-runner-debian';
const TARGETS = [
  { architecture: 'x86_64', project: 'GitHubRunners-runner-image-x86_64', parameter: `${PREFIX}/x86_64` },
  { architecture: 'arm64', project: 'GitHubRunners-runner-image-arm64', parameter: `${PREFIX}/arm64` },
];
/** The two packages' bytes, as the release's download URLs serve them. */
const PACKAGES = { x64: Buffer.from('runner x64 package'), arm64: Buffer.from('runner arm64 package') };
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let github: GitHubStandIn;
let ssm: StandIn & { parameters: Map<string, StandInParameter> };
let codeBuild: StandIn & { builds: StandInBuild[] };
let packages: { url: string; close(): Promise<void> };
let cloudFormation: { url: string; responses: DeployResponse[]; close(): Promise<void> };
let deps: ImageReleaseDependencies;

/** Serves each Linux package at /actions-runner-linux-<arch>-<version>.tar.gz. */
async function servePackages() {
  const server = createServer((request, response) => {
    const arch = /linux-(x64|arm64)-/.exec(request.url ?? '')?.[1] as keyof typeof PACKAGES | undefined;
    if (arch === undefined) response.writeHead(404).end();
    else response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(PACKAGES[arch]);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** CloudFormation's pre-signed response URL: records what each PUT says. */
async function serveResponseUrl() {
  const responses: DeployResponse[] = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    request.on('end', () => {
      if (request.method === 'PUT') responses.push(JSON.parse(text) as DeployResponse);
      response.writeHead(request.method === 'PUT' ? 200 : 405).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cloudformation-response?X-Amz-Signature=abc`,
    responses,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A release of version `version`, published `daysAgo`, listing `checksums` (default: the packages' own). */
function release(
  version: string,
  daysAgo: number,
  checksums = { x64: sha256(PACKAGES.x64), arm64: sha256(PACKAGES.arm64) },
) {
  return runnerRelease({
    version,
    publishedAt: new Date(Date.now() - daysAgo * 86_400_000).toISOString(),
    downloadUrl: `${packages.url}/actions-runner-linux-{arch}-${version}.tar.gz`,
    checksums,
  });
}

const built = (architecture: string, image: string | undefined) => {
  const parameter = `${PREFIX}/${architecture}`;
  if (image === undefined) ssm.parameters.delete(parameter);
  else ssm.parameters.set(parameter, { value: image, modifiedAt: Date.now() - 86_400_000 });
};

beforeAll(async () => {
  github = await startGitHubStandIn();
  ssm = await startSsmStandIn(new Map());
  codeBuild = await startCodeBuildStandIn(TARGETS.map((target) => target.project));
  packages = await servePackages();
  cloudFormation = await serveResponseUrl();
  process.env.AWS_ENDPOINT_URL_SSM = ssm.url;
  process.env.AWS_ENDPOINT_URL_CODEBUILD = codeBuild.url;
  const settings = parseImageReleaseSettings({
    IMAGE_BUILDS: JSON.stringify(TARGETS),
    GITHUB_API_URL: github.url,
  });
  deps = {
    settings,
    releases: createRunnerReleases(settings.apiUrl),
    images: createSsmBuiltImages(),
    builds: createCodeBuildImageBuilds(),
  };
});
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_SSM;
  delete process.env.AWS_ENDPOINT_URL_CODEBUILD;
  await Promise.all([
    github.close(),
    ssm.close(),
    codeBuild.close(),
    packages.close(),
    cloudFormation.close(),
  ]);
});
beforeEach(() => {
  github.releases.splice(0, github.releases.length, release('2.339.0', 2), release('2.338.0', 40));
  built('x86_64', `${REPOSITORY}:2.338.0-x64-7`);
  built('arm64', `${REPOSITORY}:2.338.0-arm64-7`);
  codeBuild.builds.length = 0;
  cloudFormation.responses.length = 0;
});
afterEach(() => expect(github.violations).toEqual([]));

describe('the daily release check', () => {
  it("starts a build per architecture of GitHub's latest release, with its version, checksum and package", async () => {
    const summary = await runImageRelease({ reason: 'check' }, deps);
    expect(summary.version).toBe('2.339.0');
    expect(codeBuild.builds.map((build) => [build.project, build.environment])).toEqual([
      [
        TARGETS[0]?.project,
        {
          RUNNER_VERSION: '2.339.0',
          RUNNER_SHA256: sha256(PACKAGES.x64),
          RUNNER_URL: `${packages.url}/actions-runner-linux-x64-2.339.0.tar.gz`,
        },
      ],
      [
        TARGETS[1]?.project,
        {
          RUNNER_VERSION: '2.339.0',
          RUNNER_SHA256: sha256(PACKAGES.arm64),
          RUNNER_URL: `${packages.url}/actions-runner-linux-arm64-2.339.0.tar.gz`,
        },
      ],
    ]);
    expect(summary.started.map((started) => started.why)).toEqual([
      'runner 2.339.0 is out; the image has 2.338.0',
      'runner 2.339.0 is out; the image has 2.338.0',
    ]);
  });

  it('reads the release without credentials', async () => {
    const before = github.requests.length;
    await runImageRelease({ reason: 'check' }, deps);
    const asked = github.requests
      .slice(before)
      .filter((request) => request.operation.endsWith('/releases/latest'));
    expect(asked.map((request) => [request.path, request.authorization, request.status])).toEqual([
      ['/repos/actions/runner/releases/latest', '', 200],
    ]);
  });

  it('starts nothing where the image already has the latest release', async () => {
    built('x86_64', `${REPOSITORY}:2.339.0-x64-8`);
    const summary = await runImageRelease({ reason: 'check' }, deps);
    expect(codeBuild.builds.map((build) => build.project)).toEqual([TARGETS[1]?.project]);
    expect(summary.skipped).toEqual([
      { architecture: 'x86_64', why: "the image has runner 2.339.0, GitHub's latest" },
    ]);
  });

  it('builds an architecture that has no image yet', async () => {
    built('arm64', undefined);
    const summary = await runImageRelease({ reason: 'check' }, deps);
    expect(summary.started.find((started) => started.architecture === 'arm64')?.why).toBe(
      'no image built yet',
    );
  });

  it('starts no build, and so pushes nothing, when a package does not match the checksum its release lists', async () => {
    github.releases.unshift(release('2.340.0', 0, { x64: 'a'.repeat(64), arm64: sha256(PACKAGES.arm64) }));
    const summary = await runImageRelease({ reason: 'check' }, deps);
    expect(codeBuild.builds.map((build) => build.project)).toEqual([TARGETS[1]?.project]);
    expect(summary.refused).toEqual([
      {
        architecture: 'x86_64',
        why: `actions-runner-linux-x64-2.340.0.tar.gz has SHA-256 ${sha256(PACKAGES.x64)}, not the ${'a'.repeat(64)} its release lists: no build started`,
      },
    ]);
  });

  it('starts nothing when the release lists no checksum for its packages', async () => {
    const unsigned = release('2.340.0', 0);
    github.releases.unshift({ ...unsigned, body: 'Bug fixes.' });
    await expect(runImageRelease({ reason: 'check' }, deps)).rejects.toThrow(
      /no Linux package with its SHA-256/,
    );
    expect(codeBuild.builds).toEqual([]);
  });

  it("never builds an older runner than the image has, even when GitHub's latest is older", async () => {
    built('x86_64', `${REPOSITORY}:2.340.0-x64-9`);
    const summary = await runImageRelease({ reason: 'rebuild' }, deps);
    expect(codeBuild.builds.map((build) => build.project)).toEqual([TARGETS[1]?.project]);
    expect(summary.skipped[0]?.why).toBe("the image has runner 2.340.0, newer than GitHub's latest 2.339.0");
  });

  it('ignores a prerelease', async () => {
    github.releases.unshift({ ...release('2.341.0', 0), prerelease: true });
    expect((await runImageRelease({ reason: 'check' }, deps)).version).toBe('2.339.0');
  });
});

describe('the weekly rebuild', () => {
  it('rebuilds the latest release where the image has it already: a refreshed base and packages', async () => {
    built('x86_64', `${REPOSITORY}:2.339.0-x64-8`);
    built('arm64', `${REPOSITORY}:2.339.0-arm64-8`);
    const summary = await runImageRelease({ reason: 'rebuild' }, deps);
    expect(summary.started.map((started) => [started.architecture, started.why])).toEqual([
      ['x86_64', 'the scheduled rebuild: a refreshed base and packages'],
      ['arm64', 'the scheduled rebuild: a refreshed base and packages'],
    ]);
  });
});

describe('a deploy', () => {
  const request = (changes: Partial<DeployRequest> = {}): DeployRequest => ({
    RequestType: 'Create',
    ResponseURL: cloudFormation.url,
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/GitHubRunners/0f1e2d3c',
    RequestId: 'b9a5e2f0-request',
    LogicalResourceId: 'RunnerImageX8664',
    ResourceProperties: { Architecture: 'x86_64', Source: 'asset-hash-1' },
    ...changes,
  });
  const deploy = (changes: Partial<DeployRequest> = {}) =>
    handleDeployRequest(request(changes), { ...deps, respond: respondToCloudFormation });

  it('starts the first build and leaves the answer to CloudFormation to the build, which it tells how', async () => {
    built('x86_64', undefined);
    expect((await deploy()).answered).toBe('by-the-build');
    expect(cloudFormation.responses).toEqual([]);
    const [build] = codeBuild.builds;
    expect(build?.project).toBe(TARGETS[0]?.project);
    const answer = {
      PhysicalResourceId: 'runner-image-x86_64',
      StackId: request().StackId,
      RequestId: request().RequestId,
      LogicalResourceId: 'RunnerImageX8664',
      Data: {},
    };
    expect(build?.environment.DEPLOY_RESPONSE_URL).toBe(cloudFormation.url);
    expect(JSON.parse(build?.environment.DEPLOY_ON_SUCCESS ?? '{}')).toEqual({
      Status: 'SUCCESS',
      Reason: expect.any(String),
      ...answer,
    });
    // The first deploy fails with the build: there is no image to run.
    expect(JSON.parse(build?.environment.DEPLOY_ON_FAILURE ?? '{}')).toEqual({
      Status: 'FAILED',
      Reason: 'the x86_64 runner image build failed: its log is in CodeBuild',
      ...answer,
    });
  });

  it('builds again when the image source changed, a failed build keeping the last good image', async () => {
    await deploy({
      RequestType: 'Update',
      PhysicalResourceId: 'runner-image-x86_64',
      OldResourceProperties: { Source: 'asset-hash-0' },
    });
    expect(JSON.parse(codeBuild.builds[0]?.environment.DEPLOY_ON_FAILURE ?? '{}')).toMatchObject({
      Status: 'SUCCESS',
      Reason: expect.stringContaining('the last good image stays'),
    });
  });

  it('answers at once when the image source is unchanged, building nothing', async () => {
    await deploy({
      RequestType: 'Update',
      PhysicalResourceId: 'runner-image-x86_64',
      OldResourceProperties: { Source: 'asset-hash-1' },
    });
    expect(codeBuild.builds).toEqual([]);
    expect(cloudFormation.responses).toMatchObject([
      { Status: 'SUCCESS', PhysicalResourceId: 'runner-image-x86_64', RequestId: request().RequestId },
    ]);
  });

  it('answers a deletion at once, keeping the images', async () => {
    await deploy({ RequestType: 'Delete', PhysicalResourceId: 'runner-image-x86_64' });
    expect(cloudFormation.responses).toMatchObject([
      { Status: 'SUCCESS', LogicalResourceId: 'RunnerImageX8664' },
    ]);
  });

  it('fails the first deploy when the package does not match its checksum, starting no build', async () => {
    built('x86_64', undefined);
    github.releases.unshift(release('2.340.0', 0, { x64: 'b'.repeat(64), arm64: sha256(PACKAGES.arm64) }));
    await deploy();
    expect(codeBuild.builds).toEqual([]);
    expect(cloudFormation.responses).toMatchObject([
      { Status: 'FAILED', Reason: expect.stringContaining('not the bbbb') },
    ]);
  });

  it('fails the first deploy when GitHub cannot be read, saying why', async () => {
    built('x86_64', undefined);
    github.outage = { status: 503 };
    try {
      await deploy();
    } finally {
      github.outage = undefined;
    }
    expect(cloudFormation.responses).toMatchObject([
      { Status: 'FAILED', Reason: expect.stringContaining('could not start the x86_64 image build') },
    ]);
  });
});
