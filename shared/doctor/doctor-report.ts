import { type Finding, hasProblems } from './finding';

/** The doctor's answer: where it looked and what it found. */
export interface DoctorReport {
  readonly stack: string;
  readonly region: string;
  readonly findings: readonly Finding[];
}

const MARK: Record<Finding['status'], string> = {
  ok: 'ok  ',
  problem: 'FAIL',
  warning: 'warn',
  skipped: 'skip',
};

/** The report for a person: one line a check, each problem and warning followed by its fix. */
export function formatReport(report: DoctorReport): string {
  const lines = [`Checking stack ${report.stack} in ${report.region}`, ''];
  for (const finding of report.findings) {
    lines.push(`${MARK[finding.status]}  ${finding.check}: ${finding.summary}`);
    if (finding.fix !== undefined) lines.push(`      fix: ${finding.fix}`);
  }
  const count = (status: Finding['status']) => report.findings.filter((f) => f.status === status).length;
  const problems = count('problem');
  const warnings = count('warning');
  lines.push(
    '',
    problems === 0 && warnings === 0
      ? 'No problem found.'
      : `${problems} problem${problems === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}.`,
  );
  return lines.join('\n');
}

/** The report for a script (`--json`): stable field names, one object. */
export function reportJson(report: DoctorReport): string {
  return JSON.stringify(
    {
      stack: report.stack,
      region: report.region,
      ok: !hasProblems(report.findings),
      findings: report.findings,
    },
    null,
    2,
  );
}
