/** A container image in a private ECR repository. */
export interface EcrImage {
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

// ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/REPOSITORY[:TAG][@sha256:DIGEST]
const ECR_IMAGE =
  /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9._/-]+?)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$/;

/** Reads an image reference; undefined when it is not a private ECR image (Docker Hub, ECR Public, ...). */
export function parseEcrImage(image: string): EcrImage | undefined {
  const match = ECR_IMAGE.exec(image.trim());
  if (!match) return undefined;
  const [, registryId, region, repository, tag, digest] = match;
  if (registryId === undefined || region === undefined || repository === undefined) return undefined;
  // No tag and no digest: Docker pulls `latest`.
  return {
    registryId,
    region,
    repository,
    tag: tag ?? (digest === undefined ? 'latest' : undefined),
    digest,
  };
}
