/** The shapes of the stack the security tests of issue #20 hold in, and their synthesis. */
import { synthesize } from './synth-stack';

/**
 * The shapes of the stack that change who holds which credential, each as the `-c` context that
 * makes it: registration, scope, the GitHub App's webhook, and the three together.
 */
export const STACK_VARIANTS: ReadonlyArray<readonly [string, Readonly<Record<string, unknown>>]> = [
  ['JIT registration (the default)', {}],
  ['token registration', { registration: 'token' }],
  ['organisation scope', { runnerScope: 'org' }],
  ["a GitHub App's webhook", { githubHook: 'app', allowedOrgs: 'octo-org' }],
  [
    "organisation runners of a GitHub App's webhook, token registration",
    { registration: 'token', runnerScope: 'org', githubHook: 'app', allowedOrgs: 'octo-org' },
  ],
];

/** The variants whose runners are the organisation's. */
export const ORG_SCOPE_VARIANTS = STACK_VARIANTS.filter(([, context]) => context.runnerScope === 'org');

const synthesized = new Map<string, ReturnType<typeof synthesize>>();

/** A variant's stack, synthesized once per test file however many describes read it. */
export function synthesizeVariant(context: Readonly<Record<string, unknown>>): ReturnType<typeof synthesize> {
  const key = JSON.stringify(context);
  const known = synthesized.get(key);
  if (known !== undefined) return known;
  const stack = synthesize({ ...context });
  synthesized.set(key, stack);
  return stack;
}
