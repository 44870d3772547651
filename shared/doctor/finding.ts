/**
 * What the doctor reports: one finding per check, with the fix when something is wrong. A
 * `problem` makes jobs fail quietly and makes the command exit non-zero; a `warning` is worth a
 * look; `skipped` says what the check needs to run.
 */
export type FindingStatus = 'ok' | 'problem' | 'warning' | 'skipped';

/** The checks, in the order they are reported. */
export const CHECKS = [
  'stack',
  'webhook-secret',
  'github-credentials',
  'registration-token',
  'webhook-deliveries',
  'github-access',
  'github-permissions',
  'runner-group',
  'runner-image',
  'runner-version',
  'image-build',
  'ecs-cluster',
  'task-definition',
  'capacity-provider',
  'alarm-actions',
  'alarm-subscribers',
] as const;

export type CheckName = (typeof CHECKS)[number];

export interface Finding {
  readonly check: CheckName;
  readonly status: FindingStatus;
  /** What was found, in one sentence. */
  readonly summary: string;
  /** What to do about it; present on every problem and warning. */
  readonly fix?: string;
}

/**
 * A fact the doctor gathered, or the error its call answered: `code` is the AWS error's name
 * (`AccessDeniedException`) or GitHub's status (`HTTP 401`), `error` the whole message.
 */
export type Gathered<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string; readonly code?: string };

/** Finding builders: `problem` and `warning` always carry their fix. */
export const ok = (check: CheckName, summary: string): Finding => ({ check, status: 'ok', summary });
export const problem = (check: CheckName, summary: string, fix: string): Finding => ({
  check,
  status: 'problem',
  summary,
  fix,
});
export const warning = (check: CheckName, summary: string, fix: string): Finding => ({
  check,
  status: 'warning',
  summary,
  fix,
});
export const skipped = (check: CheckName, summary: string): Finding => ({
  check,
  status: 'skipped',
  summary,
});

/** Whether any finding is a problem: the command's exit code. */
export const hasProblems = (findings: readonly Finding[]): boolean =>
  findings.some((finding) => finding.status === 'problem');
