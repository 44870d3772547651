import { parseEcrImage } from './ecr-image';
import { type Finding, type Gathered, ok, problem, skipped } from './finding';

/** What ECR says of the image: there, no such tag or digest, no such repository. */
export type ImageState = 'found' | 'no-image' | 'no-repository';

export interface ImageFacts {
  /** The runner container's image in the task definition; undefined when the task definition is unknown. */
  readonly image: string | undefined;
  /** ECR's answer; undefined when the image is not in a private ECR repository. */
  readonly state: Gathered<ImageState> | undefined;
}

/** The runner image the task definition names is in ECR, so tasks do not stop with CannotPullContainerError. */
export function checkRunnerImage(facts: ImageFacts): Finding {
  const { image, state } = facts;
  if (image === undefined) {
    return skipped(
      'runner-image',
      'no runner image to check: the task definition is unknown (see task-definition) and no --image',
    );
  }
  const ecr = parseEcrImage(image);
  if (ecr === undefined || state === undefined) {
    return skipped(
      'runner-image',
      `${image} is not in a private ECR repository; the doctor checks ECR images only`,
    );
  }
  const registry = image.slice(0, image.indexOf('/'));
  // The stack builds its own image (image-build says how the last build went); a pinned one is pushed by hand.
  const push = `the stack builds its image at deploy and on each runner release (see image-build); with imageUri or imageTag pinned, build and push it: aws ecr get-login-password --region ${ecr.region} | docker login --username AWS --password-stdin ${registry}; docker build -t ${image} infra/runner-image; docker push ${image}`;
  if (!state.ok) {
    return problem(
      'runner-image',
      `cannot look ${image} up in ECR: ${state.error}`,
      'run the doctor with credentials allowed ecr:DescribeImages on the repository',
    );
  }
  if (state.value === 'no-repository') {
    return problem(
      'runner-image',
      `ECR has no repository ${ecr.repository} in ${ecr.registryId}/${ecr.region}: every task stops with CannotPullContainerError`,
      `deploy the stack again (it owns the repository), then ${push}`,
    );
  }
  if (state.value === 'no-image') {
    return problem(
      'runner-image',
      `${image} is not in ECR: every task stops with CannotPullContainerError`,
      push,
    );
  }
  return ok('runner-image', `${image} is in ECR`);
}
