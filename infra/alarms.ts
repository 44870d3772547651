import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { SystemPart } from './system-part';

/** One alarm a part asks for: at least one of its metric in a period. */
export interface AlarmDefinition {
  readonly id: string;
  readonly description: string;
  readonly metric: cloudwatch.IMetric;
  /** `Sum` unless given: how many in the period. */
  readonly statistic?: string;
  /** 5 minutes unless given. */
  readonly period?: Duration;
  /** Consecutive breaching periods before the alarm fires; 1 unless given. */
  readonly evaluationPeriods?: number;
}

export interface AlarmsProps {
  /** An SNS topic of the operator's; undefined: the alarms notify nobody. */
  readonly topicArn: string | undefined;
  readonly definitions: readonly AlarmDefinition[];
}

/** The alarms every part asked for, each notifying the operator's topic. */
export class Alarms extends SystemPart {
  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const topic =
      props.topicArn === undefined ? undefined : sns.Topic.fromTopicArn(this, 'AlarmTopic', props.topicArn);
    for (const definition of props.definitions) {
      const { id: alarmId, description, metric, statistic = 'Sum' } = definition;
      const alarm = new cloudwatch.Alarm(this, `${alarmId}Alarm`, {
        alarmDescription: description,
        metric:
          metric instanceof cloudwatch.Metric
            ? metric.with({ statistic, period: definition.period ?? Duration.minutes(5) })
            : metric,
        threshold: 1,
        evaluationPeriods: definition.evaluationPeriods ?? 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      if (topic !== undefined) alarm.addAlarmAction(new SnsAction(topic));
    }
  }
}
