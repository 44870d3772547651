/** Tests run as native ES modules (Octokit ships ESM only); @swc/jest strips the types, tsc checks them. */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The runner image's tests need a Docker engine: `npm run test:image` (jest.image.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/image/'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  setupFiles: ['<rootDir>/test/support/aws-env.ts'],
  testTimeout: 30_000,
};
