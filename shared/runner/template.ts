/**
 * Runner templates: strings such as `<detail_org>-<target_env>-<detail_repo_name>` whose
 * `<variable>` parts are filled from a workflow_job delivery.
 */

/** Every variable a template may use, and where its value comes from. */
export const TEMPLATE_VARIABLES = {
  detail_org: 'organization.login (the repository owner for repository scope)',
  detail_repo_name: 'repository.name',
  detail_repo_owner: 'repository.owner.login',
  wf_job_id: 'workflow_job.id',
  wf_job_run_id: 'workflow_job.run_id',
  wf_job_run_attempt: 'workflow_job.run_attempt',
  target_env: 'TARGET_ENV',
} as const;

export type TemplateVariable = keyof typeof TEMPLATE_VARIABLES;
export type TemplateValues = Readonly<Record<TemplateVariable, string>>;

/**
 * What a payload value may bring into a runner argument: [A-Za-z0-9._-], starting with a letter
 * or a digit, so that no value reads as an option (a repository named `--url`) or a path (`..`).
 * GitHub's logins and repository names fit, except repositories named with a leading dot
 * (`.github`), whose jobs are refused.
 */
export const SAFE_VALUE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The characters a template's literal text may use (it may start with a separator: `-<target_env>`). */
const SAFE_LITERAL = /^[A-Za-z0-9._-]+$/;

const VARIABLE = /<([^<>]*)>/g;

/** Problems with a template (unknown variables, unsafe literal text); empty when it is usable. */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  for (const [, name] of template.matchAll(VARIABLE)) {
    if (name === undefined || !(name in TEMPLATE_VARIABLES)) {
      problems.push(
        `unknown variable <${name}>; known: ${Object.keys(TEMPLATE_VARIABLES)
          .map((v) => `<${v}>`)
          .join(', ')}`,
      );
    }
  }
  const literal = template.replace(VARIABLE, '');
  if (literal !== '' && !SAFE_LITERAL.test(literal)) {
    problems.push(`literal text may only use [A-Za-z0-9._-] (got "${template}")`);
  } else if (/^[._-]/.test(template)) {
    // A rendered value is a runner argument: it must not read as an option either.
    problems.push(`must start with a letter, a digit or a variable (got "${template}")`);
  }
  if (template.trim() === '') problems.push('is empty');
  return problems;
}

/** Fills a template (already checked by {@link templateProblems}) with values. */
export function renderTemplate(template: string, values: TemplateValues): string {
  return template.replace(VARIABLE, (_, name: string) => values[name as TemplateVariable] ?? '');
}
