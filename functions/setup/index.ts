import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createSetupHandler } from '../../shared/setup/handle-setup';
import { createSetupDependencies } from '../../shared/setup/setup-dependencies';
import { fromSetupEvent, toSetupResult } from '../../shared/setup/setup-lambda';

// Built at cold start: a wrong environment fails here, with every problem in one message.
const handle = createSetupHandler(createSetupDependencies());

/** API Gateway (REST API) → the setup page → its HTML answer. */
export const handler = async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> =>
  toSetupResult(await handle(fromSetupEvent(event)));
