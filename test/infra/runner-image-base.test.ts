import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

const dockerfile = readFileSync('infra/runner-image/Dockerfile', 'utf8');

describe('the runner image base', () => {
  it('starts FROM the BASE_IMAGE build argument, declared before it', () => {
    const lines = dockerfile.split('\n');
    const arg = lines.findIndex((line) => /^ARG BASE_IMAGE=/.test(line));
    const from = lines.findIndex((line) => /^FROM /.test(line));
    expect(arg).toBeGreaterThanOrEqual(0);
    expect(arg).toBeLessThan(from);
    expect(lines[from]).toBe(`FROM \${BASE_IMAGE}`);
  });

  it('defaults to the tag the CI makes with debootstrap, not a digest it would not have', () => {
    const base = /^ARG BASE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    expect(base).toBe('debian:bookworm-slim');
    expect(readFileSync('.ci/run', 'utf8')).toContain(`import --change 'CMD ["bash"]' - ${base}`);
  });

  it('records the base it was built from in the OCI label', () => {
    expect(dockerfile).toMatch(
      /^ARG BASE_IMAGE\nLABEL org\.opencontainers\.image\.base\.name="\$\{BASE_IMAGE\}"$/m,
    );
  });
});
