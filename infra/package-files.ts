import { fileURLToPath } from 'node:url';

/**
 * A file of this package, by its path from the package's root. The CDK code runs from `infra/`
 * (the standalone app, through tsx) or from `lib/` (the library bundle a user's app loads), both
 * one level below the root: the same path finds the functions' bundles (`dist/`) and the runner
 * image's source (`infra/runner-image/`) in the repository and in an installed package.
 */
export const packageFile = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url));
