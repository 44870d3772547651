import type { Env } from '../config';
import { ConfigError } from '../errors';
import type { Architecture } from './runner-release';

/** One architecture's image build: its CodeBuild project and the parameter its builds write. */
export interface ImageBuildTarget {
  readonly architecture: Architecture;
  readonly project: string;
  readonly parameter: string;
}

/** A profile's task definition family and the container whose image the builds replace. */
export interface ImageFamily {
  readonly architecture: Architecture;
  readonly family: string;
  readonly container: string;
}

export interface ImageReleaseSettings {
  readonly targets: readonly ImageBuildTarget[];
  /** Where actions/runner's releases are read: GitHub's API (github.com, also for GitHub Enterprise Server). */
  readonly apiUrl: string;
}

export interface ImageRolloutSettings {
  readonly targets: readonly ImageBuildTarget[];
  readonly families: readonly ImageFamily[];
}

const ARCHITECTURES: readonly string[] = ['x86_64', 'arm64'];

function jsonList<T>(
  env: Env,
  name: string,
  problems: string[],
  valid: (item: Record<string, unknown>) => boolean,
): T[] {
  const text = env[name];
  if (text === undefined || text.trim() === '') {
    problems.push(`${name} is required`);
    return [];
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (
      Array.isArray(value) &&
      value.length > 0 &&
      value.every(
        (item) => typeof item === 'object' && item !== null && valid(item as Record<string, unknown>),
      )
    )
      return value as T[];
  } catch {
    // reported below
  }
  problems.push(
    `${name} must be a non-empty JSON array of its entries (got ${JSON.stringify(text.slice(0, 80))})`,
  );
  return [];
}

const isTarget = (item: Record<string, unknown>) =>
  ARCHITECTURES.includes(String(item.architecture)) &&
  typeof item.project === 'string' &&
  typeof item.parameter === 'string';

const isFamily = (item: Record<string, unknown>) =>
  ARCHITECTURES.includes(String(item.architecture)) &&
  typeof item.family === 'string' &&
  typeof item.container === 'string';

/**
 * The release check's settings: `IMAGE_BUILDS` (JSON: `[{architecture, project, parameter}]`) and
 * `GITHUB_API_URL` (default api.github.com).
 * @throws ConfigError listing every problem.
 */
export function parseImageReleaseSettings(env: Env): ImageReleaseSettings {
  const problems: string[] = [];
  const targets = jsonList<ImageBuildTarget>(env, 'IMAGE_BUILDS', problems, isTarget);
  const apiUrl = (env.GITHUB_API_URL?.trim() || 'https://api.github.com').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(apiUrl))
    problems.push(`GITHUB_API_URL must be an http(s) URL (got "${apiUrl}")`);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ targets, apiUrl });
}

/**
 * The rollout's settings: `IMAGE_BUILDS` and `IMAGE_FAMILIES` (JSON: `[{architecture, family, container}]`).
 * @throws ConfigError listing every problem.
 */
export function parseImageRolloutSettings(env: Env): ImageRolloutSettings {
  const problems: string[] = [];
  const targets = jsonList<ImageBuildTarget>(env, 'IMAGE_BUILDS', problems, isTarget);
  const families = jsonList<ImageFamily>(env, 'IMAGE_FAMILIES', problems, isFamily);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ targets, families });
}
