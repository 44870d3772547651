/**
 * The longest one call to AWS or GitHub may go unanswered. Calls on a delivery's path carry their
 * own, shorter deadline (GitHub's 10 s); this bounds the others (the reconciler's, the launcher's
 * clean-up), so a call that is never answered costs a reconciler round this long, not the
 * function's whole timeout with every job behind it.
 */
export const CALL_TIMEOUT_MS = 10_000;

/** The AWS SDK clients' request handler: a request unanswered after {@link CALL_TIMEOUT_MS} fails (TimeoutError). */
export const boundedRequestHandler = {
  requestTimeout: CALL_TIMEOUT_MS,
  throwOnRequestTimeout: true,
} as const;

/** `fetch` for Octokit: aborted at {@link CALL_TIMEOUT_MS}, or by the caller's own signal if that is first. */
export const boundedFetch: typeof fetch = (input, init) => {
  const timeout = AbortSignal.timeout(CALL_TIMEOUT_MS);
  return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
};
