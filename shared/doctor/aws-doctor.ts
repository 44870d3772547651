import {
  CloudFormationClient,
  DescribeStacksCommand,
  paginateListStackResources,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  ListBuildsForProjectCommand,
} from '@aws-sdk/client-codebuild';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  DescribeCapacityProvidersCommand,
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
} from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import type { DeployedStack, DoctorAws } from './doctor-ports';

const name = (error: unknown) => (error as { name?: string }).name;

/** CloudWatch's DescribeAlarms takes at most 100 names a call. */
const ALARM_NAMES_PER_CALL = 100;

/**
 * The AWS SDK adapter of {@link DoctorAws}: read-only calls with the operator's credentials.
 * Endpoints come from the SDK's own settings (`AWS_ENDPOINT_URL_<SERVICE>` included).
 */
export function createAwsDoctor(options: { readonly region?: string | undefined } = {}): DoctorAws {
  const base = options.region === undefined ? {} : { region: options.region };
  const cloudFormation = new CloudFormationClient(base);
  const secrets = new SecretsManagerClient(base);
  const ecs = new ECSClient(base);
  const cloudWatch = new CloudWatchClient(base);
  const codeBuild = new CodeBuildClient(base);
  // ECR and SNS in the region their ARN or URI names.
  const ecr = new Map<string, ECRClient>();
  const sns = new Map<string, SNSClient>();
  const inRegion = <T>(clients: Map<string, T>, region: string, make: (config: { region: string }) => T) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = make({ region });
      clients.set(region, client);
    }
    return client;
  };

  return {
    region: () => cloudFormation.config.region(),

    async stack(stackName) {
      let stack: Stack | undefined;
      try {
        const { Stacks = [] } = await cloudFormation.send(
          new DescribeStacksCommand({ StackName: stackName }),
        );
        stack = Stacks[0];
      } catch (error) {
        // CloudFormation answers a missing stack with a ValidationError "Stack with id X does not exist".
        if (name(error) === 'ValidationError' && /does not exist/.test(String((error as Error).message)))
          return undefined;
        throw error;
      }
      if (stack === undefined) return undefined;
      const alarmNames: string[] = [];
      for await (const page of paginateListStackResources(
        { client: cloudFormation },
        { StackName: stackName },
      )) {
        for (const resource of page.StackResourceSummaries ?? []) {
          if (resource.ResourceType === 'AWS::CloudWatch::Alarm' && resource.PhysicalResourceId) {
            alarmNames.push(resource.PhysicalResourceId);
          }
        }
      }
      const result: DeployedStack = {
        status: stack.StackStatus ?? 'UNKNOWN',
        outputs: Object.fromEntries(
          (stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']),
        ),
        tags: Object.fromEntries((stack.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
        alarmNames,
      };
      return result;
    },

    async secretValue(arn) {
      const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
      return SecretString ?? '';
    },

    async cluster(clusterName) {
      const { clusters = [] } = await ecs.send(new DescribeClustersCommand({ clusters: [clusterName] }));
      const cluster = clusters[0];
      return cluster === undefined
        ? undefined
        : { status: cluster.status ?? 'UNKNOWN', capacityProviders: cluster.capacityProviders ?? [] };
    },

    async taskDefinition(taskDefinition) {
      try {
        const { taskDefinition: found } = await ecs.send(
          new DescribeTaskDefinitionCommand({ taskDefinition }),
        );
        if (found === undefined) return undefined;
        return { status: found.status ?? 'UNKNOWN', image: found.containerDefinitions?.[0]?.image };
      } catch (error) {
        // ECS answers an unknown task definition with ClientException "Unable to describe task definition."
        if (name(error) === 'ClientException') return undefined;
        throw error;
      }
    },

    async capacityProvider(providerName) {
      const { capacityProviders = [] } = await ecs.send(
        new DescribeCapacityProvidersCommand({ capacityProviders: [providerName] }),
      );
      const provider = capacityProviders[0];
      return provider === undefined ? undefined : { status: provider.status ?? 'UNKNOWN' };
    },

    async image(image) {
      const client = inRegion(ecr, image.region, (config) => new ECRClient(config));
      try {
        const { imageDetails = [] } = await client.send(
          new DescribeImagesCommand({
            registryId: image.registryId,
            repositoryName: image.repository,
            imageIds: [image.tag !== undefined ? { imageTag: image.tag } : { imageDigest: image.digest }],
          }),
        );
        return imageDetails.length > 0 ? 'found' : 'no-image';
      } catch (error) {
        if (name(error) === 'ImageNotFoundException') return 'no-image';
        if (name(error) === 'RepositoryNotFoundException') return 'no-repository';
        throw error;
      }
    },

    async imageBuilds(projects) {
      const iso = (time: Date | undefined) => (time instanceof Date ? time.toISOString() : undefined);
      return Promise.all(
        projects.map(async (project) => {
          const { ids = [] } = await codeBuild.send(
            new ListBuildsForProjectCommand({ projectName: project, sortOrder: 'DESCENDING' }),
          );
          if (ids[0] === undefined) return { project, last: undefined };
          const { builds = [] } = await codeBuild.send(new BatchGetBuildsCommand({ ids: [ids[0]] }));
          const build = builds[0];
          return {
            project,
            last:
              build === undefined
                ? undefined
                : {
                    id: build.id ?? ids[0],
                    status: build.buildStatus ?? 'UNKNOWN',
                    startedAt: iso(build.startTime),
                    endedAt: iso(build.endTime),
                  },
          };
        }),
      );
    },

    async alarms(alarmNames) {
      const found: Array<{ name: string; actionsEnabled: boolean; actions: string[] }> = [];
      for (let start = 0; start < alarmNames.length; start += ALARM_NAMES_PER_CALL) {
        let token: string | undefined;
        do {
          const page = await cloudWatch.send(
            new DescribeAlarmsCommand({
              AlarmNames: alarmNames.slice(start, start + ALARM_NAMES_PER_CALL),
              AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
              NextToken: token,
            }),
          );
          for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
            found.push({
              name: alarm.AlarmName ?? '',
              actionsEnabled: alarm.ActionsEnabled !== false,
              actions: alarm.AlarmActions ?? [],
            });
          }
          token = page.NextToken;
        } while (token !== undefined);
      }
      return found;
    },

    async subscriptions(topicArn) {
      const region = topicArn.split(':')[3] ?? '';
      const client = inRegion(sns, region, (config) => new SNSClient(config));
      const found: Array<{ protocol: string; endpoint: string; confirmed: boolean }> = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: token }),
        );
        for (const subscription of page.Subscriptions ?? []) {
          found.push({
            protocol: subscription.Protocol ?? '',
            endpoint: subscription.Endpoint ?? '',
            // SNS lists an unconfirmed subscription with the ARN "PendingConfirmation".
            confirmed: /^arn:/.test(subscription.SubscriptionArn ?? ''),
          });
        }
        token = page.NextToken;
      } while (token !== undefined);
      return found;
    },
  };
}
