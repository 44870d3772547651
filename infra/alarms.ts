import { Annotations, CfnOutput, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { acknowledge } from './acknowledge';
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
  /** An SNS topic of the operator's. */
  readonly topicArn: string | undefined;
  /** An address subscribed to a topic of the stack's. Neither: the alarms notify nobody (a warning says so). */
  readonly email: string | undefined;
  readonly definitions: readonly AlarmDefinition[];
}

/** The alarms every part asked for, each notifying the operator's topic. */
export class Alarms extends SystemPart {
  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const topics: sns.ITopic[] = [];
    if (props.topicArn !== undefined) topics.push(sns.Topic.fromTopicArn(this, 'AlarmTopic', props.topicArn));
    if (props.email !== undefined) {
      const topic = new sns.Topic(this, 'Alarms', {
        displayName: 'GitHub runners alarms',
        enforceSSL: true,
      });
      topic.addSubscription(new subscriptions.EmailSubscription(props.email));
      topics.push(topic);
      new CfnOutput(this, 'AlarmTopicArn', {
        value: topic.topicArn,
        description: `Alarms go to this topic; ${props.email} must confirm the subscription mail`,
      });
      acknowledge(
        topic,
        'CloudWatch alarms cannot publish to a topic encrypted with the AWS managed SNS key, and alarm notifications carry no secret (names, metrics, thresholds).',
        'SNS2',
      );
    }
    if (topics.length === 0) {
      Annotations.of(this).addWarningV2(
        'runners:alarms-notify-nobody',
        'The alarms notify nobody: set alarmEmail (a topic of the stack, with an email subscription) or alarmTopicArn (a topic of yours).',
      );
    }
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
      for (const topic of topics) alarm.addAlarmAction(new SnsAction(topic));
    }
  }
}
