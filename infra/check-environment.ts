import { Token } from 'aws-cdk-lib';
import { ConfigError } from '../shared/errors';

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
