/**
 * The AWS Parameters and Secrets Lambda Extension: a process beside the function, in the same
 * sandbox, that answers `GetSecretValue` over local HTTP from its own cache. AWS recommends it over
 * the SDK in Lambda; for us it matters at cold start, where reading the webhook secret through the
 * SDK loads a Secrets Manager client, most of a cold start's cost (docs/performance.md).
 */

/** Where the extension listens, and the token it asks for (the function's session token). */
export interface SecretsExtension {
  /** Tried in order while nothing listens at one (connection refused). */
  readonly hosts: readonly string[];
  readonly port: number;
  readonly token: string;
}

/** How long the extension may take, before the SDK is asked instead (it reads a cold cache from Secrets Manager). */
const EXTENSION_TIMEOUT_MS = 1000;

/**
 * The extension, when the function has its layer: CDK sets `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT`
 * with the layer, and Lambda sets `AWS_SESSION_TOKEN`. Undefined elsewhere (a laptop, a test).
 */
export function secretsExtensionFrom(env: NodeJS.ProcessEnv = process.env): SecretsExtension | undefined {
  const port = Number(env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT);
  const token = env.AWS_SESSION_TOKEN;
  if (!Number.isInteger(port) || port < 1 || port > 65_535 || !token) return undefined;
  return { hosts: EXTENSION_HOSTS, port, token };
}

/**
 * The IPv4 loopback first: naming `localhost` costs a resolver lookup (about a quarter of a bare
 * node start, measured in docs/performance.md) before the first byte. AWS documents only
 * `localhost`, which is tried when nothing listens on 127.0.0.1.
 */
const EXTENSION_HOSTS = ['127.0.0.1', 'localhost'];

/** `GET /secretsmanager/get?secretId=…` with the token header: the secret's string. */
export async function readFromExtension(
  extension: SecretsExtension,
  secretId: string,
  timeoutMs = EXTENSION_TIMEOUT_MS,
): Promise<string> {
  const { status, body } = await firstListening(extension, secretId, timeoutMs);
  if (status !== 200) throw new Error(`the secrets extension answered ${status}: ${body.slice(0, 300)}`);
  let secretString: unknown;
  try {
    secretString = (JSON.parse(body) as { SecretString?: unknown }).SecretString;
  } catch {
    throw new Error('the secrets extension answered 200 without JSON');
  }
  if (typeof secretString !== 'string') throw new Error(`secret ${secretId} holds no string`);
  return secretString;
}

async function firstListening(
  extension: SecretsExtension,
  secretId: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  const [host = 'localhost', ...others] = extension.hosts;
  try {
    return await get(host, extension, secretId, timeoutMs);
  } catch (error) {
    const refused = (error as { code?: string }).code === 'ECONNREFUSED';
    if (!refused || others.length === 0) throw error;
    return firstListening({ ...extension, hosts: others }, secretId, timeoutMs);
  }
}

async function get(
  host: string,
  extension: SecretsExtension,
  secretId: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  // Loaded on first use, and not as an ES import: on Node 24 an ES import of node:http reads its
  // undici-backed exports, about 50 ms of a cold start (docs/performance-bench.md).
  const http = process.getBuiltinModule('node:http');
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const request = http.get(
      {
        host,
        port: extension.port,
        path: `/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`,
        headers: { 'X-Aws-Parameters-Secrets-Token': extension.token },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
          if (text.length > MAX_ANSWER_CHARS) {
            request.destroy(
              new Error(`the secrets extension's answer is longer than ${MAX_ANSWER_CHARS} characters`),
            );
          }
        });
        response.on('end', () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, body: text });
        });
        response.on('error', reject);
      },
    );
    // A bound on the whole exchange, not on silence: an answer that trickles in is cut off too.
    timer = setTimeout(
      () => request.destroy(new Error(`the secrets extension did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Secrets Manager keeps at most 64 KiB a secret; its JSON answer is some of that again. */
const MAX_ANSWER_CHARS = 256 * 1024;
