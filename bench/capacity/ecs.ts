/**
 * ECS on the virtual clock: container instances that register a few seconds after their agent
 * starts, RunTask under its clientToken, and the runner tasks' lifecycle. Two placement modes:
 * `pinned` (owned capacity: a task names its instance with `memberOf`, and is placed there if that
 * instance is registered and free, else ECS answers `failures[]`), and `managed` (a capacity
 * provider with managed scaling: a task without room waits in PROVISIONING and takes the first free
 * instance). One runner task per instance (the profiles' `distinctInstance`).
 */

import type { Tag } from '@aws-sdk/client-ecs';
import type { CapacityEvent } from '../../shared/capacity/capacity-events';
import type { LaunchOutcome, RunnerLauncher } from '../../shared/ecs/launcher';
import { parseStartedBy, type RunTaskRequest, STANDBY_ENV } from '../../shared/ecs/run-task-input';
import { type RunnerTasks, type TaskFacts, toTaskFacts } from '../../shared/ecs/runner-tasks';
import { type DelayName, draw } from './delays';
import type { SimInstance } from './ec2';
import type { Random } from './random';
import type { VirtualClock } from './virtual-clock';

export type TaskStatus = 'PROVISIONING' | 'PENDING' | 'RUNNING' | 'STOPPED';

export interface SimTask {
  readonly arn: string;
  readonly startedBy: string;
  readonly jobId: number;
  readonly attempt: number;
  /** The S3 object of the runner's credential (the task's environment file). */
  readonly environmentFileArn: string;
  /** A standby's time (epoch ms, from `RUNNER_STANDBY_UNTIL`): it stops by itself then. */
  readonly standbyUntil: number | undefined;
  readonly createdAt: number;
  readonly tags: readonly Tag[];
  status: TaskStatus;
  desiredStatus: 'RUNNING' | 'STOPPED';
  stoppedReason: string | undefined;
  instance: SimInstance | undefined;
  /** A task ran on its instance before this one. */
  usedInstance: boolean;
  placedAt: number | undefined;
  runningAt: number | undefined;
  stoppedAt: number | undefined;
}

export interface ContainerInstance {
  readonly arn: string;
  readonly instance: SimInstance;
  readonly registeredAt: number;
  task: SimTask | undefined;
  /** Runner tasks placed on it so far. */
  tasksRun: number;
  /** Milliseconds a task held it. */
  busyMs: number;
  /** The tasks placed on it, in order. */
  readonly tasks: SimTask[];
}

export interface Ecs {
  readonly launcher: RunnerLauncher;
  /** DescribeTasks, ListTasks and StopTask, as the reconciler and the capacity function use them. */
  readonly runnerTasks: RunnerTasks;
  readonly tasks: ReadonlyMap<string, SimTask>;
  /** Every container instance that registered, by EC2 instance id. */
  readonly containerInstances: ReadonlyMap<string, ContainerInstance>;
  agentStarted(instance: SimInstance): void;
  deregister(instance: SimInstance): void;
  /** The runner in the task exited (its job done, or its idle timeout): the task stops. */
  runnerExited(task: SimTask, reason: string): void;
  /** A standby task stopped with no job: its instance is still pristine. */
  standbyUnserved(task: SimTask): void;
  /** Tasks waiting in PROVISIONING (managed mode). */
  provisioning(): readonly SimTask[];
}

const CLUSTER_ARN = 'arn:aws:ecs:us-east-1:123456789012';

export function createEcs(deps: {
  readonly clock: VirtualClock;
  readonly random: Random;
  readonly mode: 'pinned' | 'managed';
  /** The capacity provider of a group (the container instance event names it). */
  readonly capacityProviderOf: (group: string) => string;
  /** An ECS event, for EventBridge. */
  readonly emit: (event: CapacityEvent) => void;
  /** The task's container is running: its runner starts. */
  readonly onRunning: (task: SimTask) => void;
  /** StopTask: the container is told to stop (its runner goes). */
  readonly onStopping: (task: SimTask) => void;
}): Ecs {
  const { clock, random, emit } = deps;
  const wait = (name: DelayName) => draw(random, name);
  const tasks = new Map<string, SimTask>();
  /** Tasks whose desired status is RUNNING (what ListTasks lists). */
  const live = new Set<SimTask>();
  const byToken = new Map<string, SimTask>();
  const registered = new Map<string, ContainerInstance>();
  const everRegistered = new Map<string, ContainerInstance>();
  const waiting: SimTask[] = [];
  let taskCounter = 0;

  const taskEvent = (task: SimTask, reason?: string): CapacityEvent => ({
    kind: 'task',
    taskArn: task.arn,
    lastStatus: task.status,
    containerInstanceArn: task.instance ? registered.get(task.instance.id)?.arn : undefined,
    startedBy: task.startedBy,
    startedAt: task.runningAt === undefined ? undefined : new Date(task.runningAt).toISOString(),
    stoppedReason: reason,
  });

  const place = (task: SimTask, ci: ContainerInstance) => {
    ci.task = task;
    ci.tasks.push(task);
    task.usedInstance = ci.tasksRun > 0;
    ci.tasksRun++;
    task.instance = ci.instance;
    task.status = 'PENDING';
    task.placedAt = clock.now();
    // prefer-cached: the image the user data pulled at boot, waited for if the pull is not done.
    const imageReady = ci.instance.imageReadyAt ?? clock.now();
    clock.at(Math.max(clock.now(), imageReady) + wait('taskStart'), () => {
      if (task.status !== 'PENDING') return;
      task.status = 'RUNNING';
      task.runningAt = clock.now();
      emit(taskEvent(task));
      deps.onRunning(task);
    });
  };

  const free = (ci: ContainerInstance) => ci.task === undefined;

  /** Managed mode: PROVISIONING tasks, oldest first, onto free registered instances. */
  const placeWaiting = () => {
    if (deps.mode !== 'managed') return;
    for (const ci of registered.values()) {
      if (waiting.length === 0) return;
      if (!free(ci)) continue;
      const task = waiting.shift() as SimTask;
      place(task, ci);
    }
  };
  const placeWaitingSoon = () => clock.after(wait('provisioningPlacement'), placeWaiting);

  const stopTask = (task: SimTask, reason: string) => {
    if (task.status === 'STOPPED') return;
    const ci = task.instance ? registered.get(task.instance.id) : undefined;
    const queued = waiting.indexOf(task);
    if (queued >= 0) waiting.splice(queued, 1);
    task.status = 'STOPPED';
    task.desiredStatus = 'STOPPED';
    live.delete(task);
    task.stoppedReason = reason;
    task.stoppedAt = clock.now();
    if (ci?.task === task) {
      ci.task = undefined;
      ci.busyMs += clock.now() - (task.placedAt ?? clock.now());
    }
    emit(taskEvent(task, reason));
    placeWaitingSoon();
  };

  const pinnedInstance = (request: RunTaskRequest): string | undefined => {
    const member = request.input.placementConstraints?.find((c) => c.type === 'memberOf');
    return /ec2InstanceId == (\S+)/.exec(member?.expression ?? '')?.[1];
  };

  const launcher: RunnerLauncher = {
    async launch(request): Promise<LaunchOutcome> {
      await clock.sleep(wait('runTask'));
      const token = request.input.clientToken;
      const known = byToken.get(token);
      if (known !== undefined) return { kind: 'started', taskArn: known.arn };
      const pinned = pinnedInstance(request);
      const ci = pinned === undefined ? undefined : registered.get(pinned);
      if (deps.mode === 'pinned' && (ci === undefined || !free(ci)))
        return {
          kind: 'placement-failed',
          reason:
            ci === undefined
              ? 'MemberOf placement constraint unsatisfied'
              : 'RESOURCE:distinctInstance (a task runs on it)',
        };
      const environmentFileArn =
        request.input.overrides?.containerOverrides?.[0]?.environmentFiles?.[0]?.value ?? '';
      const started = parseStartedBy(request.input.startedBy);
      const until = request.input.overrides?.containerOverrides?.[0]?.environment?.find(
        (variable) => variable.name === STANDBY_ENV.until,
      )?.value;
      const task: SimTask = {
        arn: `${CLUSTER_ARN}:task/runners/${(++taskCounter).toString(16).padStart(32, '0')}`,
        startedBy: request.input.startedBy ?? '',
        jobId: started?.jobId ?? request.jobId,
        attempt: started?.attempt ?? request.attempt,
        environmentFileArn,
        standbyUntil: until === undefined ? undefined : Number(until) * 1000,
        createdAt: clock.now(),
        tags: request.input.tags ?? [],
        status: 'PROVISIONING',
        desiredStatus: 'RUNNING',
        stoppedReason: undefined,
        instance: undefined,
        usedInstance: false,
        placedAt: undefined,
        runningAt: undefined,
        stoppedAt: undefined,
      };
      tasks.set(task.arn, task);
      live.add(task);
      byToken.set(token, task);
      if (ci !== undefined) place(task, ci);
      else {
        waiting.push(task);
        placeWaiting();
      }
      return { kind: 'started', taskArn: task.arn };
    },
    async findTask(attempt) {
      await clock.sleep(wait('runTask'));
      const startedBy = `gha-job/${attempt.jobId}/${attempt.attempt}`;
      return [...tasks.values()].find((t) => t.startedBy === startedBy && t.status !== 'STOPPED')?.arn;
    },
  };

  const factsOf = (task: SimTask): TaskFacts =>
    toTaskFacts({
      taskArn: task.arn,
      lastStatus: task.status,
      desiredStatus: task.desiredStatus,
      stoppedReason: task.stoppedReason,
      startedBy: task.startedBy,
      createdAt: new Date(task.createdAt),
      ...(task.runningAt !== undefined && { startedAt: new Date(task.runningAt) }),
      tags: [...task.tags],
    }) as TaskFacts;
  const runnerTasks: RunnerTasks = {
    async describe(arns) {
      await clock.sleep(wait('runTask'));
      const found = new Map<string, TaskFacts>();
      for (const arn of arns) {
        const task = tasks.get(arn);
        if (task !== undefined) found.set(arn, factsOf(task));
      }
      return found;
    },
    async listLive() {
      await clock.sleep(wait('runTask'));
      return [...live].map(factsOf);
    },
    async stop(taskArn, reason) {
      await clock.sleep(wait('runTask'));
      const task = tasks.get(taskArn);
      if (task === undefined || task.desiredStatus === 'STOPPED') return;
      task.desiredStatus = 'STOPPED';
      live.delete(task);
      if (task.status !== 'RUNNING') {
        stopTask(task, reason);
        return;
      }
      deps.onStopping(task);
      clock.after(wait('taskStop'), () => stopTask(task, reason));
    },
  };

  return {
    launcher,
    runnerTasks,
    tasks,
    containerInstances: everRegistered,
    agentStarted(instance) {
      clock.after(wait('agentRegistration'), () => {
        if (instance.state !== 'running') return;
        const ci: ContainerInstance = {
          arn: `${CLUSTER_ARN}:container-instance/runners/${instance.id.slice(2)}`,
          instance,
          registeredAt: clock.now(),
          task: undefined,
          tasksRun: 0,
          busyMs: 0,
          tasks: [],
        };
        registered.set(instance.id, ci);
        everRegistered.set(instance.id, ci);
        emit({
          kind: 'container-instance',
          containerInstanceArn: ci.arn,
          ec2InstanceId: instance.id,
          status: 'ACTIVE',
          agentConnected: true,
          capacityProvider: deps.capacityProviderOf(instance.group),
        });
        placeWaitingSoon();
      });
    },
    deregister(instance) {
      const ci = registered.get(instance.id);
      if (ci === undefined) return;
      if (ci.task !== undefined) stopTask(ci.task, 'Host EC2 instance terminated');
      registered.delete(instance.id);
    },
    runnerExited(task, reason) {
      clock.after(wait('taskStop'), () => stopTask(task, reason));
    },
    standbyUnserved(task) {
      const ci = task.instance === undefined ? undefined : everRegistered.get(task.instance.id);
      if (ci !== undefined && ci.tasksRun > 0) ci.tasksRun--;
    },
    provisioning: () => waiting,
  };
}
