import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { parseConfig } from '../shared/config';
import { type AddressFamily, parseHookRangesSettings } from '../shared/firewall/hook-ranges';
import { parseRedeliverSettings } from '../shared/github/redeliver';
import { wildcardResource } from './acknowledge';
import type { FunctionPlacement } from './bundled-function';
import { type CapacityAccess, describeAutoScalingGroupsStatement } from './capacity-function';
import type { JobLedger } from './job-ledger';
import type { RunnerConfigBucket } from './runner-config-bucket';
import { METRIC, runnerMetric } from './runner-metrics';
import {
  describeRunnerTasksStatement,
  launchRunnerStatements,
  launchWildcardFindings,
  type RunnerTaskScope,
  readSecretStatement,
  stopRunnerTasksStatement,
} from './runner-permissions';
import { ScheduledSweep } from './scheduled-sweep';

/** How often the reconciler looks at every open job. */
export const RECONCILE_RATE = Duration.minutes(1);

/** How often the redelivery sweep runs. */
export const SWEEP_RATE = Duration.minutes(5);

/** How often the `hook-ranges` function sets the WAF IP sets to GitHub's current hook ranges. */
export const HOOK_RANGES_RATE = Duration.hours(1);

export interface ReconcilerProps {
  /** The functions' shared settings plus the reconciler's own (`RECONCILE_*`). */
  readonly environment: Readonly<Record<string, string>>;
  readonly tasks: RunnerTaskScope;
  readonly ledger: JobLedger;
  readonly configs: RunnerConfigBucket;
  readonly credentials: secretsmanager.Secret;
  /** Owned capacity's function: the reconciler asks it for instances and reads the groups to correct drift. */
  readonly capacity: CapacityAccess | undefined;
  readonly placement: FunctionPlacement;
}

/**
 * The reconciler (every minute): drives each open job of the ledger to its
 * goal. It relaunches a task that died before its job started (RunTask, PassRole, a new config),
 * keeps or replaces a task waiting for capacity, stops idle runners; it alarms on a job queued
 * without a runner and on a job out of attempts.
 */
export class Reconciler extends ScheduledSweep {
  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    const { tasks, ledger, configs, capacity } = props;
    super(scope, id, {
      functionId: 'Reconciler',
      name: 'reconciler',
      description:
        'Every minute: relaunches the tasks of queued jobs that died, replaces tasks waiting too long for capacity, stops idle runners',
      environment: { ...props.environment, ...capacity?.environment },
      check: (env) => parseConfig(env),
      rate: RECONCILE_RATE,
      // Under the schedule's minute, so runs do not overlap (the ledger makes an overlap safe, not cheap).
      timeout: Duration.seconds(55),
      placement: props.placement,
      statements: [
        ...launchRunnerStatements(tasks),
        describeRunnerTasksStatement(tasks),
        stopRunnerTasksStatement(tasks),
        ledger.useStatement(),
        configs.writeStatement(),
        readSecretStatement('ReadGitHubCredentials', props.credentials.secretArn),
        ...(capacity === undefined ? [] : [...capacity.statements(), describeAutoScalingGroupsStatement()]),
      ],
      acknowledged: {
        reason: `Task ARNs exist only after RunTask: tagging is scoped to the cluster and to RunTask itself, describing and stopping to the cluster's tasks; ListTasks has no resource and is scoped by ecs:cluster; RunTask takes any revision of the runner families; config objects exist per job, under their prefix.${capacity === undefined ? '' : ' DescribeAutoScalingGroups takes no resource.'}`,
        findings: [...launchWildcardFindings(scope, tasks), wildcardResource(scope, configs.configsArn)],
      },
      failureMeans:
        'The reconciler failed: jobs whose task died are not relaunched, idle runners are left to their own idle timeout.',
      alarms: [
        {
          id: 'JobsStuck',
          description:
            'A job has been queued without a live runner task for 3 minutes in a row: read the reconciler log for the job (npm run status shows it).',
          metric: runnerMetric(METRIC.stuck, 'reconciler'),
          statistic: 'Maximum',
          period: RECONCILE_RATE,
          evaluationPeriods: 3,
        },
        {
          id: 'RunnerVersionRefused',
          description:
            "GitHub refused a runner for its release (the container exited 78): no job is served until the image has a current runner. npm run doctor shows the image's version and its last build; docs/runner-image.md says how to rebuild.",
          metric: runnerMetric(METRIC.runnerVersionRefused, 'reconciler'),
        },
        {
          id: 'LaunchAttemptsExhausted',
          description:
            'A job got no runner after reconcileMaxAttempts tasks (image, capacity, crash at start): read the stop reasons in the reconciler log.',
          metric: runnerMetric(METRIC.attemptsExhausted, 'reconciler'),
        },
      ],
    });
  }
}

/** The redelivery sweep (every 5 minutes): GitHub's failed `workflow_job` deliveries, delivered again. */
export class RedeliverySweep extends ScheduledSweep {
  constructor(
    scope: Construct,
    id: string,
    props: {
      /** The hook and the sweep's settings (`GITHUB_HOOK` or `GITHUB_ORG` + `GITHUB_HOOK_ID`, …). */
      readonly environment: Readonly<Record<string, string>>;
      readonly credentials: secretsmanager.Secret;
      readonly placement: FunctionPlacement;
    },
  ) {
    super(scope, id, {
      functionId: 'Redeliver',
      name: 'redeliver',
      description: 'Every 5 minutes: redelivers the workflow_job deliveries GitHub failed to deliver',
      environment: { GITHUB_AUTH_SECRET_ARN: props.credentials.secretArn, ...props.environment },
      check: (env) => parseRedeliverSettings(env, {}, { hookFromCredentials: true }),
      rate: SWEEP_RATE,
      // Under the schedule's 5 minutes, so sweeps do not overlap; a sweep may wait out a rate limit.
      timeout: Duration.minutes(4),
      placement: props.placement,
      statements: [readSecretStatement('ReadGitHubCredentials', props.credentials.secretArn)],
      failureMeans:
        'The redelivery sweep failed (credentials, hook id, GitHub): failed deliveries are not redelivered.',
    });
  }
}

/**
 * The hook ranges refresh (every hour): the webhook's WAF IP sets set to the `hooks` list of
 * GitHub's meta API. Its role may read and update those two IP sets, nothing else.
 */
export class HookRangesSweep extends ScheduledSweep {
  constructor(
    scope: Construct,
    id: string,
    props: {
      readonly ipSets: Readonly<Record<AddressFamily, wafv2.CfnIPSet>>;
      readonly placement: FunctionPlacement;
    },
  ) {
    const { IPV4, IPV6 } = props.ipSets;
    super(scope, id, {
      functionId: 'HookRanges',
      name: 'hook-ranges',
      description: "Every hour: sets the webhook's WAF IP sets to GitHub's hook ranges (GET /meta)",
      environment: { HOOK_RANGES_IPV4_SET_ARN: IPV4.attrArn, HOOK_RANGES_IPV6_SET_ARN: IPV6.attrArn },
      // The ARNs exist at deploy: the check reads stand-ins of their shape.
      check: (env) =>
        parseHookRangesSettings({
          ...env,
          HOOK_RANGES_IPV4_SET_ARN: 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/v4/id4',
          HOOK_RANGES_IPV6_SET_ARN: 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/v6/id6',
        }),
      rate: HOOK_RANGES_RATE,
      // GitHub and WAF calls give up after 10 s each: a refresh is at most a handful.
      timeout: Duration.seconds(60),
      placement: props.placement,
      statements: [
        new iam.PolicyStatement({
          sid: 'RefreshWebhookSources',
          actions: ['wafv2:GetIPSet', 'wafv2:UpdateIPSet'],
          resources: [IPV4.attrArn, IPV6.attrArn],
        }),
      ],
      failureMeans:
        "The hook ranges refresh failed (GitHub's meta API or WAF): the IP sets keep their ranges, and a range GitHub adds is refused until a refresh works.",
    });
  }
}
