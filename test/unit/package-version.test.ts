/**
 * The package's version follows the changelog: package.json names the newest version CHANGELOG.md
 * has released, and what is not released yet waits under Unreleased (docs/construct.md#releasing).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const headings = [...readFileSync('CHANGELOG.md', 'utf8').matchAll(/^## (.+)$/gm)].map((match) => match[1]);
/** `## 0.1.0 - 2026-11-27`: a released version and its date. */
const RELEASED = /^(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?) - \d{4}-\d{2}-\d{2}$/;

describe('the package version', () => {
  it("is the changelog's newest released version", () => {
    const released = headings.map((heading) => RELEASED.exec(heading ?? '')?.[1]).filter(Boolean);
    expect(released[0]).toBe(version);
  });

  it('has the changes not yet released under Unreleased, above every release', () => {
    expect(headings[0]).toBe('Unreleased');
    expect(headings.slice(1).every((heading) => RELEASED.test(heading ?? ''))).toBe(true);
  });
});
