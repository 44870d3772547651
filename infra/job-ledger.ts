import { CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
// The functions' table shape (key, the index of open jobs the reconciler walks, TTL), written once.
import { JOBS_TABLE_SCHEMA as SCHEMA } from '../shared/jobs/dynamodb-job-ledger';
import { SystemPart } from './system-part';

/**
 * The job ledger: one item per job of ours, its lifecycle state, attempts, task and timestamps.
 * Every transition is a conditional write (the per-job lock the functions share). On demand,
 * items expire (`expiresAt`, set by the functions a few days out), point-in-time recovery, and
 * kept when the stack is deleted: it is the record of what ran.
 */
export class JobLedger extends SystemPart {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Jobs', {
      partitionKey: { name: SCHEMA.partitionKey, type: dynamodb.AttributeType.NUMBER },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: SCHEMA.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: SCHEMA.openIndex,
      partitionKey: { name: SCHEMA.openPartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: SCHEMA.openSortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    new CfnOutput(this, 'JobsTableName', {
      value: this.table.tableName,
      description: 'The job ledger (npm run status reads it)',
    });
  }

  /**
   * Reading and moving jobs along: get, put and update an item (each a conditional write), query
   * the open jobs. No delete: items leave by their TTL.
   */
  useStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'UseJobLedger',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
      resources: [this.table.tableArn, `${this.table.tableArn}/index/${SCHEMA.openIndex}`],
    });
  }
}
