/**
 * The runner image's size: what a new instance pulls before its first runner starts, so part of
 * the time to runner. Optional: without a Docker engine or without the image, it reports nothing.
 * The image is `RUNNER_IMAGE`, else the one `npm run test:image` builds (with the stub release:
 * the real runner release adds its own size). `DOCKER` picks the CLI, as in the image tests.
 */
import { spawn } from 'node:child_process';
import { createGzip } from 'node:zlib';
import type { Figure, Scenario } from './figures';

const DOCKER = process.env.DOCKER ?? 'docker';
const DEFAULT_IMAGE = 'ecs-github-runners/runner:test';

/** The CLI's output, or undefined when it fails or is not installed. */
function dockerOutput(args: readonly string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(DOCKER, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? stdout.trim() : undefined));
  });
}

/** Bytes of `docker save` gzipped (gzip's default level, as registries' layers are). */
function compressedSize(image: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const save = spawn(DOCKER, ['save', image], { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    const gzip = createGzip();
    gzip.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    gzip.on('end', () => resolve(bytes));
    gzip.on('error', reject);
    save.on('error', reject);
    save.on('close', (code) => {
      if (code !== 0) reject(new Error(`docker save ${image} exited ${code}`));
    });
    save.stdout.pipe(gzip);
  });
}

export const runnerImage: Scenario = {
  name: 'image',
  async run({ progress }) {
    const image = process.env.RUNNER_IMAGE ?? DEFAULT_IMAGE;
    const size = await dockerOutput(['image', 'inspect', '--format', '{{.Size}}', image]);
    if (size === undefined) {
      progress(`image: no ${image} on a Docker engine here (npm run test:image builds it); skipped`);
      return [];
    }
    progress(`image: ${image}, docker save | gzip`);
    const figures: Figure[] = [
      { scenario: 'runner image', name: `${image}, size`, unit: 'bytes', value: Number(size) },
      {
        scenario: 'runner image',
        name: `${image}, compressed (docker save, gzip)`,
        unit: 'bytes',
        value: await compressedSize(image),
      },
    ];
    const base = await dockerOutput(['image', 'inspect', '--format', '{{.Size}}', 'debian:bookworm-slim']);
    if (base !== undefined) {
      figures.push({
        scenario: 'runner image',
        name: 'of which the base, debian:bookworm-slim',
        unit: 'bytes',
        value: Number(base),
      });
    }
    return figures;
  },
};
