/** Secrets Manager on loopback (`GetSecretValue`, `PutSecretValue`), through the real protocol. */
import { AwsError, type Fault, type StandIn, startAwsStandIn } from './aws-stand-in';

export async function startSecretsManagerStandIn(
  secrets: Record<string, string>,
  fault?: (operation: string) => Fault | undefined,
): Promise<StandIn & { secrets: Record<string, string> }> {
  const standIn = await startAwsStandIn({
    targetPrefix: 'secretsmanager',
    contentType: 'application/x-amz-json-1.1',
    ...(fault && { fault }),
    operations: {
      GetSecretValue: (input) => {
        const id = String(input.SecretId);
        const value = secrets[id];
        if (value === undefined)
          throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
        return {
          ARN: id,
          Name: id.split(':').pop(),
          SecretString: value,
          VersionId: 'v1',
          VersionStages: ['AWSCURRENT'],
          CreatedDate: Date.now() / 1000,
        };
      },
      // A new current version of an existing secret, as the setup page stores the App's credentials.
      PutSecretValue: (input) => {
        const id = String(input.SecretId);
        if (secrets[id] === undefined)
          throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
        if (typeof input.SecretString !== 'string')
          throw new AwsError('InvalidParameterException', 'SecretString is required.');
        secrets[id] = input.SecretString;
        return {
          ARN: id,
          Name: id.split(':').pop(),
          VersionId: `v${Date.now()}`,
          VersionStages: ['AWSCURRENT'],
        };
      },
    },
  });
  return { ...standIn, secrets };
}
