import type { WebhookSecretSetting } from '../config';
import { errorMessage, ServiceUnavailableError } from '../errors';
import { readFromExtension, secretsExtensionFrom } from './secrets-extension';

/** The port through which the handler gets the secrets a delivery may be signed with. */
export interface WebhookSecrets {
  /** The current secret first, then the previous one while a rotation is under way. */
  get(): Promise<readonly string[]>;
}

/** Fetches a secret's string by ARN, caching it for `maxAgeSeconds`. */
export type FetchSecret = (arn: string, maxAgeSeconds: number) => Promise<string>;

/** How long a fetched secret is used before it is read again, so a rotation reaches warm functions. */
export const SECRET_MAX_AGE_SECONDS = 300;

/** The longest a read of the webhook secret may take: it is on the path GitHub gives 10 s. */
export const SECRET_READ_TIMEOUT_MS = 3000;

/** `promise`, or a rejection after `ms`: a read that hangs must not hold the delivery past its deadline. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Powertools Parameters, loaded on first use: it builds the Secrets Manager client (endpoint
 * from `AWS_ENDPOINT_URL_SECRETS_MANAGER` when set) and caches the value.
 */
const fetchWithPowertools: FetchSecret = async (arn, maxAge) => {
  const { getSecret } = await import('@aws-lambda-powertools/parameters/secrets');
  const value = await getSecret(arn, { maxAge });
  if (typeof value !== 'string') throw new Error(`secret ${arn} holds no string`);
  return value;
};

/**
 * How every function reads a secret: through the Parameters and Secrets extension when the
 * function has it (no AWS SDK loaded), else, or when the extension fails, through Powertools.
 */
export const fetchSecretValue: FetchSecret = async (arn, maxAge) => {
  const extension = secretsExtensionFrom();
  if (extension === undefined) return fetchWithPowertools(arn, maxAge);
  try {
    return await readFromExtension(extension, arn);
  } catch (extensionError) {
    try {
      return await fetchWithPowertools(arn, maxAge);
    } catch (sdkError) {
      throw new Error(
        `${errorMessage(sdkError)} (through the secrets extension first: ${errorMessage(extensionError)})`,
        { cause: sdkError },
      );
    }
  }
};

/**
 * Reads a stored webhook secret: either the secret itself, or JSON `{"secret": "...",
 * "previous": "..."}` while GitHub still signs some deliveries with the previous one.
 * @throws Error when the value holds no usable secret: empty, or JSON whose `secret` (or
 * `previous`) is empty or not a string. Taking the JSON text as the key instead would accept any
 * delivery signed with that text, which anyone who guesses the shape can forge.
 */
export function parseStoredSecret(value: string): string[] {
  if (value.trim() === '') throw new Error('the stored webhook secret is empty');
  if (!value.trimStart().startsWith('{')) return [value];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    // Not JSON after all: the whole string is the secret.
    return [value];
  }
  const { secret, previous } = parsed as { secret?: unknown; previous?: unknown };
  const usable = (item: unknown) => typeof item === 'string' && item.trim() !== '';
  if (!usable(secret)) {
    throw new Error('the stored webhook secret is JSON without a non-empty "secret" string');
  }
  if (previous === undefined || previous === null) return [secret as string];
  if (!usable(previous)) {
    throw new Error(
      'the stored webhook secret\'s "previous" is empty or not a string: leave it out when no rotation is under way',
    );
  }
  return [secret as string, previous as string];
}

/** Builds the {@link WebhookSecrets} for a configuration; the Secrets Manager one keeps its last good value. */
export function createWebhookSecrets(
  setting: WebhookSecretSetting,
  fetchSecret: FetchSecret = fetchSecretValue,
  now: () => number = Date.now,
): WebhookSecrets {
  if (setting.kind === 'plain') {
    const secrets = Object.freeze([...setting.secrets]);
    return { get: async () => secrets };
  }
  let lastGood: readonly string[] | undefined;
  let readAt = 0;
  return {
    async get() {
      // Within its age the value is used as it is: no call, no timer, on the path of every delivery.
      if (lastGood !== undefined && now() - readAt < SECRET_MAX_AGE_SECONDS * 1000) return lastGood;
      try {
        lastGood = parseStoredSecret(
          await within(
            fetchSecret(setting.arn, SECRET_MAX_AGE_SECONDS),
            SECRET_READ_TIMEOUT_MS,
            'reading the webhook secret',
          ),
        );
        readAt = now();
      } catch (error) {
        // A failed refresh keeps the last good value; only a cold start without one must fail.
        if (lastGood === undefined) {
          throw new ServiceUnavailableError('could not read the webhook secret from Secrets Manager', {
            cause: error,
          });
        }
      }
      return lastGood;
    },
  };
}
