import { type Finding, type Gathered, ok, problem, skipped, warning } from './finding';

export interface AlarmFacts {
  /** The stack's alarms; undefined when the stack is unknown. */
  readonly alarms:
    | Gathered<
        ReadonlyArray<{
          readonly name: string;
          readonly actionsEnabled: boolean;
          readonly actions: readonly string[];
        }>
      >
    | undefined;
  /** The subscriptions of each SNS topic an alarm notifies, by topic ARN. */
  readonly subscriptions: ReadonlyMap<
    string,
    Gathered<
      ReadonlyArray<{ readonly protocol: string; readonly endpoint: string; readonly confirmed: boolean }>
    >
  >;
}

const isTopic = (action: string) => action.startsWith('arn:') && action.split(':')[2] === 'sns';

const list = (names: readonly string[]) =>
  names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;

/** Every alarm of the stack has an action: an alarm that notifies nobody lets a broken setup go unseen. */
export function checkAlarmActions(facts: AlarmFacts): Finding {
  if (facts.alarms === undefined) return skipped('alarm-actions', 'needs the stack (see stack)');
  if (!facts.alarms.ok) {
    return problem(
      'alarm-actions',
      `cannot describe the stack's alarms: ${facts.alarms.error}`,
      'run the doctor with credentials allowed cloudwatch:DescribeAlarms',
    );
  }
  const alarms = facts.alarms.value;
  if (alarms.length === 0) {
    return warning(
      'alarm-actions',
      'the stack has no alarms',
      'deploy the current version of the stack: it defines them',
    );
  }
  const silent = alarms
    .filter((alarm) => !alarm.actionsEnabled || alarm.actions.length === 0)
    .map((a) => a.name);
  if (silent.length > 0) {
    return problem(
      'alarm-actions',
      `${silent.length} of ${alarms.length} alarms notify nobody: ${list(silent)}`,
      'deploy with -c alarmTopicArn=<an SNS topic ARN> (a topic someone is subscribed to); an alarm with actions disabled: aws cloudwatch enable-alarm-actions --alarm-names ...',
    );
  }
  return ok('alarm-actions', `each of the stack's ${alarms.length} alarms has an action`);
}

/** Each SNS topic the alarms notify has a confirmed subscription, so an alarm reaches a person. */
export function checkAlarmSubscribers(facts: AlarmFacts): Finding {
  if (facts.alarms === undefined || !facts.alarms.ok) {
    return skipped('alarm-subscribers', 'needs the alarms (see alarm-actions)');
  }
  const topics = [...new Set(facts.alarms.value.flatMap((alarm) => alarm.actions.filter(isTopic)))];
  if (topics.length === 0) return skipped('alarm-subscribers', 'the alarms notify no SNS topic');
  const problems: string[] = [];
  const fixes = new Set<string>();
  for (const topic of topics) {
    const subscriptions = facts.subscriptions.get(topic);
    if (subscriptions === undefined) continue;
    if (!subscriptions.ok) {
      problems.push(`cannot list the subscriptions of ${topic}: ${subscriptions.error}`);
      fixes.add(
        subscriptions.code === 'NotFound'
          ? 'the topic is gone: create it, or deploy with -c alarmTopicArn=<an existing topic>'
          : 'run the doctor with credentials allowed sns:ListSubscriptionsByTopic',
      );
      continue;
    }
    const confirmed = subscriptions.value.filter((s) => s.confirmed);
    if (confirmed.length > 0) continue;
    const pending = subscriptions.value.filter((s) => !s.confirmed).map((s) => `${s.protocol}:${s.endpoint}`);
    if (pending.length > 0) {
      problems.push(`topic ${topic} has only unconfirmed subscriptions (${list(pending)})`);
      fixes.add(
        'open the "AWS Notification - Subscription Confirmation" message and confirm the subscription',
      );
    } else {
      problems.push(`topic ${topic} has no subscriber`);
      fixes.add(
        `subscribe someone: aws sns subscribe --topic-arn ${topic} --protocol email --notification-endpoint you@example.com, then confirm the message`,
      );
    }
  }
  if (problems.length > 0) return problem('alarm-subscribers', problems.join('; '), [...fixes].join('; '));
  return ok(
    'alarm-subscribers',
    `each alarm topic has a confirmed subscriber (${topics.length} topic${topics.length === 1 ? '' : 's'})`,
  );
}
