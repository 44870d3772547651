import { CfnOutput, Duration, Lazy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { RUNNER_CONFIG_PREFIX } from '../shared/ecs/runner-config-store';
import { acknowledge, wildcardResource } from './acknowledge';
import { SystemPart } from './system-part';

/**
 * The runner configs: each launch attempt's credential (a JIT config or a registration token) as
 * an environment file that the ECS agent reads with the task execution role (job code never has
 * that role), so no RunTask request, DescribeTasks answer or CloudTrail record carries it. Each
 * object's name is random, known only from its RunTask request; the reconciler deletes it once
 * the task is RUNNING (minutes), and the lifecycle rule expires whatever is left after a day (the
 * backstop, for an object whose deletion failed). Private, TLS only, S3-managed encryption, no
 * versions (a deleted config is gone), and only the functions may write one.
 */
export class RunnerConfigBucket extends SystemPart {
  readonly bucket: s3.Bucket;
  /** The roles the bucket policy lets read configs. */
  private readonly readers: string[] = [];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'RunnerConfigs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: false,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'expire-runner-configs',
          expiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    new CfnOutput(this, 'RunnerConfigBucketName', {
      value: this.bucket.bucketName,
      description:
        'Runner credentials (one object per launch attempt, deleted once the task runs, expired after a day)',
    });
    acknowledge(
      this.bucket,
      'Objects live minutes and hold one-use runner configs; who wrote and read them is in CloudTrail data events if the account records them, and access logs would only copy that.',
      'S1',
    );
  }

  /** The configs' objects: `arn:…:bucket/runner-config/*`. */
  get configsArn(): string {
    return this.bucket.arnForObjects(`${RUNNER_CONFIG_PREFIX}*`);
  }

  /** What a function needs to hand a config to a task: write it and delete it, under the prefix only. */
  writeStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'WriteRunnerConfigs',
      actions: ['s3:PutObject', 's3:DeleteObject'],
      resources: [this.configsArn],
    });
  }

  /**
   * What the capacity function needs to presign a standby's read of its config (a presigned URL
   * acts with its signer's permissions) and to see whether the standby has read it (HeadObject).
   */
  presignReadStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'PresignStandbyConfigReads',
      actions: ['s3:GetObject'],
      resources: [this.configsArn],
    });
  }

  /** What the ECS agent needs for `environmentFiles` (AWS: s3:GetObject and s3:GetBucketLocation). */
  readStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        sid: 'ReadRunnerConfigs',
        actions: ['s3:GetObject'],
        resources: [this.configsArn],
      }),
      new iam.PolicyStatement({
        sid: 'LocateRunnerConfigs',
        actions: ['s3:GetBucketLocation'],
        resources: [this.bucket.bucketArn],
      }),
    ];
  }

  /**
   * Nobody but the task execution role reads a config, whatever their own policy allows (an
   * account's read-only auditors have `s3:Get*`): a config is a runner's one-use credential.
   */
  readableOnlyBy(executionRoleArn: string): void {
    this.readers.push(executionRoleArn);
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheTaskExecutionRoleReadsConfigs',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [this.configsArn],
        conditions: {
          ArnNotEquals: {
            'aws:PrincipalArn': Lazy.uncachedAny({
              produce: () => (this.readers.length === 1 ? this.readers[0] : [...this.readers]),
            }),
          },
        },
      }),
    );
  }

  /**
   * The capacity function's role reads configs too: a presigned URL acts with its signer's
   * permissions, so a standby's GET of its config is the signer's read (and HeadObject sees whether
   * the standby has read it).
   */
  alsoReadableBy(signerRoleArn: string): void {
    this.readers.push(signerRoleArn);
  }

  /**
   * Nobody but the functions writes a config, whatever their own policy allows: a config written
   * by anyone else (a job that took a task's credentials, an operator's broad role) would hand a
   * task a runner of theirs.
   */
  writableOnlyBy(writerRoleArns: readonly string[]): void {
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyTheFunctionsWriteConfigs',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.configsArn],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': [...writerRoleArns] } },
      }),
    );
  }

  /** cdk-nag's finding on a role that may write the configs, with its reason. */
  acknowledgeWriter(role: iam.IRole): void {
    acknowledge(
      role,
      'Config object names are random per launch attempt: writing and deleting are scoped to the runner-config/ prefix of the configs bucket.',
      wildcardResource(role, this.configsArn),
    );
  }
}
