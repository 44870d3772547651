/**
 * The part of GitHub's published OpenAPI description (@octokit/openapi) that our code calls.
 * The subset is committed (the full description is 150 MB of JSON, too slow to load in every
 * test) and `github-openapi-subset.test.ts` checks it against the package.
 */
import { createRequire } from 'node:module';

/** Every GitHub operation the project calls, and the description that documents it. */
export const OPERATIONS = [
  ['POST', '/orgs/{org}/actions/runners/generate-jitconfig', 'api.github.com'],
  ['POST', '/repos/{owner}/{repo}/actions/runners/generate-jitconfig', 'api.github.com'],
  ['POST', '/enterprises/{enterprise}/actions/runners/generate-jitconfig', 'ghec'],
  ['POST', '/orgs/{org}/actions/runners/registration-token', 'api.github.com'],
  ['POST', '/repos/{owner}/{repo}/actions/runners/registration-token', 'api.github.com'],
  ['POST', '/enterprises/{enterprise}/actions/runners/registration-token', 'ghec'],
  ['GET', '/orgs/{org}/actions/runners', 'api.github.com'],
  ['GET', '/repos/{owner}/{repo}/actions/runners', 'api.github.com'],
  ['GET', '/enterprises/{enterprise}/actions/runners', 'ghec'],
  ['DELETE', '/orgs/{org}/actions/runners/{runner_id}', 'api.github.com'],
  ['DELETE', '/repos/{owner}/{repo}/actions/runners/{runner_id}', 'api.github.com'],
  ['DELETE', '/enterprises/{enterprise}/actions/runners/{runner_id}', 'ghec'],
  ['GET', '/orgs/{org}/actions/runner-groups', 'api.github.com'],
  ['POST', '/orgs/{org}/actions/runner-groups', 'api.github.com'],
  ['GET', '/enterprises/{enterprise}/actions/runner-groups', 'ghec'],
  ['POST', '/enterprises/{enterprise}/actions/runner-groups', 'ghec'],
  ['GET', '/repos/{owner}/{repo}/actions/jobs/{job_id}', 'api.github.com'],
  ['GET', '/repos/{owner}/{repo}/actions/runs/{run_id}/jobs', 'api.github.com'],
  ['POST', '/repos/{owner}/{repo}/actions/jobs/{job_id}/rerun', 'api.github.com'],
  ['GET', '/orgs/{org}/hooks/{hook_id}/deliveries', 'api.github.com'],
  ['GET', '/orgs/{org}/hooks/{hook_id}/deliveries/{delivery_id}', 'api.github.com'],
  ['POST', '/orgs/{org}/hooks/{hook_id}/deliveries/{delivery_id}/attempts', 'api.github.com'],
  ['GET', '/app/hook/deliveries', 'api.github.com'],
  ['GET', '/app/hook/deliveries/{delivery_id}', 'api.github.com'],
  ['POST', '/app/hook/deliveries/{delivery_id}/attempts', 'api.github.com'],
  ['GET', '/orgs/{org}/installation', 'api.github.com'],
  ['GET', '/repos/{owner}/{repo}/installation', 'api.github.com'],
  ['POST', '/app/installations/{installation_id}/access_tokens', 'api.github.com'],
  ['GET', '/meta', 'api.github.com'],
  ['POST', '/app-manifests/{code}/conversions', 'api.github.com'],
  ['GET', '/repos/{owner}/{repo}/releases/latest', 'api.github.com'],
  ['GET', '/repos/{owner}/{repo}/releases', 'api.github.com'],
] as const;

export interface OperationSpec {
  readonly method: string;
  readonly path: string;
  readonly parameters: Array<{ name: string; in: string; required: boolean; schema: unknown }>;
  readonly requestBody: { required: boolean; schema: unknown } | null;
  readonly responses: string[];
}

type Spec = { paths: Record<string, Record<string, Record<string, unknown>>> };

/** Reads the operations from @octokit/openapi's dereferenced descriptions (slow: loads ~150 MB). */
export function extractSubset(): OperationSpec[] {
  const require = createRequire(import.meta.url);
  const specs: Record<string, Spec> = {
    'api.github.com': require('@octokit/openapi/generated/api.github.com.deref.json') as Spec,
    ghec: require('@octokit/openapi/generated/ghec.deref.json') as Spec,
  };
  return OPERATIONS.map(([method, path, spec]) => {
    const operation = specs[spec]?.paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${method} ${path} is not in @octokit/openapi ${spec}`);
    const parameters = ((operation.parameters ?? []) as Array<Record<string, unknown>>).map((p) => ({
      name: p.name as string,
      in: p.in as string,
      required: p.required === true,
      schema: p.schema,
    }));
    const body = operation.requestBody as
      | { required?: boolean; content?: Record<string, { schema: unknown }> }
      | undefined;
    const schema = body?.content?.['application/json']?.schema;
    return {
      method,
      path,
      parameters,
      requestBody: schema === undefined ? null : { required: body?.required === true, schema },
      responses: Object.keys(operation.responses as object),
    };
  });
}

/** The committed subset. */
export function loadSubset(): OperationSpec[] {
  return createRequire(import.meta.url)('../fixtures/github-openapi-subset.json') as OperationSpec[];
}
