/** CloudFormation on loopback (`DescribeStacks`, `ListStackResources`), through the real query protocol. */

import { startAwsQueryStandIn } from './aws-query-stand-in';
import { AwsError, type StandIn } from './aws-stand-in';

export interface StandInStack {
  name: string;
  status: string;
  outputs: Record<string, string>;
  tags: Record<string, string>;
  resources: Array<{ logicalId: string; physicalId: string; type: string }>;
}

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

export async function startCloudFormationStandIn(
  stacks: StandInStack[],
): Promise<StandIn & { stacks: StandInStack[] }> {
  const find = (form: URLSearchParams) => {
    const name = form.get('StackName');
    const stack = stacks.find((s) => s.name === name);
    // CloudFormation's answer for a stack it does not know.
    if (!stack) throw new AwsError('ValidationError', `Stack with id ${name} does not exist`);
    return stack;
  };
  const standIn = await startAwsQueryStandIn({
    version: '2010-05-15',
    xmlns: 'http://cloudformation.amazonaws.com/doc/2010-05-15/',
    operations: {
      DescribeStacks: (form) => {
        const stack = find(form);
        return {
          Stacks: [
            {
              StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${stack.name}/0b6e5b50-0000-11f0-0000-000000000000`,
              StackName: stack.name,
              CreationTime: new Date('2026-01-01T00:00:00Z'),
              StackStatus: stack.status,
              Outputs: Object.entries(stack.outputs).map(([OutputKey, OutputValue]) => ({
                OutputKey,
                OutputValue,
              })),
              Tags: Object.entries(stack.tags).map(([Key, Value]) => ({ Key, Value })),
            },
          ],
        };
      },
      ListStackResources: (form) => {
        const stack = find(form);
        // One page of 2 at a time, so the doctor's pagination is exercised.
        const start = Number(form.get('NextToken') ?? 0);
        const page = stack.resources.slice(start, start + 2);
        return {
          StackResourceSummaries: page.map((r) => ({
            LogicalResourceId: r.logicalId,
            PhysicalResourceId: r.physicalId,
            ResourceType: r.type,
            LastUpdatedTimestamp: new Date('2026-01-01T00:00:00Z'),
            ResourceStatus: 'CREATE_COMPLETE',
          })),
          NextToken: start + 2 < stack.resources.length ? String(start + 2) : undefined,
        };
      },
    },
  });
  return { ...standIn, stacks };
}
