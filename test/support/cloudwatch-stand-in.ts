/**
 * CloudWatch on loopback (`DescribeAlarms`), through the protocol the SDK speaks to it: AWS JSON 1.0
 * with the `GraniteServiceVersion20100801` target (CloudWatch left the query protocol in 2025).
 */
import { AwsError, type StandIn, startAwsStandIn } from './aws-stand-in';

export interface StandInAlarm {
  name: string;
  actionsEnabled: boolean;
  actions: string[];
}

export async function startCloudWatchStandIn(
  alarms: StandInAlarm[],
): Promise<StandIn & { alarms: StandInAlarm[] }> {
  const standIn = await startAwsStandIn({
    targetPrefix: 'GraniteServiceVersion20100801',
    contentType: 'application/x-amz-json-1.0',
    operations: {
      DescribeAlarms: (input) => {
        const names = (input.AlarmNames ?? []) as string[];
        if (names.length > 100)
          throw new AwsError('InvalidParameterValue', 'AlarmNames has at most 100 items.');
        return {
          MetricAlarms: alarms
            .filter((alarm) => names.length === 0 || names.includes(alarm.name))
            .map((alarm) => ({
              AlarmName: alarm.name,
              AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarm.name}`,
              ActionsEnabled: alarm.actionsEnabled,
              AlarmActions: alarm.actions,
              OKActions: [],
              InsufficientDataActions: [],
              StateValue: 'OK',
              MetricName: 'Errors',
              Namespace: 'AWS/Lambda',
              Statistic: 'Sum',
              Period: 300,
              EvaluationPeriods: 1,
              Threshold: 1,
              ComparisonOperator: 'GreaterThanOrEqualToThreshold',
            })),
          CompositeAlarms: [],
        };
      },
    },
  });
  return { ...standIn, alarms };
}
