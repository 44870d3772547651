/**
 * GitHub's REST API on loopback, for the real Octokit. Every request is checked against GitHub's
 * published OpenAPI description (the subset in `github-openapi.ts`): an unknown route, a missing
 * parameter or a body the description refuses (e.g. `generate-jitconfig` without `runner_group_id`,
 * or with 0 or 101 labels) is answered 404/422 and recorded in `violations`, which tests assert
 * empty. Faults (401, 403 with rate-limit headers, 404, 422, 5xx) are injected per operation.
 * Opt-in awkwardness, as GitHub has it: an outage (5xx to every route or some, until switched off),
 * runner answers that lag (a runner left out of the list and of the look-up by name), and slow
 * answers. Every request is recorded with its route and the status it was answered.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import type { RawDelivery } from '../../shared/github/hook-deliveries';
import { loadSubset, type OperationSpec } from './github-openapi';

export interface GitHubRequest {
  /** The route as GitHub's description names it: `GET /repos/{owner}/{repo}/actions/jobs/{job_id}`. */
  readonly operation: string;
  readonly method: string;
  /** The path as requested: `/repos/octo-org/app/actions/jobs/42`. */
  readonly path: string;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown>;
  readonly authorization: string;
  /** The status the stand-in answered (undefined while the answer is pending). */
  status: number | undefined;
}

/**
 * GitHub answering 5xx, as it does during an incident: its front end's 502/503 page (HTML, not
 * JSON) to every request, or to those `routes` picks (an incident of the Actions service alone).
 */
export interface GitHubOutage {
  readonly status: 500 | 502 | 503 | 504;
  readonly routes?: (request: GitHubRequest) => boolean;
}

export interface GitHubAnswer {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface StandInRunner {
  id: number;
  name: string;
  status: 'online' | 'offline';
  busy: boolean;
  labels: string[];
  groupId: number;
  scope: string;
}

/** A delivery in the stand-in's log: the list entry GitHub shows, and the payload it sent. */
export type StandInDelivery = RawDelivery & { payload: unknown };

export interface GitHubStandIn {
  readonly url: string;
  readonly requests: GitHubRequest[];
  readonly violations: string[];
  readonly runners: Map<number, StandInRunner>;
  /** Runner groups by scope key (`org:NAME`, `enterprise:SLUG`). */
  readonly groups: Map<string, Array<{ id: number; name: string; allows_public_repositories: boolean }>>;
  /** The registration tokens minted, by token: the scope key (`org:NAME`, `repo:OWNER/NAME`, ...) each registers in. */
  readonly registrationTokens: Map<string, { readonly scope: string; readonly expiresAt: string }>;
  readonly jobs: Map<number, string>;
  /** The runner that has a job (`runner_name`), for jobs in progress or completed. */
  readonly jobRunners: Map<number, string>;
  /** The run and labels of a job, for the run's job list. */
  readonly jobRuns: Map<number, { readonly runId: number; readonly labels: readonly string[] }>;
  readonly deliveries: StandInDelivery[];
  readonly redelivered: number[];
  /** Jobs re-run (`POST …/actions/jobs/{job_id}/rerun`), in order. */
  readonly reruns: number[];
  /**
   * Runners a full list leaves out, as organisation lists shift while ephemeral runners come and
   * go; a look-up by name still finds them.
   */
  readonly hiddenFromLists: Set<string>;
  /**
   * Runners that every runner answer leaves out, the look-up by name included: GitHub's runner
   * index lags behind a runner that registered and took a job. The runner still exists: a DELETE
   * by its id finds it (and is refused 422 while it is busy).
   */
  readonly missingFromLookups: Set<string>;
  /** While set, GitHub is down for the routes it names (checked before credentials and faults). */
  outage: GitHubOutage | undefined;
  /** Milliseconds before a request is answered (0 or undefined: at once). */
  latency: ((request: GitHubRequest) => number) | undefined;
  /** The permissions a GitHub App installation grants (`GET …/installation`): every one the functions use. */
  installationPermissions: Record<string, string>;
  /** Scope keys (`org:NAME`, `repo:OWNER/NAME`) the App is not installed on: their installation is 404. */
  readonly notInstalled: Set<string>;
  /**
   * GitHub Apps made through the manifest flow of the stand-in's web pages (`/settings/apps/new`,
   * `/organizations/{org}/settings/apps/new`): the manifest posted, the owner, and once converted
   * (`POST /app-manifests/{code}/conversions`) the id, key and webhook secret handed over.
   */
  readonly manifestApps: StandInApp[];
  /** The `hooks` list `GET /meta` answers with (GitHub's webhook source ranges); tests replace it. */
  hookRanges: string[];
  /** actions/runner's releases, newest first (public: answered without credentials). */
  releases: Array<Record<string, unknown>>;
  /** Answers an operation (`POST /orgs/{org}/actions/runners/generate-jitconfig`) differently. */
  fault: ((request: GitHubRequest) => GitHubAnswer | undefined) | undefined;
  close(): Promise<void>;
}

/** A GitHub App made by the manifest flow of the stand-in. */
export interface StandInApp {
  readonly manifest: Record<string, unknown>;
  readonly owner: string;
  readonly ownerType: 'Organization' | 'User';
  /** The `state` the form was posted with, handed back on the redirect. */
  readonly state: string;
  name: string;
  /** The one-use code of the redirect; undefined once converted. */
  code: string | undefined;
  id: number | undefined;
  slug: string | undefined;
  pem: string | undefined;
  webhookSecret: string | undefined;
  installed: boolean;
}

/** The runner's RSA key of every JIT config of this process (generating one per config is slow). */
let runnerKey: Record<string, string> | undefined;

/** A realistic `encoded_jit_config`: the runner's settings, credentials and a 2048-bit RSA key. */
function encodedJitConfig(runnerId: number, name: string, url: string): string {
  runnerKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    format: 'jwk',
  }) as Record<string, string>;
  const jwk = runnerKey;
  const b64 = (value: string) => Buffer.from(value, 'base64url').toString('base64');
  const file = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');
  return file({
    '.runner': file({
      AgentId: String(runnerId),
      AgentName: name,
      PoolId: '1',
      PoolName: 'Default',
      ServerUrl: `${url}/_services/pipelines/${randomBytes(16).toString('hex')}`,
      GitHubUrl: url,
      WorkFolder: '_work',
      Ephemeral: 'true',
      UseV2Flow: 'true',
    }),
    '.credentials': file({
      Scheme: 'OAuthAccessToken',
      Data: {
        ClientId: randomBytes(16).toString('hex'),
        AuthorizationUrl: `${url}/_apis/oauth2/token/${randomBytes(16).toString('hex')}`,
        RequireFipsCryptography: 'True',
      },
    }),
    '.credentials_rsaparams': file({
      d: b64(jwk.d as string),
      dp: b64(jwk.dp as string),
      dq: b64(jwk.dq as string),
      exponent: b64(jwk.e as string),
      inverseQ: b64(jwk.qi as string),
      modulus: b64(jwk.n as string),
      p: b64(jwk.p as string),
      q: b64(jwk.q as string),
    }),
  });
}

interface Route {
  readonly spec: OperationSpec;
  readonly key: string;
  readonly pattern: RegExp;
  readonly names: string[];
  readonly body: ValidateFunction | undefined;
}

function compileRoutes(): Route[] {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return loadSubset().map((spec) => {
    const names: string[] = [];
    const source = spec.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    return {
      spec,
      key: `${spec.method} ${spec.path}`,
      pattern: new RegExp(`^${source}$`),
      names,
      body: spec.requestBody ? ajv.compile(spec.requestBody.schema as object) : undefined,
    };
  });
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export interface GitHubStandInOptions {
  /** The token Octokit must send (`token X` or `bearer X`); a GitHub App's JWT is accepted on /app routes. */
  readonly token?: string;
  readonly installationId?: number;
}

export async function startGitHubStandIn(options: GitHubStandInOptions = {}): Promise<GitHubStandIn> {
  const routes = compileRoutes();
  const token = options.token ?? 'ghp_standintoken';
  const installationId = options.installationId ?? 4242;
  const installationToken = `ghs_${createHash('sha256').update(token).digest('hex').slice(0, 36)}`;
  let nextRunnerId = 100;
  let nextAppId = 900;
  let nextGroupId = 10;
  let url = '';

  const state: Omit<GitHubStandIn, 'url' | 'close'> = {
    requests: [],
    violations: [],
    runners: new Map(),
    groups: new Map(),
    registrationTokens: new Map(),
    jobs: new Map(),
    jobRunners: new Map(),
    jobRuns: new Map(),
    deliveries: [],
    redelivered: [],
    reruns: [],
    hiddenFromLists: new Set(),
    missingFromLookups: new Set(),
    outage: undefined,
    latency: undefined,
    installationPermissions: {
      administration: 'write',
      organization_self_hosted_runners: 'write',
      actions: 'read',
      organization_hooks: 'write',
      metadata: 'read',
    },
    notInstalled: new Set(),
    manifestApps: [],
    hookRanges: ['192.30.252.0/22', '185.199.108.0/22', '140.82.112.0/20', '2606:50c0::/32'],
    releases: [],
    fault: undefined,
  };

  const scopeKey = (params: Record<string, string>) =>
    params.org
      ? `org:${params.org}`
      : params.enterprise
        ? `enterprise:${params.enterprise}`
        : `repo:${params.owner}/${params.repo}`;

  const page = (items: unknown[], query: URLSearchParams, path: string): GitHubAnswer => {
    const perPage = Number(query.get('per_page') ?? 30);
    const start = Number(query.get('cursor') ?? 0);
    const slice = items.slice(start, start + perPage);
    const next = start + perPage < items.length ? start + perPage : undefined;
    return {
      status: 200,
      body: slice,
      ...(next !== undefined && {
        headers: { link: `<${url}${path}?per_page=${perPage}&cursor=${next}>; rel="next"` },
      }),
    };
  };

  const releasesOf = (r: GitHubRequest) =>
    r.params.owner === 'actions' && r.params.repo === 'runner' ? state.releases : [];

  const deliveryAnswer = (id: string): GitHubAnswer => {
    const delivery = state.deliveries.find((d) => String(d.id) === id);
    if (!delivery) return { status: 404, body: { message: 'Not Found' } };
    const { payload, ...summary } = delivery;
    return {
      status: 200,
      body: {
        ...summary,
        duration: 0.1,
        installation_id: null,
        repository_id: null,
        url: null,
        request: { headers: {}, payload },
        response: { headers: {}, payload: null },
      },
    };
  };

  const redeliver = (id: string): GitHubAnswer => {
    if (!state.deliveries.some((d) => String(d.id) === id))
      return { status: 404, body: { message: 'Not Found' } };
    state.redelivered.push(Number(id));
    return { status: 202, body: {} };
  };

  const handlers: Record<string, (r: GitHubRequest, path: string) => GitHubAnswer> = {
    'POST /jitconfig': (r) => {
      const name = r.body.name as string;
      if ([...state.runners.values()].some((runner) => runner.name === name)) {
        return {
          status: 409,
          body: { message: 'Already exists - A runner with the same name already exists.' },
        };
      }
      const runner: StandInRunner = {
        id: nextRunnerId++,
        name,
        status: 'offline',
        busy: false,
        labels: r.body.labels as string[],
        groupId: r.body.runner_group_id as number,
        scope: scopeKey(r.params),
      };
      state.runners.set(runner.id, runner);
      return {
        status: 201,
        body: {
          runner: {
            ...runner,
            os: 'unknown',
            labels: runner.labels.map((n, id) => ({ id, name: n, type: 'custom' })),
          },
          encoded_jit_config: encodedJitConfig(runner.id, name, url),
        },
      };
    },
    // GitHub: 201 with {token, expires_at}, an hour from now; no request body.
    'POST /registration-token': (r) => {
      const minted = `AABC${randomBytes(12).toString('hex').toUpperCase()}`;
      const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
      state.registrationTokens.set(minted, { scope: scopeKey(r.params), expiresAt });
      return { status: 201, body: { token: minted, expires_at: expiresAt } };
    },
    'GET /runners': (r) => {
      const name = r.query.get('name');
      const runners = [...state.runners.values()]
        .filter((runner) => runner.scope === scopeKey(r.params))
        .filter((runner) => !state.missingFromLookups.has(runner.name))
        .filter((runner) => (name === null ? !state.hiddenFromLists.has(runner.name) : runner.name === name))
        .map((runner) => ({
          ...runner,
          os: 'Linux',
          labels: runner.labels.map((n, id) => ({ id, name: n, type: 'custom' })),
        }));
      return { status: 200, body: { total_count: runners.length, runners } };
    },
    'DELETE /runners/{runner_id}': (r) => {
      const id = Number(r.params.runner_id);
      const runner = state.runners.get(id);
      if (!runner || runner.scope !== scopeKey(r.params))
        return { status: 404, body: { message: 'Not Found' } };
      if (runner.busy)
        return { status: 422, body: { message: 'Bad request - Runner is currently running a job' } };
      state.runners.delete(id);
      return { status: 204 };
    },
    'GET /runner-groups': (r) => {
      const groups = state.groups.get(scopeKey(r.params)) ?? [];
      return {
        status: 200,
        body: {
          total_count: groups.length,
          runner_groups: groups.map((g) => ({ ...g, visibility: 'all', default: false })),
        },
      };
    },
    'POST /runner-groups': (r) => {
      const key = scopeKey(r.params);
      const groups = state.groups.get(key) ?? [];
      const group = {
        id: nextGroupId++,
        name: r.body.name as string,
        allows_public_repositories: r.body.allows_public_repositories === true,
      };
      state.groups.set(key, [...groups, group]);
      return { status: 201, body: { ...group, visibility: r.body.visibility ?? 'all', default: false } };
    },
    'GET /repos/{owner}/{repo}/actions/jobs/{job_id}': (r) => {
      const status = state.jobs.get(Number(r.params.job_id));
      if (status === undefined) return { status: 404, body: { message: 'Not Found' } };
      const runnerName = state.jobRunners.get(Number(r.params.job_id)) ?? null;
      return {
        status: 200,
        body: { id: Number(r.params.job_id), status, labels: [], run_id: 1, runner_name: runnerName },
      };
    },
    'POST /repos/{owner}/{repo}/actions/jobs/{job_id}/rerun': (r) => {
      const id = Number(r.params.job_id);
      const status = state.jobs.get(id);
      if (status === undefined) return { status: 404, body: { message: 'Not Found' } };
      // GitHub re-runs only a job of a finished run attempt.
      if (status !== 'completed')
        return { status: 403, body: { message: 'This workflow run is not completed' } };
      state.reruns.push(id);
      return { status: 201, body: {} };
    },
    'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs': (r) => {
      const runId = Number(r.params.run_id);
      const jobs = [...state.jobRuns]
        .filter(([, job]) => job.runId === runId)
        .map(([id, job]) => ({
          id,
          run_id: runId,
          status: state.jobs.get(id) ?? 'queued',
          runner_name: state.jobRunners.get(id) ?? null,
          labels: job.labels,
        }));
      return { status: 200, body: { total_count: jobs.length, jobs } };
    },
    'GET /deliveries': (r, path) =>
      page(
        state.deliveries.map(({ payload: _, ...d }) => ({
          ...d,
          duration: 0.1,
          installation_id: null,
          repository_id: null,
        })),
        r.query,
        path,
      ),
    'GET /deliveries/{delivery_id}': (r) => deliveryAnswer(r.params.delivery_id as string),
    'POST /deliveries/{delivery_id}/attempts': (r) => redeliver(r.params.delivery_id as string),
    // GitHub's meta information, trimmed to what a caller of the hooks list reads.
    'GET /meta': () => ({
      status: 200,
      body: { verifiable_password_authentication: false, hooks: state.hookRanges, web: [], api: [] },
    }),
    // GitHub's latest release: the newest that is neither a draft nor a prerelease.
    'GET /repos/{owner}/{repo}/releases/latest': (r) => {
      const latest = releasesOf(r).find((release) => release.draft !== true && release.prerelease !== true);
      return latest ? { status: 200, body: latest } : { status: 404, body: { message: 'Not Found' } };
    },
    'GET /repos/{owner}/{repo}/releases': (r, path) => page(releasesOf(r), r.query, path),
    // The manifest flow's last step: the code (once, within the hour) for the App, its key and webhook secret.
    'POST /app-manifests/{code}/conversions': (r) => {
      const app = state.manifestApps.find((candidate) => candidate.code === r.params.code);
      if (app === undefined) return { status: 404, body: { message: 'Not Found' } };
      app.code = undefined;
      app.id = nextAppId++;
      app.slug = app.name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '');
      app.pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
        type: 'pkcs1',
        format: 'pem',
      }) as string;
      app.webhookSecret = randomBytes(20).toString('hex');
      // An App is installed nowhere until its owner installs it.
      state.notInstalled.add(app.ownerType === 'Organization' ? `org:${app.owner}` : `user:${app.owner}`);
      return {
        status: 201,
        body: {
          id: app.id,
          slug: app.slug,
          node_id: `A_${app.id}`,
          client_id: `Iv1.${randomBytes(8).toString('hex')}`,
          owner: { login: app.owner, id: 1, type: app.ownerType },
          name: app.name,
          description: app.manifest.description ?? null,
          external_url: app.manifest.url,
          html_url: `${url}/apps/${app.slug}`,
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
          permissions: app.manifest.default_permissions,
          events: app.manifest.default_events,
          client_secret: randomBytes(20).toString('hex'),
          webhook_secret: app.webhookSecret,
          pem: app.pem,
        },
      };
    },
    'GET /installation': (r) =>
      state.notInstalled.has(scopeKey(r.params))
        ? { status: 404, body: { message: 'Not Found' } }
        : {
            status: 200,
            body: {
              id: installationId,
              app_id: 1,
              target_type: 'Organization',
              permissions: state.installationPermissions,
              repository_selection: 'all',
            },
          },
    'POST /app/installations/{installation_id}/access_tokens': (r) =>
      Number(r.params.installation_id) === installationId
        ? {
            status: 201,
            body: { token: installationToken, expires_at: new Date(Date.now() + 3_600_000).toISOString() },
          }
        : { status: 404, body: { message: 'Not Found' } },
  };

  const handlerFor = (key: string) => {
    if (key.endsWith('/generate-jitconfig')) return handlers['POST /jitconfig'];
    if (key.endsWith('/registration-token')) return handlers['POST /registration-token'];
    if (key.endsWith('/actions/runners/{runner_id}')) return handlers['DELETE /runners/{runner_id}'];
    if (key.endsWith('/actions/runners')) return handlers['GET /runners'];
    if (key.endsWith('/actions/runner-groups')) return handlers[`${key.split(' ')[0]} /runner-groups`];
    if (key.endsWith('/deliveries')) return handlers['GET /deliveries'];
    if (key.endsWith('/deliveries/{delivery_id}')) return handlers['GET /deliveries/{delivery_id}'];
    if (key.endsWith('/attempts')) return handlers['POST /deliveries/{delivery_id}/attempts'];
    if (key.endsWith('/installation')) return handlers['GET /installation'];
    return handlers[key];
  };

  /**
   * The new-App page that receives the manifest form (`POST …/settings/apps/new?state=…`), its
   * "Create GitHub App" button (GitHub redirects to the manifest's `redirect_url` with a code and
   * the state), and an App's install page (which returns to the manifest's `setup_url`).
   */
  const webPage = (method: string, parsed: URL, text: string): GitHubAnswer | undefined => {
    const escapeText = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const pageOf = (title: string, body: string): GitHubAnswer => ({
      status: 200,
      body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeText(title)} · GitHub stand-in</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}label{display:block;font-weight:600;margin-top:1rem}input[type=text]{width:100%;padding:.4rem;font:inherit}button{margin-top:1rem;padding:.5rem 1rem;font:inherit;background:#1f883d;color:#fff;border:0;border-radius:6px}</style></head><body><header><strong>GitHub (stand-in)</strong></header><main><h1>${escapeText(title)}</h1>${body}</main></body></html>`,
    });
    const form = new URLSearchParams(text);
    const newApp = /^(?:\/organizations\/([^/]+))?\/settings\/apps\/new$/.exec(parsed.pathname);
    if (newApp && method === 'POST') {
      let manifest: Record<string, unknown>;
      try {
        manifest = JSON.parse(form.get('manifest') ?? '') as Record<string, unknown>;
      } catch {
        return { status: 422, body: 'Invalid manifest' };
      }
      const hook = manifest.hook_attributes as { url?: unknown } | undefined;
      const problems = [
        typeof manifest.url !== 'string' && 'url',
        typeof hook?.url !== 'string' && 'hook_attributes.url',
        typeof manifest.redirect_url !== 'string' && 'redirect_url',
      ].filter(Boolean);
      if (problems.length > 0) return { status: 422, body: `The manifest lacks ${problems.join(', ')}` };
      const org = newApp[1] === undefined ? undefined : decodeURIComponent(newApp[1]);
      const app: StandInApp = {
        manifest,
        owner: org ?? 'octocat',
        ownerType: org === undefined ? 'User' : 'Organization',
        state: parsed.searchParams.get('state') ?? '',
        name: String(manifest.name ?? ''),
        code: undefined,
        id: undefined,
        slug: undefined,
        pem: undefined,
        webhookSecret: undefined,
        installed: false,
      };
      state.manifestApps.push(app);
      const index = state.manifestApps.length - 1;
      return pageOf(
        `Create GitHub App for ${app.owner}`,
        `<p>Webhook: <code>${escapeText(String(hook?.url))}</code></p><form method="post" action="/settings/apps/new/create"><input type="hidden" name="app" value="${index}"><label for="app-name">GitHub App name</label><input type="text" id="app-name" name="name" value="${escapeText(app.name)}"><button type="submit">Create GitHub App</button></form>`,
      );
    }
    if (parsed.pathname === '/settings/apps/new/create' && method === 'POST') {
      const app = state.manifestApps[Number(form.get('app'))];
      if (app === undefined) return { status: 404, body: 'Not Found' };
      app.name = form.get('name') ?? app.name;
      app.code = randomBytes(10).toString('hex');
      const back = new URL(String(app.manifest.redirect_url));
      back.searchParams.set('code', app.code);
      back.searchParams.set('state', app.state);
      return { status: 302, headers: { location: back.toString() } };
    }
    const install = /^\/apps\/([^/]+)\/installations\/new$/.exec(parsed.pathname);
    if (install) {
      const app = state.manifestApps.find((candidate) => candidate.slug === install[1]);
      if (app === undefined) return { status: 404, body: 'Not Found' };
      if (method === 'GET') {
        return pageOf(
          `Install ${app.name}`,
          `<p>Install on your organization <strong>${escapeText(app.owner)}</strong>, all repositories.</p><form method="post"><button type="submit">Install</button></form>`,
        );
      }
      app.installed = true;
      state.notInstalled.delete(app.ownerType === 'Organization' ? `org:${app.owner}` : `user:${app.owner}`);
      state.installationPermissions = { ...(app.manifest.default_permissions as Record<string, string>) };
      const setupUrl =
        typeof app.manifest.setup_url === 'string' ? app.manifest.setup_url : `${url}/apps/${app.slug}`;
      const back = new URL(setupUrl);
      back.searchParams.set('installation_id', String(installationId));
      back.searchParams.set('setup_action', 'install');
      return { status: 302, headers: { location: back.toString() } };
    }
    return undefined;
  };

  const send = (response: ServerResponse, answer: GitHubAnswer, request?: GitHubRequest) => {
    if (request) request.status = answer.status;
    const body =
      answer.body === undefined
        ? ''
        : typeof answer.body === 'string'
          ? answer.body
          : JSON.stringify(answer.body);
    response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(body);
  };
  // GitHub's front end answers an incident with its own HTML page, not the API's JSON.
  const outagePage = (status: number): GitHubAnswer => ({
    status,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: `<!DOCTYPE html><html><head><title>${status === 503 ? 'Service Unavailable' : 'Unicorn!'} · GitHub</title></head><body>We had issues producing the response to your request.</body></html>`,
  });

  const server = createServer(async (request, response) => {
    const parsed = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    const text = await readBody(request);
    // github.com's own pages of the manifest flow, beside the API (as on GitHub Enterprise Server's host).
    const web = webPage(method, parsed, text);
    if (web !== undefined) {
      response
        .writeHead(web.status, { 'content-type': 'text/html; charset=utf-8', ...web.headers })
        .end(web.body ?? '');
      return;
    }
    const route = routes.find((r) => r.spec.method === method && r.pattern.test(parsed.pathname));
    if (!route) {
      state.violations.push(`unknown operation ${method} ${parsed.pathname}`);
      send(response, { status: 404, body: { message: 'Not Found' } });
      return;
    }
    const values = route.pattern.exec(parsed.pathname)?.slice(1) ?? [];
    const params = Object.fromEntries(
      route.names.map((name, i) => [name, decodeURIComponent(values[i] ?? '')]),
    );
    let body: Record<string, unknown> = {};
    if (text !== '') {
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        state.violations.push(`${route.key}: body is not JSON`);
        send(response, { status: 400, body: { message: 'Problems parsing JSON' } });
        return;
      }
    }
    const problems: string[] = [];
    for (const parameter of route.spec.parameters) {
      if (parameter.in === 'query' && parameter.required && !parsed.searchParams.has(parameter.name)) {
        problems.push(`missing query parameter ${parameter.name}`);
      }
      if (parameter.in === 'query' && parsed.searchParams.has(parameter.name)) {
        const type = (parameter.schema as { type?: string }).type;
        if (type === 'integer' && !/^\d+$/.test(parsed.searchParams.get(parameter.name) ?? '')) {
          problems.push(`query parameter ${parameter.name} must be an integer`);
        }
      }
    }
    if (route.spec.requestBody?.required && text === '') problems.push('a request body is required');
    if (route.body && text !== '' && !route.body(body)) {
      problems.push(...(route.body.errors ?? []).map((e) => `body${e.instancePath} ${e.message}`));
    }
    const authorization = request.headers.authorization ?? '';
    const isApp = parsed.pathname.startsWith('/app/') || parsed.pathname.endsWith('/installation');
    // GET /meta and a public repository's releases are public: GitHub answers them without credentials;
    // a manifest code is its own credential.
    const authorized =
      parsed.pathname === '/meta' ||
      parsed.pathname.startsWith('/app-manifests/') ||
      /^\/repos\/[^/]+\/[^/]+\/releases(\/latest)?$/.test(parsed.pathname)
        ? true
        : isApp
          ? /^bearer [\w-]+\.[\w-]+\.[\w-]+$/i.test(authorization) || authorization === `token ${token}`
          : authorization === `token ${token}` || authorization === `token ${installationToken}`;
    const githubRequest: GitHubRequest = {
      operation: route.key,
      method,
      path: parsed.pathname,
      params,
      query: parsed.searchParams,
      body,
      authorization,
      status: undefined,
    };
    state.requests.push(githubRequest);
    if (problems.length > 0) {
      state.violations.push(`${route.key}: ${problems.join('; ')}`);
      send(
        response,
        { status: 422, body: { message: 'Validation Failed', errors: problems } },
        githubRequest,
      );
      return;
    }
    const wait = state.latency?.(githubRequest) ?? 0;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const outage = state.outage;
    if (outage && (outage.routes?.(githubRequest) ?? true)) {
      send(response, outagePage(outage.status), githubRequest);
      return;
    }
    if (!authorized) {
      send(response, { status: 401, body: { message: 'Bad credentials' } }, githubRequest);
      return;
    }
    const faulted = state.fault?.(githubRequest);
    if (faulted) {
      send(response, faulted, githubRequest);
      return;
    }
    const handler = handlerFor(route.key);
    if (!handler) {
      state.violations.push(`${route.key}: no stand-in handler`);
      send(response, { status: 501, body: { message: 'not served by the stand-in' } }, githubRequest);
      return;
    }
    const answer = handler(githubRequest, parsed.pathname);
    // GitHub answers 404 for a missing resource on any route, documented or not.
    const documented =
      route.spec.responses.includes(String(answer.status)) || [200, 404].includes(answer.status);
    if (!documented) state.violations.push(`${route.key}: answered ${answer.status}, not documented`);
    send(response, answer, githubRequest);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const standIn = state as GitHubStandIn;
  Object.assign(standIn, {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return standIn;
}

/** A 403 as GitHub sends it when the primary rate limit is spent, resetting in `resetInSeconds`. */
export const rateLimited = (resetInSeconds: number): GitHubAnswer => ({
  status: 403,
  headers: {
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + resetInSeconds),
  },
  body: { message: 'API rate limit exceeded' },
});
