import { Logger } from '@aws-lambda-powertools/logger';
import { createCodeBuildImageBuilds, createSsmBuiltImages } from '../../shared/image/aws-image-ports';
import {
  handleDeployRequest,
  isDeployRequest,
  respondToCloudFormation,
} from '../../shared/image/deploy-build';
import { createRunnerReleases } from '../../shared/image/github-releases';
import type { BuildReason } from '../../shared/image/image-build-plan';
import { type ImageReleaseSummary, runImageRelease } from '../../shared/image/image-release';
import { parseImageReleaseSettings } from '../../shared/image/image-settings';

// Read at cold start: a wrong environment fails here, with every problem in one message.
const settings = parseImageReleaseSettings(process.env);
const deps = {
  settings,
  releases: createRunnerReleases(settings.apiUrl),
  images: createSsmBuiltImages(),
  builds: createCodeBuildImageBuilds(),
  respond: respondToCloudFormation,
};
const logger = new Logger({ serviceName: 'github-runners-image-release' });

/**
 * The runner image's builds: daily (`{"reason":"check"}`: GitHub's latest runner release, built
 * where the image is older), weekly (`{"reason":"rebuild"}`: the same release on a refreshed
 * base), and at deploy (the custom resource of each architecture's image).
 */
export const handler = async (event: unknown): Promise<ImageReleaseSummary | { answered: string }> => {
  if (isDeployRequest(event)) {
    const result = await handleDeployRequest(event, deps);
    logger.info('deploy request', { requestType: event.RequestType, ...result });
    return result;
  }
  const reason: BuildReason = (event as { reason?: unknown })?.reason === 'rebuild' ? 'rebuild' : 'check';
  const summary = await runImageRelease({ reason }, deps);
  for (const refused of summary.refused) logger.error('runner package refused: no build started', refused);
  logger.info('runner release checked', { reason, ...summary });
  if (summary.refused.length > 0) {
    // A failed invocation: the function's error alarm says a release could not be built.
    throw new Error(`runner ${summary.version}: ${summary.refused.map((item) => item.why).join('; ')}`);
  }
  return summary;
};
