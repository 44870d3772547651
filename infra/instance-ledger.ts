import { CfnOutput, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { INSTANCES_TABLE_SCHEMA } from '../shared/capacity/dynamodb-instance-ledger';
import { SystemPart } from './system-part';

/**
 * The instance table's shape, as the functions read it: one item per instance of an owned group
 * (`instanceId`), and the sparse index of free pristine instances, oldest ready first, per group:
 * only an item that has `freeGroup` is in it, so a claim removes the attribute in its conditional
 * write and the instance leaves the index.
 */
export { INSTANCES_TABLE_SCHEMA } from '../shared/capacity/dynamodb-instance-ledger';

const SCHEMA = INSTANCES_TABLE_SCHEMA;

/**
 * The instance ledger (owned capacity): each instance of the stack's groups, its pool, the job
 * that claimed it and its timestamps. Every claim is a conditional write: two jobs never claim one
 * instance. As the job ledger: on demand, items expire (`expiresAt`, set by the functions),
 * point-in-time recovery, encrypted at rest (DynamoDB's default key, as the job ledger's), and
 * kept when the stack is deleted: it records which instance ran which job.
 */
export class InstanceLedger extends SystemPart {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Instances', {
      partitionKey: { name: SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: SCHEMA.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: SCHEMA.freeIndex,
      partitionKey: { name: SCHEMA.freePartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: SCHEMA.freeSortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    // The open instances of a group: what the capacity function's rounds read (gone ones stay a day).
    this.table.addGlobalSecondaryIndex({
      indexName: SCHEMA.openIndex,
      partitionKey: { name: SCHEMA.openPartitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: SCHEMA.openSortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    new CfnOutput(this, 'InstancesTableName', {
      value: this.table.tableName,
      description: 'The instance ledger of owned capacity (npm run status reads it)',
    });
  }

  /**
   * Reading and claiming instances: get (one or a batch: the instances of a group), put and
   * update an item (each a conditional write), query the free instances of a group. No delete and
   * no scan: items leave by their TTL, and the groups' instances come from Auto Scaling.
   */
  useStatement(): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'UseInstanceLedger',
      actions: [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:Query',
      ],
      resources: [
        this.table.tableArn,
        `${this.table.tableArn}/index/${SCHEMA.freeIndex}`,
        `${this.table.tableArn}/index/${SCHEMA.openIndex}`,
      ],
    });
  }
}
