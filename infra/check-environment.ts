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
