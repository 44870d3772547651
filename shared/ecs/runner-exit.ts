import type { TaskFacts } from './runner-tasks';

/**
 * The runner container's exit code when GitHub refuses its runner release (a release older than
 * GitHub allows: infra/runner-image/entrypoint.sh recognises the runner's own words). 78 is
 * EX_CONFIG of sysexits.h: the configuration, here the image, is what must change.
 */
export const VERSION_REFUSED_EXIT = 78;

/** Whether a stopped task's runner was refused for its release. */
export const versionRefused = (task: TaskFacts | undefined): boolean =>
  task?.exitCode === VERSION_REFUSED_EXIT;

/**
 * Why a task stopped, as the reconciler records it: ECS's reason, or ours when the runner exited
 * because GitHub refuses its release (ECS only says "Essential container in task exited").
 */
export function stopReasonOf(task: TaskFacts | undefined): string {
  if (versionRefused(task)) {
    return `GitHub refused the runner release (exit ${VERSION_REFUSED_EXIT}): the runner image must be rebuilt with a current release (npm run doctor says when it was built)`;
  }
  return task?.stoppedReason ?? 'the task is no longer known to ECS';
}
