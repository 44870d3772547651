import { type Finding, type Gathered, ok, problem } from './finding';

export interface StackFacts {
  readonly name: string;
  readonly region: string;
  /** The stack's status, or undefined when CloudFormation has no such stack. */
  readonly status: Gathered<string | undefined>;
}

/** The stack exists and its last deploy finished. */
export function checkStack(facts: StackFacts): Finding {
  const where = `stack ${facts.name} in ${facts.region}`;
  if (!facts.status.ok) {
    return problem(
      'stack',
      `cannot describe ${where}: ${facts.status.error}`,
      /region is missing/i.test(facts.status.error)
        ? 'pass --region with the region you deployed to (or set a region in your AWS configuration)'
        : 'run the doctor with the AWS credentials you deploy with (cloudformation:DescribeStacks, ListStackResources)',
    );
  }
  const status = facts.status.value;
  if (status === undefined) {
    return problem(
      'stack',
      `there is no ${where}: the checks below only use the flags`,
      'pass --stack with the name you deployed (the context value stackName) and --region with its region',
    );
  }
  if (/FAILED|ROLLBACK/.test(status) && status !== 'UPDATE_ROLLBACK_COMPLETE') {
    return problem(
      'stack',
      `${where} is ${status}`,
      'read its events in the CloudFormation console, fix the cause and deploy again',
    );
  }
  if (status === 'UPDATE_ROLLBACK_COMPLETE') {
    return problem(
      'stack',
      `${where}'s last deploy rolled back: the previous version runs`,
      'read its events in the CloudFormation console, fix the cause and deploy again',
    );
  }
  return ok('stack', `${where} is ${status}`);
}
