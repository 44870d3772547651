/** GitHub credentials: a token, or a GitHub App (with or without a fixed installation). */
export type GitHubCredentials =
  | { readonly kind: 'token'; readonly token: string }
  | {
      readonly kind: 'app';
      readonly appId: number;
      readonly privateKey: string;
      readonly installationId?: number;
    };

/**
 * Reads the JSON stored in `GITHUB_AUTH_SECRET_ARN`: `{"token": "..."}` or
 * `{"appId": 123, "privateKey": "-----BEGIN ...", "installationId": 456}` (installation optional),
 * or a token as plain text, as the seed's registration-token secret holds the admin token.
 * @throws Error saying which field is wrong, never echoing a value.
 */
export function parseGitHubCredentials(value: string): GitHubCredentials {
  const plain = value.trim();
  if (/^((gh[pousr]_|github_pat_)\w+|[0-9a-f]{40})$/.test(plain)) return { kind: 'token', token: plain };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new Error(
      'the GitHub credentials secret is not JSON: store {"token": "..."} or {"appId", "privateKey"}',
    );
  }
  const fields = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (typeof fields.token === 'string' && fields.token !== '') return { kind: 'token', token: fields.token };
  const appId = Number(fields.appId);
  const privateKey = fields.privateKey;
  if (
    !Number.isInteger(appId) ||
    appId <= 0 ||
    typeof privateKey !== 'string' ||
    !privateKey.includes('PRIVATE KEY')
  ) {
    throw new Error(
      'the GitHub credentials secret needs "token", or "appId" (a number) and "privateKey" (PEM)',
    );
  }
  const installationId = fields.installationId === undefined ? undefined : Number(fields.installationId);
  if (installationId !== undefined && (!Number.isInteger(installationId) || installationId <= 0)) {
    throw new Error('"installationId" in the GitHub credentials secret must be a number');
  }
  // Secrets Manager consoles often store PEM newlines as "\n".
  const pem = privateKey.replace(/\\n/g, '\n');
  return installationId === undefined
    ? { kind: 'app', appId, privateKey: pem }
    : { kind: 'app', appId, privateKey: pem, installationId };
}
