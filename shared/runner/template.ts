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
 * The only characters a value may bring into a runner argument. GitHub's own logins and
 * repository names fit; anything else is a forged or broken payload.
 */
export const SAFE_VALUE = /^[A-Za-z0-9._-]+$/;

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
  if (literal !== '' && !SAFE_VALUE.test(literal)) {
    problems.push(`literal text may only use [A-Za-z0-9._-] (got "${template}")`);
  }
  if (template.trim() === '') problems.push('is empty');
  return problems;
}

/** Fills a template (already checked by {@link templateProblems}) with values. */
export function renderTemplate(template: string, values: TemplateValues): string {
  return template.replace(VARIABLE, (_, name: string) => values[name as TemplateVariable] ?? '');
}
