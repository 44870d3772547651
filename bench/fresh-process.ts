/**
 * A fresh `node` process running a tiny CommonJS `-e` script, so it loads nothing but what is
 * measured: the module in `BENCH_MODULE`, and for an answer the Lambda event in `BENCH_EVENT`.
 */
import { spawn, spawnSync } from 'node:child_process';

/**
 * The node that runs the measured processes: `BENCH_NODE` (e.g. a Node 24 binary, as Lambda runs
 * the functions), else this one.
 */
export const benchNode = (): string => process.env.BENCH_NODE || process.execPath;

/** The version of {@link benchNode}. */
export function benchNodeVersion(): string {
  const node = benchNode();
  if (node === process.execPath) return process.version;
  const run = spawnSync(node, ['--version'], { encoding: 'utf8' });
  if (run.status !== 0)
    throw new Error(`BENCH_NODE=${node} does not run: ${run.stderr || run.error?.message}`);
  return run.stdout.trim();
}

/** Imports the module and exits. */
export const IMPORT_ONLY = `import(process.env.BENCH_MODULE).then(()=>process.exit(0),(e)=>{console.error(e);process.exit(1)})`;

/** Imports the module, passes the event to its `handler`, prints `BENCH_STATUS <status>` and exits. */
export const FIRST_ANSWER = `const event=JSON.parse(require('node:fs').readFileSync(process.env.BENCH_EVENT,'utf8'));
import(process.env.BENCH_MODULE).then((m)=>m.handler(event)).then((r)=>{process.stdout.write('\\nBENCH_STATUS '+r.statusCode+'\\n');process.exit(0)},(e)=>{console.error(e);process.exit(1)})`;

export interface FreshRun {
  /** Milliseconds from spawn to exit. */
  readonly elapsedMs: number;
  /** The status a {@link FIRST_ANSWER} script printed. */
  readonly status: number | undefined;
  readonly output: string;
}

/** Runs `code` in a fresh process with exactly `env`; rejects when it exits other than 0. */
export async function runFresh(code: string, env: NodeJS.ProcessEnv): Promise<FreshRun> {
  const started = performance.now();
  const child = spawn(benchNode(), ['-e', code], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const closed = new Promise((resolve) => child.on('close', resolve));
  const [elapsedMs, exitCode] = await new Promise<[number, number | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (exitCode) => resolve([performance.now() - started, exitCode]));
  });
  await closed;
  if (exitCode !== 0) throw new Error(`a fresh node process exited ${exitCode}:\n${output.slice(-4000)}`);
  const status = /BENCH_STATUS (\d+)/.exec(output)?.[1];
  return { elapsedMs, status: status === undefined ? undefined : Number(status), output };
}
