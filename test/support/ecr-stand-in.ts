/** ECR on loopback (`DescribeImages`), through the real protocol (AWS JSON 1.1). */
import { AwsError, type StandIn, startAwsStandIn } from './aws-stand-in';

/** Tags by repository name. */
export async function startEcrStandIn(
  repositories: Map<string, string[]>,
): Promise<StandIn & { repositories: Map<string, string[]> }> {
  const standIn = await startAwsStandIn({
    targetPrefix: 'AmazonEC2ContainerRegistry_V20150921',
    contentType: 'application/x-amz-json-1.1',
    operations: {
      DescribeImages: (input) => {
        const name = String(input.repositoryName);
        const tags = repositories.get(name);
        if (!tags) {
          throw new AwsError(
            'RepositoryNotFoundException',
            `The repository with name '${name}' does not exist in the registry with id '${input.registryId}'`,
          );
        }
        const ids = (input.imageIds ?? []) as Array<{ imageTag?: string }>;
        const missing = ids.find((id) => id.imageTag === undefined || !tags.includes(id.imageTag));
        if (missing) {
          throw new AwsError(
            'ImageNotFoundException',
            `The image with imageId {imageDigest:'null', imageTag:'${missing.imageTag}'} does not exist within the repository with name '${name}'`,
          );
        }
        return {
          imageDetails: ids.map((id) => ({
            registryId: input.registryId,
            repositoryName: name,
            imageDigest: `sha256:${'0'.repeat(64)}`,
            imageTags: [id.imageTag],
            imagePushedAt: Date.now() / 1000,
          })),
        };
      },
    },
  });
  return { ...standIn, repositories };
}
