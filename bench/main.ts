/**
 * `npm run bench`: cold start, warm per-event cost and burst throughput of the webhook, each
 * against its budget. Timing budgets are ratios to references measured in the same run (`B`, a bare
 * node process; `S`, one RunTask of our ECS client), so they hold on any machine.
 * Also the runner image's size when a Docker engine has it, and the capacity simulation (simulated
 * times on a virtual clock, bench/capacity-sim.ts). Prints a table (or `--json`) and exits 1
 * when a budget is missed.
 * Run only after `npm run build`: the cold start imports dist/webhook/index.mjs as it ships.
 */
import { parseArgs } from 'node:util';
import { burst, burstWorker } from './burst';
import { burstOverflow } from './burst-overflow';
import { capacitySimulation } from './capacity-sim';
import { coldStart } from './cold-start';
import type { BenchOptions, Figure, Scenario } from './figures';
import { describeMachine, formatTable } from './report';
import { runnerImage } from './runner-image';
import { warmPerEvent, warmWorker } from './warm-per-event';
import { reply } from './worker';

/** Every scenario, in the order they run. */
const SCENARIOS: readonly Scenario[] = [
  coldStart,
  warmPerEvent,
  burst,
  burstOverflow,
  runnerImage,
  capacitySimulation,
];

const usage = `usage: npm run bench -- [--json] [--only ${SCENARIOS.map((s) => s.name).join(',')}] [--runs N] [--events N] [--jobs N]
       npm run bench:capacity -- [--json] [--pools]   (the capacity simulation alone)
  --json    one JSON document on stdout instead of the table
  --only    the scenarios to run (default: all)
  --runs    fresh processes per kind of cold start (default 100)
  --events  events per kind in the warm process (default 5000)
  --jobs    jobs in the burst (default 1000)
  --pools   the capacity simulation sizes pools for the example load instead of its side-by-side run`;

const wholeNumber = (name: string, value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1 (got "${value}")`);
  return n;
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      only: { type: 'string' },
      runs: { type: 'string', default: '100' },
      events: { type: 'string', default: '5000' },
      jobs: { type: 'string', default: '1000' },
      pools: { type: 'boolean', default: false },
      worker: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const options: BenchOptions = {
    runs: wholeNumber('runs', values.runs),
    events: wholeNumber('events', values.events),
    jobs: wholeNumber('jobs', values.jobs),
    pools: values.pools,
    progress: (line) => process.stderr.write(`${line}\n`),
  };
  if (values.worker !== undefined) {
    const workers: Record<string, () => Promise<never>> = {
      warm: () => warmWorker(options.events),
      burst: () => burstWorker(options.jobs),
    };
    const worker =
      workers[values.worker] ?? (() => Promise.reject(new Error(`unknown worker "${values.worker}"`)));
    return worker().catch((error: unknown) =>
      reply({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  }

  const names = values.only?.split(',') ?? SCENARIOS.map((s) => s.name);
  const unknown = names.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}\n${usage}`);

  const figures: Figure[] = [];
  const texts: string[] = [];
  const details: Record<string, unknown> = {};
  for (const scenario of SCENARIOS.filter((s) => names.includes(s.name))) {
    const result = await scenario.run(options);
    const report = Array.isArray(result) ? { figures: result } : result;
    figures.push(...report.figures);
    if (report.text !== undefined) texts.push(report.text);
    if (report.details !== undefined) details[scenario.name] = report.details;
  }
  const machine = describeMachine();
  const failed = figures.filter((f) => f.budget && !f.budget.pass);
  if (values.json) {
    console.log(JSON.stringify({ machine, figures, details, budgetsMissed: failed.length }, null, 2));
  } else {
    console.log(formatTable(figures, machine));
    for (const text of texts) console.log(`\n${text}`);
    console.log(
      failed.length === 0
        ? 'Every budget is met.'
        : `Budgets missed: ${failed.map((f) => `${f.scenario}: ${f.name}`).join('; ')}`,
    );
  }
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);
