import { parseArgs } from 'node:util';
import { createDynamoDbInstanceLedger } from '../shared/capacity/dynamodb-instance-ledger';
import { runCommand } from '../shared/cli/terminal';
import { lazyEcsApi } from '../shared/ecs/ecs-api';
import { createEcsRunnerTasks } from '../shared/ecs/runner-tasks';
import { ConfigError, errorMessage } from '../shared/errors';
import { createDynamoDbJobLedger } from '../shared/jobs/dynamodb-job-ledger';
import {
  formatInstanceStatus,
  type InstanceStatusRow,
  instanceStatusRows,
} from '../shared/status/instance-status';
import { formatJobStatus, type JobStatusRow, jobStatusRows } from '../shared/status/job-status';

const usage = `usage: npm run status -- [--stack GitHubRunners] [--region R] [--json]
       npm run status -- --table TABLE --cluster CLUSTER [--region R] [--json]
       npm run status -- --url http://127.0.0.1:3000   (the ledger of a running \`npm start\`)

Shows the open jobs of the job ledger beside ECS: each job's state, launch attempt, age, task and
runner, and for the jobs that look stuck, why and what the reconciler does next; with owned
capacity, the instances beside them (pool, busy, idle since). Reads the stack's outputs
(JobsTableName, ClusterName, InstancesTableName) with your AWS credentials; read-only calls.
Exits 0 when no job looks stuck, 1 when one does, 2 when it could not tell (a wrong flag, AWS's refusal).

  --stack NAME           the deployed stack (default GitHubRunners)
  --region R             its region (default: your AWS configuration's)
  --table, --cluster     the ledger table and the cluster, instead of the stack's outputs
  --instances-table T    the instance ledger (owned capacity), instead of the stack's output
  --capacity-wait SEC    the reconciler's RECONCILE_CAPACITY_WAIT (default 600)
  --stuck-after SEC      the reconciler's RECONCILE_STUCK_AFTER (default 300)
  --url URL              a local \`npm start\` server instead of AWS
  --json                 the rows as JSON, for scripts`;

async function stackOutputs(stack: string, region: string | undefined): Promise<Record<string, string>> {
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const client = new CloudFormationClient(region === undefined ? {} : { region });
  const { Stacks = [] } = await client.send(new DescribeStacksCommand({ StackName: stack }));
  return Object.fromEntries((Stacks[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
}

async function main(): Promise<number> {
  let values: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      options: {
        stack: { type: 'string', default: 'GitHubRunners' },
        region: { type: 'string' },
        table: { type: 'string' },
        cluster: { type: 'string' },
        'instances-table': { type: 'string' },
        'capacity-wait': { type: 'string', default: '600' },
        'stuck-after': { type: 'string', default: '300' },
        url: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  try {
    values = parse();
  } catch (error) {
    throw new ConfigError([errorMessage(error)]);
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const seconds = (flag: 'capacity-wait' | 'stuck-after') => {
    const value = Number(values[flag]);
    if (!Number.isInteger(value) || value < 0)
      throw new ConfigError([`--${flag} takes a whole number of seconds`]);
    return value;
  };
  const settings = {
    capacityWaitSeconds: seconds('capacity-wait'),
    stuckAfterSeconds: seconds('stuck-after'),
  };

  let rows: JobStatusRow[];
  let instances: InstanceStatusRow[] = [];
  if (values.url !== undefined) {
    const response = await fetch(new URL('/status', values.url)).catch((error: unknown) => {
      throw new Error(`--url ${values.url}: ${errorMessage(error)} (is npm start running there?)`);
    });
    if (!response.ok) throw new Error(`--url ${values.url}: answered ${response.status}`);
    rows = ((await response.json()) as { jobs: JobStatusRow[] }).jobs;
  } else {
    if (values.region !== undefined) process.env.AWS_REGION = values.region;
    let { table, cluster } = values;
    let instancesTable = values['instances-table'];
    if (table === undefined || cluster === undefined) {
      const outputs = await stackOutputs(values.stack, values.region);
      table ??= outputs.JobsTableName;
      cluster ??= outputs.ClusterName;
      instancesTable ??= outputs.InstancesTableName;
      if (table === undefined || cluster === undefined) {
        throw new ConfigError([
          `stack ${values.stack} has no JobsTableName or ClusterName output: pass --table and --cluster`,
        ]);
      }
    }
    const records = await createDynamoDbJobLedger(table).listOpen();
    const tasks = createEcsRunnerTasks(
      { ecs: { cluster, subnets: [], securityGroups: [], assignPublicIp: false }, profiles: [] },
      lazyEcsApi(),
    );
    const arns = records.flatMap((record) => (record.taskArn ? [record.taskArn] : []));
    rows = jobStatusRows(records, await tasks.describe(arns), Date.now(), settings);
    if (instancesTable !== undefined)
      instances = instanceStatusRows(
        await createDynamoDbInstanceLedger(instancesTable).listOpen(),
        Date.now(),
      );
  }
  console.log(
    values.json
      ? JSON.stringify({ jobs: rows, instances }, null, 2)
      : [formatJobStatus(rows), ...(instances.length > 0 ? ['', formatInstanceStatus(instances)] : [])].join(
          '\n',
        ),
  );
  return rows.some((row) => row.stuck !== undefined) ? 1 : 0;
}

runCommand('status', usage, main);
