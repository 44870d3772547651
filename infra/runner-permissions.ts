import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { acknowledge, wildcardResource } from './acknowledge';

/** The runner tasks our functions act on: the profiles' task families on one cluster, started with two roles. */
export interface RunnerTaskScope {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly clusterName: string;
  readonly clusterArn: string;
  readonly taskFamilies: readonly string[];
  readonly taskRoleArn: string;
  readonly executionRoleArn: string;
}

/** Every task of the cluster (task ARNs carry the cluster's name; a task's own id exists only after RunTask). */
const clusterTasksArn = (scope: RunnerTaskScope): string =>
  `arn:${scope.partition}:ecs:${scope.region}:${scope.account}:task/${scope.clusterName}/*`;

/** A runner family, without a revision (RunTask's resource also takes `family:*`). */
const taskFamilyArn = (scope: RunnerTaskScope, family: string): string =>
  `arn:${scope.partition}:ecs:${scope.region}:${scope.account}:task-definition/${family}`;

/** Every revision of every profile's family: what RunTask may start, and nothing more. */
const taskFamilyArns = (scope: RunnerTaskScope): string[] =>
  scope.taskFamilies.flatMap((family) => [taskFamilyArn(scope, family), `${taskFamilyArn(scope, family)}:*`]);

/** The cdk-nag findings of the launch permissions' wildcards (task ARNs, family revisions). */
export const launchWildcardFindings = (role: IConstruct, scope: RunnerTaskScope): string[] => [
  'IAM5[Resource::*]',
  ...[clusterTasksArn(scope), ...scope.taskFamilies.map((family) => `${taskFamilyArn(scope, family)}:*`)].map(
    (arn) => wildcardResource(role, arn),
  ),
];

const onCluster = (scope: RunnerTaskScope) => ({ ArnEquals: { 'ecs:cluster': scope.clusterArn } });

/**
 * What starting a runner task takes (the webhook and the launcher): RunTask of the runner family on
 * the cluster only, tags at launch only, ListTasks on the cluster (to find a job's task), and
 * PassRole of the two task roles to ECS tasks only.
 */
export function launchRunnerStatements(scope: RunnerTaskScope): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'RunRunnerTasks',
      actions: ['ecs:RunTask'],
      resources: taskFamilyArns(scope),
      conditions: onCluster(scope),
    }),
    new iam.PolicyStatement({
      sid: 'TagRunnerTasksAtLaunch',
      actions: ['ecs:TagResource'],
      resources: [clusterTasksArn(scope)],
      conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
    }),
    listRunnerTasksStatement(scope, 'FindTheTaskOfAJob'),
    new iam.PolicyStatement({
      sid: 'PassRunnerTaskRoles',
      actions: ['iam:PassRole'],
      resources: [scope.taskRoleArn, scope.executionRoleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    }),
  ];
}

/** ListTasks has no resource of its own to name; the cluster condition scopes it. */
function listRunnerTasksStatement(scope: RunnerTaskScope, sid: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: ['ecs:ListTasks'],
    resources: ['*'],
    conditions: onCluster(scope),
  });
}

/**
 * Reading a runner task's state, stop reason and tags (every function that launches or watches
 * tasks); the cluster's tasks only: their ARNs carry the cluster's name, and the `ecs:cluster`
 * condition says it again.
 */
export function describeRunnerTasksStatement(scope: RunnerTaskScope): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'DescribeRunnerTasks',
    actions: ['ecs:DescribeTasks'],
    resources: [clusterTasksArn(scope)],
    conditions: onCluster(scope),
  });
}

/** Stopping a runner task (the reconciler, and the webhook on a run's `completed` job); the cluster's tasks only. */
export function stopRunnerTasksStatement(scope: RunnerTaskScope): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'StopRunnerTasks',
    actions: ['ecs:StopTask'],
    resources: [clusterTasksArn(scope)],
    conditions: onCluster(scope),
  });
}

/** Reading one secret's current value. */
export function readSecretStatement(sid: string, secretArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid, actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] });
}

/** cdk-nag's findings on the launch statements of a role, acknowledged with their reason. */
export function acknowledgeLaunchStatements(role: iam.IRole, scope: RunnerTaskScope): void {
  acknowledge(
    role,
    'Task ARNs exist only after RunTask: tagging is scoped to the cluster and to RunTask itself, describing and stopping to the cluster; ListTasks has no resource and is scoped by ecs:cluster; RunTask takes any revision of the runner family.',
    ...launchWildcardFindings(role, scope),
  );
}
