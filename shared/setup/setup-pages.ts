import { createHash } from 'node:crypto';
import type { Finding } from '../doctor/finding';
import { type AppManifest, type AppPermission, PERMISSION_REASONS } from '../github/app-manifest';
import type { Readiness } from './readiness';
import type { SetupConfig } from './setup-config';
import type { CreatedAppSummary } from './setup-record';

/**
 * The setup page's HTML: server-rendered, no script, one small style sheet inline (allowed by its
 * hash in the Content-Security-Policy). Every input has a label, every group a legend, statuses are
 * words (not only colours), and the layout is one column that reads on a phone.
 */

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for HTML content and attribute values. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);

/** HTML already escaped: what {@link html} leaves as it is. */
class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = string | number | Html | undefined | false | readonly Part[];

const render = (part: Part): string =>
  part === undefined || part === false
    ? ''
    : part instanceof Html
      ? part.text
      : Array.isArray(part)
        ? part.map(render).join('')
        : escapeHtml(String(part));

/** A template whose values are escaped unless they are {@link Html} themselves. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  return new Html(
    strings
      .reduce((out, string, index) => out + (index > 0 ? render(values[index - 1]) : '') + string, '')
      .trim(),
  );
}

const STYLE = `
:root { color-scheme: light dark; --accent: #1f6feb; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 42rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; line-height: 1.25; }
h2 { font-size: 1.2rem; margin-top: 2rem; }
ol.steps { display: flex; flex-wrap: wrap; gap: .25rem 1rem; padding: 0; list-style: none; font-size: .9rem; }
ol.steps li[aria-current] { font-weight: 700; }
label, legend { display: block; font-weight: 600; margin-top: 1rem; }
fieldset { border: 0; padding: 0; margin: 0; }
fieldset label { font-weight: 400; margin-top: .25rem; }
input[type=text] { display: block; width: 100%; font: inherit; padding: .5rem; margin-top: .25rem; border: 1px solid #8c959f; border-radius: 6px; }
.hint { font-size: .9rem; margin: .25rem 0 0; }
.error { color: var(--bad); font-weight: 600; }
button, .button { display: inline-block; font: inherit; font-weight: 600; margin-top: 1.5rem; padding: .6rem 1.2rem; border: 0; border-radius: 6px; background: var(--accent); color: #fff; text-decoration: none; cursor: pointer; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
code { font-family: ui-monospace, monospace; font-size: .9em; overflow-wrap: anywhere; }
ul.findings { list-style: none; padding: 0; }
ul.findings li { padding: .5rem 0; border-bottom: 1px solid #d0d7de; }
.status { display: inline-block; min-width: 5.5rem; font-weight: 700; }
.status-ok { color: var(--ok); } .status-problem { color: var(--bad); } .status-warning { color: var(--warn); }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem .35rem 0; border-bottom: 1px solid #d0d7de; }
`;

/** The Content-Security-Policy of every page: nothing but the inline style, and forms to us and GitHub. */
export function contentSecurityPolicy(serverUrl: string): string {
  const styleHash = createHash('sha256').update(STYLE).digest('base64');
  return [
    "default-src 'none'",
    `style-src 'sha256-${styleHash}'`,
    `form-action 'self' ${serverUrl}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

const STEPS = ['Open', 'Create the App', 'Install', 'Ready'] as const;

function page(title: string, step: number | undefined, body: Html): string {
  return `<!doctype html>\n${
    html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · GitHub runners setup</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<main>
${
  step === undefined
    ? ''
    : html`<nav aria-label="Setup steps"><ol class="steps">${STEPS.map(
        (name, index) =>
          html`<li${new Html(index === step ? ' aria-current="step"' : '')}>${index + 1}. ${name}</li>`,
      )}</ol></nav>`
}
<h1>${title}</h1>
${body}
</main>
</body>
</html>`.text
  }\n`;
}

const scopeText = (config: SetupConfig) =>
  config.scope === 'repo'
    ? "repository runners (RUNNER_SCOPE=repo): each job's runner registers with the job's own repository"
    : config.scope === 'org'
      ? 'organisation runners (RUNNER_SCOPE=org): runners register with the organisation, in its runner group'
      : 'enterprise runners (RUNNER_SCOPE=enterprise)';

/** Why the page needs its link: no session, or a key that is not this deployment's. */
export function keyPage(config: SetupConfig, reason: string): string {
  return page(
    'Open the setup page with its one-time link',
    undefined,
    html`<p>${reason}</p>
<p>The link is in the stack's one-time setup secret, which only the deployer can read. With your AWS credentials, print it:</p>
<p><code>aws cloudformation describe-stacks --stack-name ${config.stackName} --query "Stacks[0].Outputs[?OutputKey=='SetupLinkCommand'].OutputValue" --output text</code></p>
<p>and run the command it prints. The link works until setup completes.</p>`,
  );
}

/** The key after setup completed: it no longer opens anything. */
export function completePage(config: SetupConfig, record: { readonly app?: CreatedAppSummary }): string {
  return page(
    'Setup is complete',
    undefined,
    html`<p>This deployment's GitHub App${record.app ? html` <a href="${record.app.htmlUrl}">${record.app.slug}</a>` : ''} is created and its credentials are stored: the setup link no longer works.</p>
<p>Check the deployment with your AWS credentials:</p>
<p><code>npm run doctor -- --stack ${config.stackName} ${config.scope === 'repo' ? '--repo OWNER/REPOSITORY' : '--org ORG'} --app</code></p>
<p>To make another App, store other credentials in the GitHub credentials secret (docs/github-setup.md).</p>`,
  );
}

/** The values and problems of the first form. */
export interface StartForm {
  readonly ownerKind: 'organization' | 'user';
  readonly org: string;
  readonly name: string;
  readonly problems?: Readonly<Partial<Record<'org' | 'name', string>>>;
}

const PERMISSION_LABELS: Readonly<Record<AppPermission, string>> = {
  administration: 'Repository: Administration',
  organization_self_hosted_runners: 'Organisation: Self-hosted runners',
  actions: 'Repository: Actions',
  organization_hooks: 'Organisation: Webhooks',
  metadata: 'Repository: Metadata',
};

function permissionsTable(manifest: AppManifest): Html {
  return html`<table>
<caption class="hint">The permissions the App asks for: the least this deployment's scope needs.</caption>
<thead><tr><th scope="col">Permission</th><th scope="col">Access</th><th scope="col">Why</th></tr></thead>
<tbody>${Object.entries(manifest.default_permissions).map(
    ([permission, access]) =>
      html`<tr><td>${PERMISSION_LABELS[permission as AppPermission] ?? permission}</td><td>${access}</td><td>${PERMISSION_REASONS[permission as AppPermission] ?? ''}</td></tr>`,
  )}</tbody>
</table>`;
}

/** Step 2: where the App goes (an organisation, or the user's own account) and its name. */
export function startPage(
  config: SetupConfig,
  form: StartForm,
  action: string,
  manifest: AppManifest | undefined,
): string {
  if (manifest === undefined) {
    return page(
      'Connect GitHub',
      1,
      html`<p>This deployment serves ${scopeText(config)}.</p>
<p>A GitHub App cannot register enterprise runners: GitHub offers it no enterprise runner permission. Store a classic token of an enterprise owner with <code>manage_runners:enterprise</code> and <code>repo</code> in the GitHub credentials secret instead (docs/github-setup.md, Option B).</p>`,
    );
  }
  const problem = (field: 'org' | 'name') => form.problems?.[field];
  const invalid = (field: 'org' | 'name') =>
    new Html(problem(field) === undefined ? '' : ` aria-invalid="true" aria-describedby="${field}-error"`);
  const error = (field: 'org' | 'name') =>
    problem(field) === undefined
      ? ''
      : html`<p class="error" id="${field}-error">${problem(field) ?? ''}</p>`;
  const checked = (kind: StartForm['ownerKind']) => new Html(form.ownerKind === kind ? ' checked' : '');
  return page(
    'Connect GitHub',
    1,
    html`<p>This deployment serves ${scopeText(config)}. The page makes a private GitHub App for it with GitHub's App manifest flow: its webhook is the stack's, it receives <code>workflow_job</code> only, and its credentials go straight into the stack's secrets.</p>
<form method="post" action="${action}" novalidate>
<fieldset>
<legend>Who owns the App</legend>
<label><input type="radio" name="owner" value="organization"${checked('organization')}> An organisation (recommended: the organisation whose jobs the runners serve)</label>
<label><input type="radio" name="owner" value="user"${checked('user')}> My personal account</label>
</fieldset>
<label for="org">Organisation</label>
<input type="text" id="org" name="org" value="${form.org}" autocomplete="organization" autocapitalize="none" spellcheck="false"${invalid('org')}>
<p class="hint">Its login, as in <code>github.com/ORGANISATION</code>. You must be an owner of it. Left out with a personal account.</p>
${error('org')}
<label for="name">App name</label>
<input type="text" id="name" name="name" value="${form.name}" maxlength="34" autocapitalize="none" spellcheck="false"${invalid('name')}>
<p class="hint">GitHub App names are unique across GitHub, up to 34 characters; you can change it on GitHub's page too.</p>
${error('name')}
<button type="submit">Continue</button>
</form>
<h2>What the App may do</h2>
${permissionsTable(manifest)}`,
  );
}

/** Step 2, confirmed: the form that posts the manifest to GitHub's new-App page. */
export function manifestPage(manifest: AppManifest, githubAction: string, owner: string): string {
  return page(
    'Create the App on GitHub',
    1,
    html`<p>GitHub shows the App <strong>${manifest.name}</strong> for ${owner} with the settings below; press <em>Create GitHub App</em> there. GitHub then sends you back here, and this page stores the App's id, private key and webhook secret in the stack's secrets: nobody copies a key.</p>
<dl>
<dt>Webhook</dt><dd><code>${manifest.hook_attributes.url}</code>, event <code>workflow_job</code></dd>
<dt>Comes back to</dt><dd><code>${manifest.redirect_url}</code></dd>
</dl>
${permissionsTable(manifest)}
<form method="post" action="${githubAction}">
<input type="hidden" name="manifest" value="${JSON.stringify(manifest)}">
<button type="submit">Create the GitHub App on GitHub</button>
</form>`,
  );
}

const STATUS_WORD: Readonly<Record<Finding['status'], string>> = {
  ok: 'OK',
  problem: 'Problem',
  warning: 'Warning',
  skipped: 'Not checked',
};

/** Steps 3 and 4: the App made, its install link, and the readiness panel. */
export function donePage(app: CreatedAppSummary | undefined, readiness: Readiness): string {
  const installed = !readiness.left.some((item) => item.href === readiness.installUrl);
  return page(
    installed ? 'Ready: what the deployment still needs' : 'Install the App',
    installed ? 3 : 2,
    html`<p>The GitHub App ${app ? html`<a href="${app.htmlUrl}">${app.slug}</a> (id ${app.id}, owned by ${app.owner})` : ''} is created. Its id and private key are in the stack's GitHub credentials secret, its webhook secret in the stack's webhook secret. The setup link no longer works.</p>
${
  installed || readiness.installUrl === undefined
    ? ''
    : html`<p><a class="button" href="${readiness.installUrl}">Install the App on GitHub</a></p>
<p class="hint">Choose all repositories, or the repositories whose jobs it should serve. GitHub brings you back to this page.</p>`
}
<h2 id="readiness">Readiness</h2>
<ul class="findings" aria-labelledby="readiness">${readiness.findings.map(
      (finding) =>
        html`<li><span class="status status-${finding.status}">${STATUS_WORD[finding.status]}</span> <strong>${finding.check}</strong>: ${finding.summary}${finding.fix === undefined ? '' : html`<br><span class="hint">Fix: ${finding.fix}</span>`}</li>`,
    )}</ul>
<h2 id="left">What is left</h2>
<ol aria-labelledby="left">${readiness.left.map(
      (item) =>
        html`<li>${item.href === undefined ? item.text : html`<a href="${item.href}">${item.text}</a>`}${item.command === undefined ? '' : html`<br><code>${item.command}</code>`}</li>`,
    )}</ol>`,
  );
}

/** Something went wrong on the way: what, and how to go on. */
export function errorPage(title: string, message: string, restart: string): string {
  return page(
    title,
    undefined,
    html`<p role="alert">${message}</p>
<p><a href="${restart}">Start the setup again</a></p>`,
  );
}
