import { LOCAL_WEBHOOK_SECRET } from '../defaults';
import { errorMessage } from '../errors';
import { parseGitHubCredentials } from '../github/credentials';
import { parseStoredSecret } from '../secrets/webhook-secrets';
import { type Finding, type Gathered, ok, problem, skipped, warning } from './finding';

/** The secrets the stack made, read with the operator's credentials; undefined: the stack has none. */
export interface SecretFacts {
  readonly webhookSecret: (Gathered<string> & { readonly arn: string }) | undefined;
  readonly githubCredentials: (Gathered<string> & { readonly arn: string }) | undefined;
  readonly registrationToken: (Gathered<string> & { readonly arn: string }) | undefined;
}

/** Values people leave in a secret meaning "fill me in later". */
const PLACEHOLDER = /^(?:placeholder|change[-_ ]?me|replace[-_ ]?me|todo|tbd|secret|password|test|x+|\.+)$/i;

/** Below this many characters a webhook secret is guessable (GitHub asks for a random string of high entropy). */
const SHORT_SECRET = 20;

const putValue = (arn: string, value: string) =>
  `aws secretsmanager put-secret-value --secret-id ${arn} --secret-string ${value}`;

function unreadable(check: Finding['check'], what: string, arn: string, error: string): Finding {
  return problem(
    check,
    `cannot read the ${what} (${arn}): ${error}`,
    /ResourceNotFound/.test(error)
      ? 'the secret is gone: deploy the stack again to recreate it, then set its value'
      : /resource-based policy/.test(error)
        ? "the secret's resource policy lets only the functions read it (docs/security.md): deploy with -c secretReaders=<your role's ARN> to let the doctor read it too"
        : "run the doctor with credentials allowed secretsmanager:GetSecretValue (and kms:Decrypt) on it, in the stack's region",
  );
}

/** The webhook secret: present, not a placeholder, long enough to resist guessing. */
export function checkWebhookSecret(facts: SecretFacts): Finding {
  const secret = facts.webhookSecret;
  if (secret === undefined) {
    return skipped(
      'webhook-secret',
      'no webhook secret to check: no WebhookSecretArn output (see stack) and no --webhook-secret-arn',
    );
  }
  if (!secret.ok) return unreadable('webhook-secret', 'webhook secret', secret.arn, secret.error);
  const fix = `store a random string (e.g. \`openssl rand -hex 20\`): ${putValue(secret.arn, '"$(openssl rand -hex 20)"')}, then paste the same value into the webhook's Secret on GitHub`;
  let values: string[];
  try {
    values = parseStoredSecret(secret.value).map((value) => value.trim());
  } catch (error) {
    // The webhook refuses the same value: every delivery is answered 503 until it is fixed.
    return problem('webhook-secret', errorMessage(error), fix);
  }
  if (values.some((value) => value === '' || PLACEHOLDER.test(value) || value === LOCAL_WEBHOOK_SECRET)) {
    return problem('webhook-secret', 'the webhook secret is empty or still a placeholder', fix);
  }
  if (values.some((value) => value.length < SHORT_SECRET)) {
    return warning('webhook-secret', `the webhook secret is shorter than ${SHORT_SECRET} characters`, fix);
  }
  return ok('webhook-secret', 'the webhook secret is set');
}

/** The GitHub credentials secret: JSON the functions can use, not the value CDK generated to create it. */
export function checkGitHubCredentials(facts: SecretFacts): Finding {
  const secret = facts.githubCredentials;
  if (secret === undefined) {
    return skipped(
      'github-credentials',
      'no GitHub credentials secret to check: no GitHubAuthSecretArn output (see stack; token registration without the redelivery sweep has none) and no --github-auth-secret-arn',
    );
  }
  if (!secret.ok)
    return unreadable('github-credentials', 'GitHub credentials secret', secret.arn, secret.error);
  try {
    const credentials = parseGitHubCredentials(secret.value);
    return ok(
      'github-credentials',
      credentials.kind === 'token'
        ? 'the GitHub credentials secret holds a token'
        : `the GitHub credentials secret holds GitHub App ${credentials.appId}'s key`,
    );
  } catch (error) {
    const stillGenerated = !secret.value.trimStart().startsWith('{');
    return problem(
      'github-credentials',
      stillGenerated
        ? 'the GitHub credentials secret still holds the placeholder the stack generated'
        : errorMessage(error),
      `write {"token": "..."} or {"appId": 123, "privateKey": "-----BEGIN ...", "installationId": 456} to github-auth.json, then ${putValue(secret.arn, 'file://github-auth.json')}`,
    );
  }
}

/** The registration token secret (token registration): something shaped like a GitHub token. */
export function checkRegistrationToken(facts: SecretFacts): Finding {
  const secret = facts.registrationToken;
  if (secret === undefined) {
    return skipped(
      'registration-token',
      'no RegistrationTokenSecretArn output: with just-in-time registration (the default) there is none',
    );
  }
  if (!secret.ok)
    return unreadable('registration-token', 'registration token secret', secret.arn, secret.error);
  // GitHub's token formats: ghp_/github_pat_/gho_/ghu_/ghs_ prefixes, or a classic 40-hex token.
  if (/^(?:gh[pous]_|github_pat_)[A-Za-z0-9_]{20,}$|^[0-9a-f]{40}$/.test(secret.value.trim())) {
    return ok('registration-token', 'the registration token secret holds a GitHub token');
  }
  return problem(
    'registration-token',
    'the registration token secret does not hold a GitHub token (still the generated placeholder?)',
    `store a token that may register runners (admin:org, or the fine-grained "Self-hosted runners" write permission): ${putValue(secret.arn, '"$RUNNER_ADMIN_TOKEN"')}`,
  );
}
