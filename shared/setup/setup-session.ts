import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The setup page's session: the one-time key opens it once (`/setup?key=…`), then an HttpOnly,
 * SameSite=Lax cookie carries it, so the key leaves the address bar and the browser history. The
 * cookie holds when it was issued and an HMAC of that under the key: no key, no session; a new
 * deploy's key ends every session.
 */
export const SESSION_COOKIE = 'runners_setup';
/** The manifest flow's `state`, kept by the browser between the form and GitHub's redirect back. */
export const STATE_COOKIE = 'runners_setup_state';

/** A session lasts two hours: long enough to create and install the App. */
export const SESSION_MAX_AGE_SECONDS = 2 * 3600;
/** GitHub's manifest code is valid for an hour; the state with it. */
export const STATE_MAX_AGE_SECONDS = 3600;
/** After setup completes, the browser that completed it may read the readiness panel for an hour. */
export const AFTER_COMPLETION_SECONDS = 3600;

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether `given` is the key, compared in constant time. */
export function keyMatches(given: string, key: string): boolean {
  return timingSafeEqual(digest(given), digest(key));
}

const sign = (key: string, issuedAt: number) =>
  createHmac('sha256', key).update(`setup-session:${issuedAt}`).digest('base64url');

/** The session cookie's value for a session opened at `now`. */
export function sessionValue(key: string, now: number): string {
  return `${now}.${sign(key, now)}`;
}

/** Whether a session cookie's value was made with the key and is not older than the session's age. */
export function sessionValid(value: string | undefined, key: string, now: number): boolean {
  const [issued, signature, ...rest] = (value ?? '').split('.');
  const issuedAt = Number(issued);
  if (signature === undefined || rest.length > 0 || !Number.isInteger(issuedAt)) return false;
  if (issuedAt > now + 60_000 || now - issuedAt > SESSION_MAX_AGE_SECONDS * 1000) return false;
  return timingSafeEqual(digest(signature), digest(sign(key, issuedAt)));
}

/** A fresh `state` for the manifest flow: 24 random bytes. */
export const newState = (): string => randomBytes(24).toString('base64url');

/** Cookies from a `Cookie` header. */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(/;\s*/)) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    try {
      cookies[name] ??= decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      // A value that is not URI-encoded is no cookie of ours.
    }
  }
  return cookies;
}

/**
 * A `Set-Cookie` value: HttpOnly, SameSite=Lax (GitHub's redirect back is a top-level navigation
 * from another site, which Strict would strip the session from), Secure over HTTPS, scoped to the
 * setup routes. `maxAge` 0 removes it.
 */
export function setCookie(
  name: string,
  value: string,
  options: { readonly path: string; readonly maxAge: number; readonly secure: boolean },
): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAge}`,
    'HttpOnly',
    'SameSite=Lax',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}
