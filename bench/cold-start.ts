/**
 * Cold start: fresh `node` processes, each importing the built `dist/webhook/index.mjs` (and
 * answering one event), timed from spawn to exit against bare `node -e 0` spawned in the same
 * rounds, so the differences hold on a noisy machine. Budgets are what a kind adds over bare node,
 * as a multiple of bare node's own median (`B`), so they hold from one machine to another.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { githubHostedQueued, jobOfOurs } from '../test/fixtures/payloads';
import { httpApiEvent, signedRequest } from '../test/fixtures/requests';
import { startEcsStandIn } from '../test/support/ecs-stand-in';
import { startSecretsExtensionStandIn } from '../test/support/secrets-extension-stand-in';
import { startSecretsManagerStandIn } from '../test/support/secrets-manager-stand-in';
import { STORED_SECRETS, WEBHOOK_MODULE, webhookEnv } from './bench-env';
import { type Figure, ratioAtMost, type Scenario } from './figures';
import { FIRST_ANSWER, IMPORT_ONLY, runFresh } from './fresh-process';
import { type Summary, summarize } from './statistics';

interface Kind {
  readonly name: string;
  readonly code: string;
  readonly env: NodeJS.ProcessEnv;
  /** Writes the event of run `i` and returns its path; the answer must have `status`. */
  readonly event?: (i: number) => Promise<string>;
  readonly status?: number;
  /** How many B (bare node's median) the median may add over bare node (issue 11). */
  readonly budget?: number;
}

/** Spawns one process of a kind and returns milliseconds from spawn to exit. */
async function timeProcess(kind: Kind, eventPath: string | undefined): Promise<number> {
  const run = await runFresh(kind.code, { ...kind.env, ...(eventPath && { BENCH_EVENT: eventPath }) });
  if (run.status !== kind.status) {
    throw new Error(
      `${kind.name}: answered ${run.status ?? 'nothing'}, expected ${kind.status}\n${run.output.slice(-4000)}`,
    );
  }
  return run.elapsedMs;
}

/** Bytes of the function's .mjs files: all of them, and those loaded by the import itself. */
function bundleBytes(entry = WEBHOOK_MODULE): { total: number; atImport: number } {
  const file = fileURLToPath(entry);
  const dir = join(file, '..');
  const total = readdirSync(dir)
    .filter((name) => name.endsWith('.mjs'))
    .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  // Static imports only (`from"./x.mjs"`, `import"./x.mjs"`); `import("./x.mjs")` loads on first use.
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const [, relative] of readFileSync(path, 'utf8').matchAll(/(?:from|import)\s*"(\.\/[^"]+\.mjs)"/g)) {
      visit(join(dir, relative as string));
    }
  };
  visit(file);
  const atImport = [...seen].reduce((sum, path) => sum + statSync(path).size, 0);
  return { total, atImport };
}

export const coldStart: Scenario = {
  name: 'cold-start',
  async run({ runs, progress }) {
    const [ecs, secretsManager, secretsExtension, folder] = await Promise.all([
      startEcsStandIn(),
      startSecretsManagerStandIn(STORED_SECRETS),
      startSecretsExtensionStandIn(STORED_SECRETS),
      mkdtemp(join(tmpdir(), 'bench-cold-')),
    ]);
    try {
      const endpoints = { ecs: ecs.url, secretsManager: secretsManager.url };
      const deployed = { ...endpoints, secretsExtension };
      // Floors: what any webhook in an ES module pays, whatever it is written with.
      const floorModule = (name: string, code: string) => {
        const path = join(folder, `${name}.mjs`);
        writeFileSync(path, code);
        return { ...webhookEnv(endpoints, true), BENCH_MODULE: pathToFileURL(path).href };
      };
      const writeEvent = async (name: string, payload: unknown) => {
        const path = join(folder, `${name}.json`);
        writeFileSync(path, JSON.stringify(httpApiEvent(await signedRequest(payload))));
        return path;
      };
      const notOurs = await writeEvent('not-ours', githubHostedQueued());
      const kinds: Kind[] = [
        { name: 'B: bare node -e 0', code: '0', env: webhookEnv(endpoints) },
        {
          name: 'floor: import an empty .mjs (the ES module loader)',
          code: IMPORT_ONLY,
          env: floorModule('empty', ''),
        },
        {
          name: 'floor: an .mjs that checks one HMAC and writes one line',
          code: IMPORT_ONLY,
          env: floorModule(
            'hmac',
            `import{createHmac}from'node:crypto';createHmac('sha256','k').update('body').digest('hex');process.stdout.write('{}\\n');`,
          ),
        },
        { name: 'import dist/webhook/index.mjs', code: IMPORT_ONLY, env: webhookEnv(deployed), budget: 0.5 },
        {
          name: 'first answer: not ours, WEBHOOK_SECRET',
          code: FIRST_ANSWER,
          env: webhookEnv(endpoints, true),
          event: async () => notOurs,
          status: 202,
          budget: 0.75,
        },
        {
          name: 'first answer: not ours, WEBHOOK_SECRET_ARN through the extension (as deployed)',
          code: FIRST_ANSWER,
          env: webhookEnv(deployed),
          event: async () => notOurs,
          status: 202,
          budget: 1.0,
        },
        {
          name: 'first answer: not ours, WEBHOOK_SECRET_ARN through the SDK (no extension)',
          code: FIRST_ANSWER,
          env: webhookEnv(endpoints),
          event: async () => notOurs,
          status: 202,
        },
        {
          name: 'first answer: queued job of ours (as deployed)',
          code: FIRST_ANSWER,
          env: webhookEnv(deployed),
          event: (i) => writeEvent(`ours-${i}`, jobOfOurs({ jobId: 8_000_000_000 + i })),
          status: 200,
        },
      ];

      // One unmeasured round warms the file cache; then the kinds take turns, so noise from
      // the rest of the machine falls on all of them alike.
      const samples = kinds.map(() => [] as number[]);
      for (let round = -1; round < runs; round++) {
        for (const [k, kind] of kinds.entries()) {
          const elapsed = await timeProcess(kind, await kind.event?.(round + 1));
          if (round >= 0) samples[k]?.push(elapsed);
        }
        if (round >= 0 && (round + 1) % 10 === 0) progress(`cold start: ${round + 1}/${runs} rounds`);
      }

      const summaries = samples.map(summarize);
      const bare = summaries[0] as Summary;
      const figures = kinds.map((kind, k): Figure => {
        const summary = summaries[k] as Summary;
        const overBareNode = summary.median - bare.median;
        const ratio = overBareNode / bare.median;
        return {
          scenario: 'cold start',
          name: kind.name,
          unit: 'ms',
          summary,
          ...(k > 0 && { overBareNode, ratio: { of: 'B' as const, value: ratio } }),
          ...(kind.budget && {
            budget: ratioAtMost(ratio, kind.budget, `median ≤ ${kind.budget} B over bare node`),
          }),
        };
      });
      const bytes = bundleBytes();
      return [
        ...figures,
        { scenario: 'cold start', name: 'webhook bundle, all .mjs', unit: 'bytes', value: bytes.total },
        {
          scenario: 'cold start',
          name: 'webhook bundle, loaded by the import',
          unit: 'bytes',
          value: bytes.atImport,
        },
      ];
    } finally {
      await Promise.all([
        ecs.close(),
        secretsManager.close(),
        secretsExtension.close(),
        rm(folder, { recursive: true, force: true }),
      ]);
    }
  },
};
