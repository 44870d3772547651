import type { HookDelivery, HookRef } from '../github/hook-deliveries';
import { type Finding, type Gathered, ok, problem, skipped, warning } from './finding';

export interface DeliveryFacts {
  /** Which webhook; undefined when the user named none. */
  readonly hook: HookRef | undefined;
  /** The window looked at, as the user wrote it (`24h`). */
  readonly since: string;
  /** The attempts in the window, newest first; undefined when there are no usable GitHub credentials. */
  readonly deliveries: Gathered<readonly HookDelivery[]> | undefined;
}

const hookName = (hook: HookRef) =>
  hook.kind === 'org' ? `webhook ${hook.hookId} of ${hook.org}` : "the GitHub App's webhook";

/** What each failed answer means, as a fix. Status 0 is GitHub's mark for no HTTP answer at all. */
function fixFor(statusCode: number): string {
  if (statusCode === 401) {
    return "GitHub signs with another secret than the stack's: paste the value the stack's WebhookSecretCommand output prints into the webhook's Secret";
  }
  if (statusCode === 415) return "set the webhook's Content type to application/json";
  if (statusCode === 0 || [403, 404, 405].includes(statusCode)) {
    return "the Payload URL does not reach the function: set it to the stack's WebhookUrl output";
  }
  if (statusCode >= 500) {
    return "the function could not start runners: the delivery's response body and the function's log say why; once fixed, `npm run redeliver` sends the failed deliveries again";
  }
  return "the function refused the delivery: its response body (the webhook's Recent Deliveries) says why";
}

/** The webhook's recent deliveries: each delivery's latest attempt answered 2xx. */
export function checkDeliveries(facts: DeliveryFacts): Finding {
  const { hook } = facts;
  if (hook === undefined) {
    return skipped(
      'webhook-deliveries',
      "pass --org and --hook-id (the organisation webhook) or --app (the GitHub App's) to check the webhook's deliveries",
    );
  }
  if (facts.deliveries === undefined) {
    return skipped('webhook-deliveries', 'needs usable GitHub credentials (see github-credentials)');
  }
  if (!facts.deliveries.ok) {
    const notFound = facts.deliveries.code === 'HTTP 404';
    return problem(
      'webhook-deliveries',
      `cannot list the deliveries of ${hookName(hook)}: ${facts.deliveries.error}`,
      notFound && hook.kind === 'org'
        ? "check --org and --hook-id (the number at the end of the webhook's settings URL); a token needs admin:org_hook to read it"
        : 'the credentials must be able to read the webhook: a token with admin:org_hook, or the GitHub App itself for --app',
    );
  }
  // A redelivery is a new attempt of the same delivery (same guid); the newest attempt decides.
  const latest = new Map<string, HookDelivery>();
  for (const attempt of facts.deliveries.value)
    if (!latest.has(attempt.guid)) latest.set(attempt.guid, attempt);
  if (latest.size === 0) {
    return warning(
      'webhook-deliveries',
      `${hookName(hook)} sent nothing in the last ${facts.since}`,
      "if jobs were queued in that time, GitHub is not sending them: the webhook must be active, send Workflow jobs events, and point at the stack's WebhookUrl output",
    );
  }
  const failed = [...latest.values()].filter((d) => d.statusCode < 200 || d.statusCode > 299);
  if (failed.length === 0) {
    return ok(
      'webhook-deliveries',
      `${latest.size} deliveries of ${hookName(hook)} in the last ${facts.since}, each answered 2xx`,
    );
  }
  const byCode = new Map<number, number>();
  for (const d of failed) byCode.set(d.statusCode, (byCode.get(d.statusCode) ?? 0) + 1);
  const counts = [...byCode].map(([code, n]) => `${n}× ${code === 0 ? 'no answer' : code}`).join(', ');
  const newest = failed[0] as HookDelivery;
  return problem(
    'webhook-deliveries',
    `${failed.length} of ${latest.size} deliveries of ${hookName(hook)} in the last ${facts.since} failed (${counts}); latest ${newest.guid} at ${newest.deliveredAt}: "${newest.status}"`,
    [...new Set([...byCode.keys()].map(fixFor))].join('; '),
  );
}
