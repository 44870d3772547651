import { CfnOutput, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { acknowledge } from './acknowledge';
import type { InfraSettings } from './settings';
import { SystemPart } from './system-part';

/**
 * The secrets. The operator puts the GitHub values in (README: put-secret-value); the generated
 * placeholder only makes a secret exist. The webhook secret is generated here. With JIT
 * registration no task reads an admin token, so there is no registration-token secret at all.
 */
export class GitHubSecrets extends SystemPart {
  /** The seed's admin token for the runner task (token registration only). */
  readonly registrationToken: secretsmanager.Secret | undefined;
  /** The functions' GitHub credentials (JIT registration, or the redelivery sweep). */
  readonly githubAuth: secretsmanager.Secret | undefined;
  readonly webhookSecret: secretsmanager.Secret;
  /** The credentials the webhook, the launcher and the reconciler read: with JIT registration only. */
  readonly jitCredentials: secretsmanager.Secret | undefined;
  /** People and tools besides the functions allowed to read the credential secrets (`secretReaders`). */
  private readonly operatorReaders: readonly string[];

  constructor(scope: Construct, id: string, settings: InfraSettings) {
    super(scope, id);
    const { names } = settings;
    this.operatorReaders = settings.secretReaders;
    const jit = settings.registration === 'jit';
    const region = Stack.of(this).region;
    const output = (outputId: string, value: string, description: string) =>
      new CfnOutput(this, outputId, { value, description });

    this.registrationToken = jit
      ? undefined
      : new secretsmanager.Secret(this, 'RegistrationToken', {
          secretName: names.registrationTokenSecretName,
          description: 'GitHub Actions PAT used for self-hosted runner registrations (set by the operator)',
        });
    this.githubAuth =
      jit || settings.redeliverEnvironment !== undefined
        ? new secretsmanager.Secret(this, 'GitHubAuth', {
            secretName: names.githubAuthSecretName,
            description:
              'GitHub credentials of the functions: {"token": "..."} or {"appId", "privateKey", "installationId"?} (set by the operator)',
          })
        : undefined;
    this.webhookSecret = new secretsmanager.Secret(this, 'WebhookSecret', {
      secretName: names.webhookSecretName,
      description: 'Secret of the GitHub organisation webhook (X-Hub-Signature-256)',
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
    });
    this.jitCredentials = jit ? this.githubAuth : undefined;

    output(
      'WebhookSecretArn',
      this.webhookSecret.secretArn,
      'Organisation webhook: Secret (read it with the command below)',
    );
    output(
      'WebhookSecretCommand',
      `aws secretsmanager get-secret-value --region ${region} --secret-id ${this.webhookSecret.secretArn} --query SecretString --output text`,
      'Prints the webhook secret to paste into GitHub',
    );
    if (this.registrationToken !== undefined) {
      output(
        'RegistrationTokenSecretArn',
        this.registrationToken.secretArn,
        'Put the runner admin token here (README)',
      );
      acknowledge(
        this.registrationToken,
        'The value is a GitHub token the operator creates and rotates in GitHub; Secrets Manager cannot rotate it.',
        'SMG4',
      );
    }
    if (this.githubAuth !== undefined) {
      output(
        'GitHubAuthSecretArn',
        this.githubAuth.secretArn,
        'Put the GitHub credentials here: {"token": "..."} or a GitHub App\'s {"appId", "privateKey", "installationId"?} (README)',
      );
      output(
        'GitHubAuthSecretCommand',
        `aws secretsmanager put-secret-value --region ${region} --secret-id ${this.githubAuth.secretArn} --secret-string file://github-auth.json`,
        'Stores the GitHub credentials from github-auth.json (README)',
      );
      acknowledge(
        this.githubAuth,
        'The value is a GitHub token or GitHub App key the operator creates and rotates in GitHub; Secrets Manager cannot rotate it.',
        'SMG4',
      );
    }
    // The webhook secret gets no such policy: the operator reads it to paste it into GitHub.
    acknowledge(
      this.webhookSecret,
      'Rotation needs the same value on the GitHub webhook; the function accepts {"secret","previous"} for a manual rotation (README).',
      'SMG4',
    );
  }

  /**
   * Lets only `readers` (the roles of the functions or tasks that read the secret) and the
   * `secretReaders` of the settings read a credential secret: its resource policy denies
   * `secretsmanager:GetSecretValue` to every other principal, whatever its own policies allow (an
   * administrator's `*` included). Only reading is denied: CloudFormation's updates of the secret and
   * of this policy, and the operator's `put-secret-value`, still work. With no reader at all (the
   * seed's token secret once the functions use a GitHub App's credentials) it denies every principal.
   */
  onlyReadBy(secret: secretsmanager.Secret, readers: readonly string[]): void {
    const allowed = [...readers, ...this.operatorReaders];
    secret.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyItsReadersGetTheValue',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['secretsmanager:GetSecretValue'],
        resources: ['*'],
        // ArnNotLike: a `secretReaders` entry may end in `*` (an SSO permission set's role). No
        // condition rather than an empty list of values, which IAM has no clear meaning for.
        ...(allowed.length > 0 && { conditions: { ArnNotLike: { 'aws:PrincipalArn': allowed } } }),
      }),
    );
  }
}
