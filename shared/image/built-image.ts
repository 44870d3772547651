import { type Architecture, RUNNER_ARCH } from './runner-release';

/**
 * The SSM parameter that names the current image of an architecture: written by the image build
 * after a push (never by the stack), read by the task definitions at every deploy
 * (`{{resolve:ssm:…}}`), by the rollout and by the instances at boot.
 */
export const imageParameterName = (prefix: string, architecture: Architecture): string =>
  `${prefix}/${architecture}`;

/**
 * The tag a build pushes: the runner version, the architecture and the build's number
 * (`2.338.0-x64-12`), so that a weekly rebuild of the same release (a refreshed base) gets a tag of
 * its own in a repository whose tags are immutable.
 */
export const builtImageTag = (version: string, architecture: Architecture, build: number): string =>
  `${version}-${RUNNER_ARCH[architecture]}-${build}`;

/** What an image reference says of the runner it carries: its tag's leading runner version. */
export interface ImageVersion {
  readonly image: string;
  readonly version: string;
}

/**
 * The runner version an image carries, read from its tag: the stack's builds (`2.338.0-x64-12`)
 * and the manual ones the docs describe (`2.338.0`, `2.338.0-2`). undefined when the tag names none.
 */
export function versionOfImage(image: string): string | undefined {
  const tag = /:([\w][\w.-]{0,127})(?:@sha256:[0-9a-f]{64})?$/.exec(image)?.[1];
  return tag === undefined ? undefined : /^v?(\d+\.\d+\.\d+)(?:$|[-_])/.exec(tag)?.[1];
}
