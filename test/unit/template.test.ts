import { describe, expect, it } from '@jest/globals';
import {
  renderTemplate,
  SAFE_VALUE,
  type TemplateValues,
  templateProblems,
} from '../../shared/runner/template';

const values: TemplateValues = {
  detail_org: 'octo-org',
  detail_repo_name: 'example-workflow',
  detail_repo_owner: 'octo-org',
  wf_job_id: '2832853555',
  wf_job_run_id: '940463255',
  wf_job_run_attempt: '2',
  target_env: 'sandpit',
};

describe('renderTemplate', () => {
  it('fills every variable the seed uses', () => {
    expect(
      renderTemplate(
        '<detail_org>-<target_env>-<detail_repo_name>-<wf_job_run_id>-<wf_job_run_attempt>',
        values,
      ),
    ).toBe('octo-org-sandpit-example-workflow-940463255-2');
  });

  it('fills the owner and job id variables', () => {
    expect(renderTemplate('<detail_repo_owner>.<wf_job_id>', values)).toBe('octo-org.2832853555');
  });

  it('leaves a template without variables as it is', () => {
    expect(renderTemplate('gpu', values)).toBe('gpu');
  });
});

describe('templateProblems', () => {
  it('accepts the seed templates', () => {
    expect(templateProblems('<detail_org>-<target_env>')).toEqual([]);
  });

  it('names an unknown variable and lists the known ones', () => {
    const [problem] = templateProblems('<detail_org>-<wf_run>');
    expect(problem).toContain('unknown variable <wf_run>');
    expect(problem).toContain('<wf_job_run_id>');
  });

  it('refuses literal text that could split a runner argument', () => {
    expect(templateProblems('<detail_org> --url evil')).toEqual([expect.stringContaining('[A-Za-z0-9._-]')]);
    expect(templateProblems('a,b')).toEqual([expect.stringContaining('[A-Za-z0-9._-]')]);
  });

  it('refuses a template that starts with a separator, as a rendered value would read as an option', () => {
    expect(templateProblems('-<detail_org>')).toEqual([expect.stringContaining('must start with a letter')]);
    expect(templateProblems('.<detail_org>')).toEqual([expect.stringContaining('must start with a letter')]);
  });

  it('accepts separators after the first character', () => {
    expect(templateProblems('<detail_org>-x.<target_env>_y')).toEqual([]);
  });

  it('refuses an empty template', () => {
    expect(templateProblems(' ')).toContain('is empty');
  });
});

describe('SAFE_VALUE', () => {
  it('accepts GitHub logins and repository names that start with a letter or a digit', () => {
    for (const value of ['octo-org', 'Hello-World', 'repo.js', 'a_b', '9lives'])
      expect(SAFE_VALUE.test(value)).toBe(true);
  });

  it('refuses values that start with a dash or a dot', () => {
    for (const value of ['--url', '-x', '.github', '..']) expect(SAFE_VALUE.test(value)).toBe(false);
  });
});
