import { Token } from 'aws-cdk-lib';
import { ConfigError } from '../shared/errors';

/** How CDK writes a deploy-time value into a string (`${Token[NAME.123]}`). */
const EMBEDDED_TOKEN = /\$\{Token\[[^\]]+\]\}/g;
const WHOLE_TOKEN = /^\$\{Token\[[^\]]+\]\}$/;

/**
 * Runs a function's own configuration check at synth, so a wrong template or list fails here
 * instead of at the first cold start. Values known only at deploy time get a valid stand-in.
 */
export function checkEnvironment(
  name: string,
  environment: Readonly<Record<string, string>>,
  check: (env: Record<string, string>) => unknown,
): void {
  const standIn = (variable: string, value: string) =>
    !Token.isUnresolved(value)
      ? value
      : !WHOLE_TOKEN.test(value)
        ? // A deploy-time value inside a text (RUNNER_PROFILES' capacity providers): a name in its place.
          value.replace(EMBEDDED_TOKEN, 'deploy-time-value')
        : variable.endsWith('_ARN')
          ? 'arn:aws:deploy-time:value'
          : variable.endsWith('_URL')
            ? 'https://deploy-time.invalid/value'
            : 'deploy-time-value';
  const size = estimatedSize(environment);
  if (size > LAMBDA_ENVIRONMENT_LIMIT) {
    throw new Error(
      `${name} settings in the CDK context: the function's environment would be about ${size} bytes, over Lambda's ${LAMBDA_ENVIRONMENT_LIMIT} (fewer or shorter profiles and label templates)`,
    );
  }
  try {
    check(
      Object.fromEntries(
        Object.entries(environment).map(([variable, value]) => [variable, standIn(variable, value)]),
      ),
    );
  } catch (error) {
    if (error instanceof ConfigError)
      throw new Error(`${name} settings in the CDK context: ${error.message}`);
    throw error;
  }
}

/** Lambda's limit on a function's environment: all keys and values together. */
const LAMBDA_ENVIRONMENT_LIMIT = 4096;

/** The environment's size as Lambda counts it, a deploy-time value (an ARN, a URL, a name) counted as 100 bytes. */
function estimatedSize(environment: Readonly<Record<string, string>>): number {
  return Object.entries(environment).reduce(
    (total, [key, value]) =>
      total + key.length + Buffer.byteLength(value.replace(EMBEDDED_TOKEN, 'x'.repeat(100))),
    0,
  );
}
