import type { GitHubCredentialSetting } from '../config';
import type { HookDeliveries, HookRef } from '../github/hook-deliveries';
import type { GitHubRunners } from '../github/ports';
import type { BuildFacts, RunnerReleases } from '../image/image-ports';
import type { ImageState } from './check-runner-image';
import type { EcrImage } from './ecr-image';

/** What CloudFormation says of the deployed stack. */
export interface DeployedStack {
  readonly status: string;
  readonly outputs: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  /** The names of its CloudWatch alarms. */
  readonly alarmNames: readonly string[];
}

/** The doctor's port to AWS: read-only calls; `undefined` answers "no such thing". */
export interface DoctorAws {
  /** The region the calls go to. */
  region(): Promise<string>;
  stack(name: string): Promise<DeployedStack | undefined>;
  secretValue(arn: string): Promise<string>;
  cluster(name: string): Promise<{ status: string; capacityProviders: string[] } | undefined>;
  /** The task definition's status and its first container's image. */
  taskDefinition(name: string): Promise<{ status: string; image: string | undefined } | undefined>;
  capacityProvider(name: string): Promise<{ status: string } | undefined>;
  /** Each CodeBuild project's latest build (undefined: none yet). */
  imageBuilds(projects: readonly string[]): Promise<Array<{ project: string; last: BuildFacts | undefined }>>;
  image(image: EcrImage): Promise<ImageState>;
  alarms(
    names: readonly string[],
  ): Promise<Array<{ name: string; actionsEnabled: boolean; actions: string[] }>>;
  subscriptions(topicArn: string): Promise<Array<{ protocol: string; endpoint: string; confirmed: boolean }>>;
}

/** A GitHub App's installation, as GitHub answers the App (its JWT) for an organisation or repository. */
export interface AppInstallation {
  readonly id: number;
  /** The permissions the installation grants (`administration: 'write'`, …). */
  readonly permissions: Readonly<Record<string, string>>;
  /** `all` or `selected` repositories. */
  readonly repositorySelection: string | undefined;
}

/** The doctor's port to GitHub, for one set of credentials. */
export interface DoctorGitHub {
  readonly runners: GitHubRunners;
  deliveries(hook: HookRef): HookDeliveries;
  credentialsKind(): Promise<'token' | 'app'>;
  /** The App's installation on an organisation or repository; GitHub's 404 when it has none. */
  installation(
    target: { readonly org: string } | { readonly owner: string; readonly repo: string },
  ): Promise<AppInstallation>;
}

export interface DoctorPorts {
  readonly aws: DoctorAws;
  /** actions/runner's releases on GitHub (public). */
  readonly releases: RunnerReleases;
  /** GitHub through the given credentials; `secretValue` is the credentials secret's value, already read. */
  github(credentials: GitHubCredentialSetting, secretValue: string | undefined): DoctorGitHub;
}
