// Placeholder so that the build has its `capacity` entry (dist/capacity/index.mjs, which the stack
// deploys) before the capacity function itself exists; its handler replaces this file.
export const handler = async (): Promise<never> => {
  throw new Error('the capacity function is not built yet');
};
