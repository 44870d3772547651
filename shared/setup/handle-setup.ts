import { timingSafeEqual } from 'node:crypto';
import { errorMessage } from '../errors';
import { type AppManifest, appManifest, manifestFormAction } from '../github/app-manifest';
import {
  type CreatedApp,
  ManifestCodeError,
  type ManifestConversion,
} from '../github/app-manifest-conversion';
import type { Readiness } from './readiness';
import type { SetupConfig } from './setup-config';
import {
  completePage,
  contentSecurityPolicy,
  donePage,
  errorPage,
  keyPage,
  manifestPage,
  type StartForm,
  startPage,
} from './setup-pages';
import { completedRecord, type SetupRecord } from './setup-record';
import {
  AFTER_COMPLETION_SECONDS,
  keyMatches,
  parseCookies,
  SESSION_COOKIE,
  SESSION_MAX_AGE_SECONDS,
  STATE_COOKIE,
  STATE_MAX_AGE_SECONDS,
  sessionValid,
  sessionValue,
  setCookie,
} from './setup-session';

/** A request to the setup routes as plain data: what the Lambda adapter turns its event into. */
export interface SetupRequest {
  readonly method: string;
  /** The route: `/setup` or `/setup/callback`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
  /** `https://{host}`: where the browser reached us. */
  readonly origin: string;
  /** What comes before the routes in the browser's address: the API stage (`/github`), or nothing. */
  readonly basePath: string;
}

/** An answer: cookies apart, since one answer may set two. */
export interface SetupResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly cookies: readonly string[];
  readonly body: string;
}

/** The one-time setup secret: read on every request (setup's completion must be seen at once). */
export interface SetupStore {
  read(): Promise<SetupRecord>;
  write(record: SetupRecord): Promise<void>;
}

/** Where the App's credentials go: `PutSecretValue` on the stack's two secrets. */
export interface SecretWriter {
  put(arn: string, value: string): Promise<void>;
}

export interface SetupDependencies {
  readonly config: SetupConfig;
  readonly store: SetupStore;
  readonly secrets: SecretWriter;
  readonly conversion: ManifestConversion;
  readonly readiness: (record: SetupRecord) => Promise<Readiness>;
  readonly now: () => Date;
  readonly newState: () => string;
  readonly log: {
    info(message: string, detail?: Record<string, unknown>): void;
    error(message: string, detail?: Record<string, unknown>): void;
  };
}

export type SetupHandler = (request: SetupRequest) => Promise<SetupResponse>;

/** GitHub logins: letters, digits and single inner hyphens, up to 39 characters. */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
/** GitHub App names: at most 34 characters. */
const APP_NAME_MAX = 34;

/**
 * The setup page: `GET /setup?key=…` opens a session with the one-time key, `GET /setup` shows the
 * step the deployment is at, `POST /setup` turns the owner and name into the manifest form for
 * GitHub, and `GET /setup/callback` takes GitHub's code back (its `state` checked against the
 * browser's), converts it into the App, stores the App's credentials and records setup complete.
 */
export function createSetupHandler(deps: SetupDependencies): SetupHandler {
  const { config } = deps;
  const csp = contentSecurityPolicy(config.serverUrl);

  return async (request) => {
    const base = request.basePath;
    const secure = request.origin.startsWith('https:');
    const cookiePath = `${base}/setup`;
    const answer = (
      statusCode: number,
      body: string,
      extra: { readonly location?: string; readonly cookies?: readonly string[] } = {},
    ): SetupResponse => ({
      statusCode,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': csp,
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
        ...(extra.location !== undefined && { location: extra.location }),
      },
      cookies: extra.cookies ?? [],
      body,
    });
    const redirect = (to: string, cookies: readonly string[] = []) =>
      answer(303, '', { location: `${base}${to}`, cookies });

    if (request.path !== '/setup' && request.path !== '/setup/callback') {
      return answer(404, errorPage('Not found', `Nothing is at ${request.path}.`, `${base}/setup`));
    }
    let record: SetupRecord;
    try {
      record = await deps.store.read();
    } catch (error) {
      deps.log.error('cannot read the setup secret', { error: errorMessage(error) });
      return answer(
        503,
        errorPage(
          'The setup secret cannot be read',
          'The setup function could not read its one-time setup secret: its log says why.',
          `${base}/setup`,
        ),
      );
    }
    const now = deps.now();
    const cookies = parseCookies(request.headers.cookie);
    const inSession = sessionValid(cookies[SESSION_COOKIE], record.key, now.getTime());
    const completed = record.completedAt !== undefined;

    if (request.path === '/setup' && request.method === 'GET') {
      const key = request.query.key;
      if (key !== undefined) {
        if (completed) return answer(410, completePage(config, record));
        if (!keyMatches(key, record.key))
          return answer(401, keyPage(config, "That link's key is not this deployment's setup key."));
        // The key leaves the address bar: the session cookie carries it from here.
        return redirect('/setup', [
          setCookie(SESSION_COOKIE, sessionValue(record.key, now.getTime()), {
            path: cookiePath,
            maxAge: SESSION_MAX_AGE_SECONDS,
            secure,
          }),
        ]);
      }
      if (!inSession) {
        return answer(
          completed ? 410 : 401,
          completed
            ? completePage(config, record)
            : keyPage(config, 'This page opens with the one-time setup link of the deployment.'),
        );
      }
      if (completed) {
        const since = now.getTime() - Date.parse(record.completedAt ?? '');
        if (since > AFTER_COMPLETION_SECONDS * 1000) return answer(410, completePage(config, record));
        return answer(200, donePage(record.app, await deps.readiness(record)));
      }
      const form = defaultForm(config);
      return answer(200, startPage(config, form, `${base}/setup`, manifestFor(request, form.name)));
    }

    if (!inSession) {
      return answer(401, keyPage(config, 'This page opens with the one-time setup link of the deployment.'));
    }
    if (completed) return redirect('/setup');

    if (request.path === '/setup' && request.method === 'POST') {
      // The session cookie is SameSite=Lax, so no other site's form can post here; the Origin check is a second fence.
      const origin = request.headers.origin;
      if (origin !== undefined && origin !== 'null' && origin !== request.origin) {
        return answer(403, errorPage('Refused', 'The form was sent from another site.', `${base}/setup`));
      }
      const form = readStartForm(request.body);
      const manifest = manifestFor(request, form.name);
      if (manifest === undefined || form.problems !== undefined) {
        return answer(400, startPage(config, form, `${base}/setup`, manifest));
      }
      const state = deps.newState();
      const owner = form.ownerKind === 'organization' ? form.org : undefined;
      deps.log.info('setup: manifest form for GitHub', { owner: owner ?? '(personal account)' });
      return answer(
        200,
        manifestPage(
          manifest,
          manifestFormAction(config.serverUrl, owner, state),
          owner === undefined ? 'your personal account' : `the organisation ${owner}`,
        ),
        {
          cookies: [
            setCookie(STATE_COOKIE, state, { path: cookiePath, maxAge: STATE_MAX_AGE_SECONDS, secure }),
          ],
        },
      );
    }

    if (request.path === '/setup/callback' && request.method === 'GET') {
      const { code, state } = request.query;
      const expected = cookies[STATE_COOKIE];
      if (state === undefined || expected === undefined || !sameText(state, expected)) {
        return answer(
          400,
          errorPage(
            'This answer is not for this browser',
            "GitHub's redirect carries a state this browser did not start (or its hour is over): nothing was stored.",
            `${base}/setup`,
          ),
        );
      }
      if (code === undefined || !/^[\w-]{1,100}$/.test(code)) {
        return answer(
          400,
          errorPage('GitHub sent no code', 'The redirect from GitHub has no App code.', `${base}/setup`),
        );
      }
      let app: CreatedApp;
      try {
        app = await deps.conversion.convert(code);
      } catch (error) {
        deps.log.error('setup: the manifest conversion failed', { error: errorMessage(error) });
        return answer(
          error instanceof ManifestCodeError ? 400 : 502,
          errorPage(
            'GitHub did not hand over the App',
            error instanceof ManifestCodeError
              ? error.message
              : 'GitHub did not answer the conversion of the code: nothing was stored. The function log has the detail.',
            `${base}/setup`,
          ),
        );
      }
      try {
        await deps.secrets.put(
          config.githubAuthSecretArn,
          JSON.stringify({ appId: app.id, privateKey: app.privateKey }),
        );
        await deps.secrets.put(config.webhookSecretArn, app.webhookSecret);
        await deps.store.write(
          completedRecord(
            record,
            {
              id: app.id,
              slug: app.slug,
              htmlUrl: app.htmlUrl,
              owner: app.owner,
              ownerType: app.ownerType,
            },
            now,
          ),
        );
      } catch (error) {
        deps.log.error('setup: storing the App failed', { appId: app.id, error: errorMessage(error) });
        return answer(
          502,
          errorPage(
            "The App's credentials could not be stored",
            `GitHub made the App ${app.slug} (id ${app.id}), but storing its credentials failed: the function log says why. Delete the App on GitHub (${app.htmlUrl}) and start again, or store its key by hand (docs/github-setup.md).`,
            `${base}/setup`,
          ),
        );
      }
      deps.log.info('setup: App created and stored', { appId: app.id, owner: app.owner });
      return redirect('/setup', [setCookie(STATE_COOKIE, '', { path: cookiePath, maxAge: 0, secure })]);
    }
    return answer(
      405,
      errorPage('Not allowed', `${request.method} ${request.path} is not a setup step.`, `${base}/setup`),
    );
  };

  /** The manifest for this deployment, reached at this request's address; undefined for enterprise. */
  function manifestFor(request: SetupRequest, name: string): AppManifest | undefined {
    if (config.scope === 'enterprise') return undefined;
    const here = `${request.origin}${request.basePath}`;
    return appManifest({
      scope: config.scope,
      webhookUrl: config.webhookUrl,
      name,
      redirectUrl: `${here}/setup/callback`,
      setupUrl: `${here}/setup`,
      spotRerun: config.spotRerun,
    });
  }
}

/** The form as first shown: the organisation the settings name, a name from it. */
function defaultForm(config: SetupConfig): StartForm {
  const org = config.suggestedOrg ?? '';
  return {
    ownerKind: 'organization',
    org,
    name: `${org === '' ? config.stackName.toLowerCase() : org}-ecs-runners`.slice(0, APP_NAME_MAX),
  };
}

/** The owner and name from the form, each problem beside its field. */
function readStartForm(body: string): StartForm {
  const fields = new URLSearchParams(body);
  const ownerKind = fields.get('owner') === 'user' ? 'user' : 'organization';
  const org = (fields.get('org') ?? '').trim();
  const name = (fields.get('name') ?? '').trim();
  const problems: Partial<Record<'org' | 'name', string>> = {};
  if (ownerKind === 'organization' && !LOGIN.test(org))
    problems.org =
      org === ''
        ? "Enter the organisation's login, or choose your personal account."
        : 'An organisation login has letters, digits and single hyphens, up to 39 characters.';
  if (name === '' || name.length > APP_NAME_MAX)
    problems.name = `Enter a name of 1 to ${APP_NAME_MAX} characters.`;
  return {
    ownerKind,
    org,
    name,
    ...(Object.keys(problems).length > 0 && { problems }),
  };
}

function sameText(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}
