/**
 * The IAM statements our functions should have, written out as CloudFormation shows them, for
 * exact comparisons: a statement more (or a wider one) fails the test.
 */
import { SEED } from '../../shared/defaults';
import { idOf, only, type TemplateJson } from './synth-stack';

export function expectedStatements(json: TemplateJson) {
  const arn = (...parts: unknown[]) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ...parts]],
  });
  const cluster = { 'Fn::GetAtt': [only(json, 'AWS::ECS::Cluster').id, 'Arn'] };
  const clusterTasks = arn(
    `:ecs:${SEED.region}:`,
    { Ref: 'AWS::AccountId' },
    ':task/',
    {
      Ref: only(json, 'AWS::ECS::Cluster').id,
    },
    '/*',
  );
  // The default profile's family (its task definition keeps the logical id TaskDefinition).
  const family = `:task-definition/${String(json.Resources.TaskDefinition?.Properties.Family)}`;
  const onCluster = { ArnEquals: { 'ecs:cluster': cluster } };
  const secret = (prefix: string) => ({ Ref: idOf(json, 'AWS::SecretsManager::Secret', prefix) });

  return {
    githubAuth: () => secret('GitHubAuth'),
    overflowArn: () => ({ 'Fn::GetAtt': [idOf(json, 'AWS::SQS::Queue', 'Overflow'), 'Arn'] }),
    /** BundledFunction's own: write to the function's log group. */
    logsStatement: (id: string) => ({
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: { 'Fn::GetAtt': [idOf(json, 'AWS::Logs::LogGroup', `${id}/Logs`), 'Arn'] },
    }),
    /** The webhook's own, in either registration mode: read its secret and queue a job it cannot start. */
    webhookStatements: () => [
      {
        Sid: 'ReadWebhookSecret',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: secret('WebhookSecret'),
      },
      {
        Sid: 'QueueOverflowJobs',
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': [idOf(json, 'AWS::SQS::Queue', 'Overflow'), 'Arn'] },
      },
    ],
    /** The webhook's and the launcher's: start a runner task. */
    launchStatements: () => [
      {
        Sid: 'RunRunnerTasks',
        Effect: 'Allow',
        Action: 'ecs:RunTask',
        Resource: [
          arn(`:ecs:${SEED.region}:`, { Ref: 'AWS::AccountId' }, family),
          arn(`:ecs:${SEED.region}:`, { Ref: 'AWS::AccountId' }, `${family}:*`),
        ],
        Condition: onCluster,
      },
      {
        Sid: 'TagRunnerTasksAtLaunch',
        Effect: 'Allow',
        Action: 'ecs:TagResource',
        Resource: clusterTasks,
        Condition: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
      },
      {
        Sid: 'FindTheTaskOfAJob',
        Effect: 'Allow',
        Action: 'ecs:ListTasks',
        Resource: '*',
        Condition: onCluster,
      },
      {
        Sid: 'PassRunnerTaskRoles',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: [{ 'Fn::GetAtt': ['TaskRole', 'Arn'] }, { 'Fn::GetAtt': ['TaskExecutionRole', 'Arn'] }],
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
    ],
    describeRunnerTasks: () => ({
      Sid: 'DescribeRunnerTasks',
      Effect: 'Allow',
      Action: 'ecs:DescribeTasks',
      Resource: clusterTasks,
      Condition: onCluster,
    }),
    stopRunnerTasks: () => ({
      Sid: 'StopRunnerTasks',
      Effect: 'Allow',
      Action: 'ecs:StopTask',
      Resource: clusterTasks,
      Condition: onCluster,
    }),
    /** The webhook's, the launcher's and the reconciler's: the ledger and its open-jobs index; no delete. */
    useJobLedger: () => {
      const table = { 'Fn::GetAtt': [idOf(json, 'AWS::DynamoDB::Table', 'Jobs'), 'Arn'] };
      return {
        Sid: 'UseJobLedger',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
        Resource: [table, { 'Fn::Join': ['', [table, '/index/open-jobs']] }],
      };
    },
    /** Writing and deleting a runner's JIT config, under the configs prefix only. */
    writeRunnerConfigs: () => ({
      Sid: 'WriteRunnerConfigs',
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:DeleteObject'],
      Resource: {
        'Fn::Join': [
          '',
          [{ 'Fn::GetAtt': [idOf(json, 'AWS::S3::Bucket', 'RunnerConfigs'), 'Arn'] }, '/runner-config/*'],
        ],
      },
    }),
    /** Owned capacity: the capacity function presigns a standby's read of its config, and sees it read. */
    presignStandbyConfigReads: () => ({
      Sid: 'PresignStandbyConfigReads',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: {
        'Fn::Join': [
          '',
          [{ 'Fn::GetAtt': [idOf(json, 'AWS::S3::Bucket', 'RunnerConfigs'), 'Arn'] }, '/runner-config/*'],
        ],
      },
    }),
    /** Owned capacity: the instance ledger and its `free` index; no delete, no scan. */
    useInstanceLedger: () => {
      const table = { 'Fn::GetAtt': [idOf(json, 'AWS::DynamoDB::Table', 'Instances'), 'Arn'] };
      return {
        Sid: 'UseInstanceLedger',
        Effect: 'Allow',
        Action: [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:Query',
        ],
        Resource: [
          table,
          { 'Fn::Join': ['', [table, '/index/free']] },
          { 'Fn::Join': ['', [table, '/index/open-instances']] },
        ],
      };
    },
    /** Owned capacity: the webhook's, the launcher's and the reconciler's ask for an instance. */
    askForInstances: () => ({
      Sid: 'AskForInstances',
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::GetAtt': [idOf(json, 'AWS::SQS::Queue', 'CapacityEvents'), 'Arn'] },
    }),
    /** Owned capacity: the capacity function hands each waiting job's launch to the launcher's queue. */
    handLaunchesToTheLauncher: () => ({
      Sid: 'HandLaunchesToTheLauncher',
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::GetAtt': [idOf(json, 'AWS::SQS::Queue', 'Overflow'), 'Arn'] },
    }),
    /** Owned capacity: Lambda's event source reads the capacity queue for the function. */
    readCapacityQueue: () => ({
      Effect: 'Allow',
      Action: [
        'sqs:ReceiveMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:GetQueueUrl',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
      ],
      Resource: { 'Fn::GetAtt': [idOf(json, 'AWS::SQS::Queue', 'CapacityEvents'), 'Arn'] },
    }),
    /** Reading the groups: no resource-level permission exists for Auto Scaling's Describe calls. */
    describeAutoScalingGroups: (...actions: string[]) => ({
      Sid: 'DescribeAutoScalingGroups',
      Effect: 'Allow',
      Action: actions.length === 1 ? actions[0] : actions,
      Resource: '*',
    }),
    /** Owned capacity: the capacity function's own, on the stack's Auto Scaling groups only (by name). */
    setOwnedGroupsCapacity: (groupIds: readonly string[]) => {
      const groupArn = (id: string) =>
        arn(
          `:autoscaling:${SEED.region}:`,
          { Ref: 'AWS::AccountId' },
          ':autoScalingGroup:*:autoScalingGroupName/',
          { Ref: id },
        );
      return {
        Sid: 'SetOwnedGroupsCapacity',
        Effect: 'Allow',
        Action: [
          'autoscaling:SetDesiredCapacity',
          'autoscaling:TerminateInstanceInAutoScalingGroup',
          'autoscaling:SuspendProcesses',
        ],
        Resource: groupIds.length === 1 ? groupArn(groupIds[0] as string) : groupIds.map(groupArn),
      };
    },
    /** Owned capacity: the cluster's container instances (their ARNs exist only once they register). */
    containerInstanceStatements: () => [
      {
        Sid: 'ListContainerInstances',
        Effect: 'Allow',
        Action: 'ecs:ListContainerInstances',
        Resource: cluster,
      },
      {
        Sid: 'DescribeContainerInstances',
        Effect: 'Allow',
        Action: 'ecs:DescribeContainerInstances',
        Resource: arn(
          `:ecs:${SEED.region}:`,
          { Ref: 'AWS::AccountId' },
          ':container-instance/',
          { Ref: only(json, 'AWS::ECS::Cluster').id },
          '/*',
        ),
        Condition: onCluster,
      },
    ],
    /** Reading the functions' GitHub credentials: `GitHubAuth`, or the seed's `RegistrationToken` secret. */
    readGitHubCredentials: (secretPath = 'GitHubAuth') => ({
      Sid: 'ReadGitHubCredentials',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: secret(secretPath),
    }),
  };
}
