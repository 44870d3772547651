import { errorMessage } from '../errors';
import type { ImageReleaseDependencies } from './image-release';
import { runImageRelease } from './image-release';
import type { Architecture } from './runner-release';

/** A CloudFormation custom resource request (the fields read), for one architecture's image at deploy. */
export interface DeployRequest {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: { readonly Architecture?: string; readonly Source?: string };
  readonly OldResourceProperties?: { readonly Source?: string };
}

/** What CloudFormation is told of the request. */
export interface DeployResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data: Record<string, string>;
}

/** Sends the response to CloudFormation's pre-signed URL. */
export type Respond = (url: string, response: DeployResponse) => Promise<void>;

export const isDeployRequest = (event: unknown): event is DeployRequest =>
  typeof event === 'object' && event !== null && 'RequestType' in event && 'ResponseURL' in event;

/**
 * The first deploy builds the image, and a deploy whose image source changed builds it again,
 * before the task definitions read the image parameter. A started build answers CloudFormation
 * itself when it ends (`DEPLOY_RESPONSE_URL` and the two answers, the buildspec's post_build): its deploy waits for the
 * image, up to the custom resource's timeout. A failed build fails the first deploy (there is no
 * image to run); a later deploy goes on with the last good image, and the ImageBuildFailed alarm says so.
 * Anything else is answered here: nothing to build, or nothing could start.
 */
export async function handleDeployRequest(
  request: DeployRequest,
  deps: ImageReleaseDependencies & { readonly respond: Respond },
): Promise<{ readonly answered: 'here' | 'by-the-build'; readonly reason: string }> {
  const architecture = request.ResourceProperties.Architecture as Architecture;
  const physicalId = request.PhysicalResourceId ?? `runner-image-${architecture}`;
  const creating = request.RequestType === 'Create';
  const answer = async (status: DeployResponse['Status'], reason: string) => {
    await deps.respond(request.ResponseURL, {
      Status: status,
      Reason: reason.slice(0, 1000),
      PhysicalResourceId: physicalId,
      StackId: request.StackId,
      RequestId: request.RequestId,
      LogicalResourceId: request.LogicalResourceId,
      Data: {},
    });
    return { answered: 'here' as const, reason };
  };
  if (request.RequestType === 'Delete') return answer('SUCCESS', 'the images and their parameter are kept');
  if (!creating && request.ResourceProperties.Source === request.OldResourceProperties?.Source) {
    return answer('SUCCESS', 'the image source is unchanged');
  }
  // The build answers with one of these, as its build phase ended (the buildspec's post_build).
  const body = (status: DeployResponse['Status'], reason: string): string =>
    JSON.stringify({
      Status: status,
      Reason: reason,
      PhysicalResourceId: physicalId,
      StackId: request.StackId,
      RequestId: request.RequestId,
      LogicalResourceId: request.LogicalResourceId,
      Data: {},
    } satisfies DeployResponse);
  const environment = {
    DEPLOY_RESPONSE_URL: request.ResponseURL,
    DEPLOY_ON_SUCCESS: body('SUCCESS', `the ${architecture} runner image is built and its parameter written`),
    DEPLOY_ON_FAILURE: creating
      ? body('FAILED', `the ${architecture} runner image build failed: its log is in CodeBuild`)
      : body(
          'SUCCESS',
          `the ${architecture} runner image build failed (its log is in CodeBuild): the last good image stays`,
        ),
  };
  try {
    const summary = await runImageRelease({ reason: 'deploy', architecture, environment }, deps);
    const [started] = summary.started;
    if (started !== undefined)
      return { answered: 'by-the-build', reason: `build ${started.buildId}: ${started.why}` };
    const why = [...summary.refused, ...summary.skipped].map((item) => item.why).join('; ');
    const current = await deps.images.current(
      deps.settings.targets.find((target) => target.architecture === architecture)?.parameter ?? '',
    );
    if (summary.refused.length > 0 && creating)
      return answer('FAILED', `no ${architecture} image built: ${why}`);
    if (current === undefined)
      return answer(creating ? 'FAILED' : 'SUCCESS', `no ${architecture} image: ${why}`);
    return answer('SUCCESS', `${current.image} stays: ${why}`);
  } catch (error) {
    return answer(
      creating ? 'FAILED' : 'SUCCESS',
      `could not start the ${architecture} image build (${errorMessage(error)})${creating ? '' : ': the last good image stays'}`,
    );
  }
}

/** PUTs the response to CloudFormation's pre-signed S3 URL (no content type: the URL is signed without one). */
export const respondToCloudFormation: Respond = async (url, response) => {
  const body = JSON.stringify(response);
  const answer = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  if (!answer.ok) throw new Error(`CloudFormation's response URL answered ${answer.status}`);
};
