import { Logger } from '@aws-lambda-powertools/logger';
import { createEcsTaskDefinitions, createSsmBuiltImages } from '../../shared/image/aws-image-ports';
import { type BuildStateChange, type RolloutSummary, rollOutImage } from '../../shared/image/image-rollout';
import { parseImageRolloutSettings } from '../../shared/image/image-settings';

// Read at cold start: a wrong environment fails here, with every problem in one message.
const settings = parseImageRolloutSettings(process.env);
const images = createSsmBuiltImages();
const taskDefinitions = createEcsTaskDefinitions();
const logger = new Logger({ serviceName: 'github-runners-image-rollout' });

/** On a runner image build that succeeded (EventBridge): the profiles' task definitions get its image. */
export const handler = async (event: { readonly detail?: BuildStateChange }): Promise<RolloutSummary> => {
  const summary = await rollOutImage(event.detail ?? {}, { settings, images, taskDefinitions });
  logger.info('runner image rolled out', { build: event.detail?.['build-id'], ...summary });
  return summary;
};
