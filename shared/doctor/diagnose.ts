import { type AlarmFacts, checkAlarmActions, checkAlarmSubscribers } from './check-alarms';
import { checkDeliveries, type DeliveryFacts } from './check-deliveries';
import { checkCapacityProvider, checkCluster, checkTaskDefinition, type EcsFacts } from './check-ecs';
import {
  checkGitHubAccess,
  checkGitHubPermissions,
  checkRunnerGroup,
  type GitHubAccessFacts,
} from './check-github-access';
import { checkRunnerImage, type ImageFacts } from './check-runner-image';
import {
  checkImageBuild,
  checkRunnerVersion,
  type ImageBuildFacts,
  type RunnerVersionFacts,
} from './check-runner-version';
import {
  checkGitHubCredentials,
  checkRegistrationToken,
  checkWebhookSecret,
  type SecretFacts,
} from './check-secrets';
import { checkStack, type StackFacts } from './check-stack';
import type { Finding } from './finding';

/** Everything the doctor gathered about a deployment. */
export interface DoctorFacts {
  readonly stack: StackFacts;
  readonly secrets: SecretFacts;
  readonly deliveries: DeliveryFacts;
  readonly github: GitHubAccessFacts;
  readonly image: ImageFacts;
  readonly runnerVersion: RunnerVersionFacts;
  readonly imageBuild: ImageBuildFacts;
  readonly ecs: EcsFacts;
  readonly alarms: AlarmFacts;
}

/** Every check over the gathered facts, one finding each, in {@link CHECKS} order. */
export function diagnose(facts: DoctorFacts): Finding[] {
  return [
    checkStack(facts.stack),
    checkWebhookSecret(facts.secrets),
    checkGitHubCredentials(facts.secrets),
    checkRegistrationToken(facts.secrets),
    checkDeliveries(facts.deliveries),
    checkGitHubAccess(facts.github),
    checkGitHubPermissions(facts.github),
    checkRunnerGroup(facts.github),
    checkRunnerImage(facts.image),
    checkRunnerVersion(facts.runnerVersion),
    checkImageBuild(facts.imageBuild),
    checkCluster(facts.ecs),
    checkTaskDefinition(facts.ecs),
    checkCapacityProvider(facts.ecs),
    checkAlarmActions(facts.alarms),
    checkAlarmSubscribers(facts.alarms),
  ];
}
