import type { ECSClient } from '@aws-sdk/client-ecs';
import { boundedRequestHandler } from '../call-timeout';

type EcsModule = typeof import('@aws-sdk/client-ecs');

/** The ECS client and its commands, loaded on first use (most deliveries never need them). */
export interface EcsApi {
  readonly client: ECSClient;
  readonly sdk: Pick<
    EcsModule,
    | 'RunTaskCommand'
    | 'ListTasksCommand'
    | 'DescribeTasksCommand'
    | 'StopTaskCommand'
    | 'ListContainerInstancesCommand'
    | 'DescribeContainerInstancesCommand'
  >;
}

/**
 * Loads the ECS SDK once, on first call. Our retry loop owns retries (it knows GitHub's 10 s), so
 * the SDK's own are off. The endpoint comes only from the SDK's settings (`AWS_ENDPOINT_URL_ECS`).
 */
export function lazyEcsApi(): () => Promise<EcsApi> {
  let api: Promise<EcsApi> | undefined;
  return () => {
    api ??= import('@aws-sdk/client-ecs').then((sdk) => ({
      client: new sdk.ECSClient({ maxAttempts: 1, requestHandler: boundedRequestHandler }),
      sdk,
    }));
    return api;
  };
}
