/** The bench's output: a table for people, JSON for machines, both with the machine it ran on. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import type { Figure } from './figures';
import { benchNodeVersion } from './fresh-process';

export interface Machine {
  readonly nproc: number;
  readonly node: string;
  readonly cpu: string;
}

export function describeMachine(): Machine {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // Not Linux: the model os.cpus() gives.
  }
  return { nproc: availableParallelism(), node: benchNodeVersion(), cpu };
}

const number = (value: number, unit: Figure['unit']) => {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'bytes' || unit === 'count')
    return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);
  if (unit === 'ratio') return value.toFixed(2);
  if (unit === 's') return value.toFixed(1);
  return value < 1 ? value.toFixed(3) : value.toFixed(1);
};
const unitSuffix = (unit: Figure['unit']) =>
  unit === 'ms' || unit === 's' ? ` ${unit}` : unit === 'bytes' ? ' B' : '';

/** A Markdown table: the same text prints on a terminal and pastes into the README. */
export function formatTable(figures: readonly Figure[], machine: Machine): string {
  const header = ['scenario', 'figure', 'runs', 'median', 'p99', 'over bare node', 'ratio', 'budget', ''];
  const rows = figures.map((f) => {
    const suffix = unitSuffix(f.unit);
    return [
      f.scenario,
      f.name,
      f.summary ? String(f.summary.runs) : '',
      f.summary
        ? number(f.summary.median, f.unit) + suffix
        : f.value !== undefined
          ? number(f.value, f.unit) + suffix
          : '',
      f.summary ? number(f.summary.p99, f.unit) + suffix : '',
      f.overBareNode !== undefined ? `+${number(f.overBareNode, f.unit)}${suffix}` : '',
      f.ratio ? `${f.ratio.value.toFixed(2)} ${f.ratio.of}` : '',
      f.budget?.text ?? '',
      f.budget ? (f.budget.pass ? 'pass' : 'FAIL') : '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    'B: a bare node process from spawn to exit; S: one RunTask call of our own ECS client to the same stand-in.',
    `Machine: ${machine.nproc} CPUs (${machine.cpu}); measured processes: node ${machine.node} (BENCH_NODE to choose).`,
  ].join('\n');
}
