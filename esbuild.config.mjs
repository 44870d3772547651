// One bundler for the whole project: every deployable function and every CLI becomes
// dist/<name>/index.mjs (ESM, minified, source maps). `--only a,b` builds just those.
import { readFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

/** name → entry. Functions are deployed as Lambdas; the others are operator and developer tools. */
export const entries = {
  webhook: 'functions/webhook/index.ts',
  redeliver: 'functions/redeliver/index.ts',
  'hook-ranges': 'functions/hook-ranges/index.ts',
  launcher: 'functions/launcher/index.ts',
  reconciler: 'functions/reconciler/index.ts',
  capacity: 'functions/capacity/index.ts',
  setup: 'functions/setup/index.ts',
  'image-release': 'functions/image-release/index.ts',
  'image-rollout': 'functions/image-rollout/index.ts',
  serve: 'bin/serve.ts',
  replay: 'bin/replay.ts',
  'redeliver-cli': 'bin/redeliver.ts',
  doctor: 'bin/doctor.ts',
  status: 'bin/status.ts',
  bench: 'bench/main.ts',
};

const BUILTINS = new Set(builtinModules);

/**
 * Node's built-ins through `process.getBuiltinModule` instead of an ES import. An ES import of a
 * built-in builds its namespace by reading every export, and on Node 24 (the Lambda runtime)
 * reading `node:http`'s loads undici: about 50 ms of a cold start that makes an HTTP call (the
 * secrets extension, every AWS SDK client over HTTPS), against 4 ms through getBuiltinModule
 * (docs/performance-bench.md). A statically imported built-in becomes a CommonJS module whose
 * exports are read when used. Dynamic imports stay ES imports: a split bundle would give a dynamic
 * import() of a CommonJS module only its `default`.
 */
const builtinsWithoutNamespace = {
  name: 'builtins-without-namespace',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^(node:)?[a-z][a-z0-9_/]*$/ }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (args.kind !== 'import-statement' || !BUILTINS.has(name)) return undefined;
      return { path: name, namespace: 'node-builtin' };
    });
    pluginBuild.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({
      contents: [
        // Node.js 20.16 and 22.3 added it: say so, instead of "is not a function".
        'if (typeof process.getBuiltinModule !== "function")',
        '  throw new Error("Node.js " + process.version + " is too old: 20.16, 22.3 or later is needed");',
        `module.exports = process.getBuiltinModule(${JSON.stringify(`node:${args.path}`)});`,
      ].join('\n'),
      loader: 'js',
    }));
  },
};

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const names = values.only ? values.only.split(',') : Object.keys(entries);

for (const name of names) {
  const entry = entries[name];
  if (!entry) throw new Error(`unknown build target "${name}"; known: ${Object.keys(entries).join(', ')}`);
  const outdir = `dist/${name}`;
  // Built beside it, then swapped in: a test or a synth reading dist/<name> meanwhile (a second
  // build runs when `npm pack` builds the package) never finds it half-written.
  const building = `dist/.${name}-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  const result = await build({
    entryPoints: { index: entry },
    outdir: building,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // Code splitting keeps the AWS SDK in chunks loaded on first use, out of the cold-start import.
    splitting: true,
    format: 'esm',
    platform: 'node',
    // The AWS SDK's ES modules: a lazy import() of its CommonJS build yields only `default` in a
    // split ESM bundle (ECSClient undefined at the first RunTask), and ESM lets esbuild drop
    // the commands we never send.
    mainFields: ['module', 'main'],
    target: 'node20',
    minify: true,
    // Minified names would log every error as `"name":"G"`: keep the real ones.
    keepNames: true,
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
    // No `createRequire` banner: it would load node:module in every cold start, and no bundled
    // dependency needs it. A CommonJS dependency that calls require() would get esbuild's shim,
    // which throws at run time: refuse such a build here instead.
    metafile: true,
    plugins: [builtinsWithoutNamespace],
  });
  const shimmed = Object.keys(result.metafile.outputs).filter(
    (file) => file.endsWith('.mjs') && readFileSync(file, 'utf8').includes('Dynamic require of'),
  );
  if (shimmed.length > 0) {
    await rm(building, { recursive: true, force: true });
    throw new Error(
      `${name}: a bundled dependency calls require() (${shimmed.join(', ')}); import it, or mark it external`,
    );
  }
  await rm(outdir, { recursive: true, force: true });
  await rename(building, outdir);
}
