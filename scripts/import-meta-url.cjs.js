// Injected into the CommonJS bundle of the library (scripts/build-lib.mjs): `import.meta.url`, which
// CommonJS has not, as the bundle's own URL.
export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;
