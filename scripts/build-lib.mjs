// `npm run build:lib`: the construct library (infra/index.ts) as the package ships it, in lib/:
// one bundle for ES module apps (index.mjs), one for CommonJS apps (index.cjs), and the type
// declarations (types/). The functions' bundles it deploys are esbuild.config.mjs's, in dist/.
import { execFileSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { build } from 'esbuild';

/** The user's app brings these (peerDependencies): one construct tree, one CDK, one cdk-nag. */
const external = ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs', 'cdk-nag'];

await rm('lib', { recursive: true, force: true });
const common = {
  entryPoints: ['infra/index.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  external,
  // Errors say which error they are (SettingsError), as the functions' do.
  keepNames: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
};
await build({ ...common, format: 'esm', outfile: 'lib/index.mjs' });
await build({
  ...common,
  format: 'cjs',
  outfile: 'lib/index.cjs',
  // The package's files are found from import.meta.url (infra/package-files.ts), which CommonJS
  // has not: the bundle's own URL stands in for it, lib/ being where the ES module bundle is too.
  inject: ['scripts/import-meta-url.cjs.js'],
  define: { 'import.meta.url': 'importMetaUrl' },
});

execFileSync('npx', ['tsc', '-p', 'tsconfig.lib.json'], { stdio: 'inherit' });
// The declarations' relative imports name no extension, as CommonJS resolves them: say so to
// TypeScript, or a package of "type": "module" would make them ES module declarations that
// `module: nodenext` cannot resolve (a CommonJS CDK app, the CDK's own template, would get no types).
await writeFile('lib/types/package.json', `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
