/**
 * `npm run test:image`: the runner image built and run on a Docker engine (`.ci/run` starts one).
 * Apart from `npm test`, which needs no engine. One file at a time: they share the engine and 2 CPUs.
 */
import base from './jest.config.js';

export default {
  ...base,
  roots: ['<rootDir>/test/image'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
  testTimeout: 120_000,
};
