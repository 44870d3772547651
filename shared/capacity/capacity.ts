import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { parseStandbyStartedBy, parseStartedBy } from '../ecs/run-task-input';
import type { RunnerTasks } from '../ecs/runner-tasks';
import { errorMessage } from '../errors';
import { commit, type JobLedger } from '../jobs/job-ledger';
import { isClaimable, type JobRecord } from '../jobs/job-record';
import type { LaunchResult } from '../launch/launch-job';
import type { CapacityEvent } from './capacity-events';
import { type CapacityGroupSettings, type CapacitySettings, hotPoolAt } from './capacity-groups';
import { planGroup } from './capacity-plan';
import type { ContainerInstances } from './container-instances';
import type { InstanceClaims } from './instance-claims';
import type { GroupView, InstanceGroups } from './instance-groups';
import { commitInstance, type InstanceLedger } from './instance-ledger';
import { type InstanceEvent, type InstanceRecord, standbyStarting } from './instance-record';
import {
  STANDBY_LIFETIME_MS,
  STANDBY_READ_TIMEOUT_MS,
  STANDBY_START_TIMEOUT_MS,
  STANDBY_STARTS_PER_INSTANCE,
  STANDBY_STOP_GRACE_MS,
  type StandbyRunners,
} from './standby-runners';

/** Metric names of owned capacity (CloudWatch EMF, the stack's namespace). */
export const CAPACITY_METRIC = {
  timeToInstanceReady: 'TimeToInstanceReady',
  idleInstanceMinutes: 'IdleInstanceMinutes',
  jobsPerInstance: 'JobsPerInstance',
  instancesLaunched: 'InstancesLaunched',
  instancesTerminated: 'InstancesTerminated',
  spotInterruptions: 'SpotInterruptions',
  /** Capacity events whose handling failed (the minute's round repairs what they would have done). */
  eventErrors: 'CapacityEventErrors',
} as const;

/** A claim no job record names after this long is stale (its launcher died, or the attempt ended). */
export const STALE_CLAIM_MS = 3 * 60_000;
/** Jobs launched at once onto instances that became free. */
const LAUNCH_CONCURRENCY = 10;
/**
 * A launching instance still unregistered this long after we knew of it, and InService, is looked
 * up in ECS: its registration event may be lost (boot and registration take about a minute).
 */
export const REGISTRATION_LOOKUP_AFTER_MS = 60_000;

export interface CapacityDependencies {
  readonly settings: CapacitySettings;
  readonly instances: InstanceLedger;
  readonly groups: InstanceGroups;
  readonly jobs: JobLedger;
  readonly tasks: Pick<RunnerTasks, 'stop'>;
  /** ECS's container instances: registrations whose event was lost are learnt from them. */
  readonly containerInstances?: ContainerInstances | undefined;
  readonly claims: InstanceClaims;
  /** Standby runners on the free instances of hot pools (JIT registration); none: jobs start their tasks. */
  readonly standby?: StandbyRunners | undefined;
  /** Launches a queued job from its record (the launch path, with its plan made again from the record). */
  readonly launch: (record: JobRecord) => Promise<LaunchResult>;
  readonly maxAttempts: number;
  readonly metrics: Pick<Metrics, 'addMetric'>;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly now: () => number;
}

/** What one event came to, for the log and the tests. */
export interface CapacitySummary {
  readonly event: CapacityEvent['kind'];
  launched: number;
  terminated: number;
  desired: Record<string, number>;
  notes: string[];
}

/** Whether a job wants an instance now: it waits for a runner, holds none, and is due. */
const wantsInstance = (record: JobRecord, now: number) =>
  record.open && record.instanceId === undefined && isClaimable(record, now);

/**
 * The capacity function: the one writer of the owned groups' desired counts (reserved concurrency
 * 1), driven by events (a job that found no free instance, Auto Scaling launches, container
 * instances registering, tasks stopping, Spot warnings) and by a schedule. Each event applies the
 * fact it carries, then converges the group it names from the ledgers and Auto Scaling: raise the
 * desired count to what the waiting jobs and the pool need, end the instances that are done, and
 * launch waiting jobs onto free instances. A lost or repeated event changes nothing the next one,
 * or the minute's round, does not repair.
 */
export function createCapacity(deps: CapacityDependencies) {
  const { settings, instances, groups, jobs, logger, metrics, now } = deps;
  const byName = new Map(settings.groups.map((group) => [group.name, group]));
  const byAutoScaling = new Map(settings.groups.map((group) => [group.autoScalingGroupName, group]));
  const byProvider = new Map(settings.groups.map((group) => [group.capacityProvider, group]));

  const applyInstance = (instanceId: string, event: InstanceEvent, known?: InstanceRecord) =>
    commitInstance(instances, instanceId, event, { now, known });

  const groupOfJob = (record: JobRecord) =>
    deps.claims.groupFor(record.profile, record.capacityFallback === true);

  /** Ends a retiring instance: TerminateInstanceInAutoScalingGroup, decrementing the desired count. */
  async function terminate(record: InstanceRecord, summary: CapacitySummary): Promise<void> {
    const result = await groups.terminate(record.instanceId);
    summary.terminated++;
    metrics.addMetric(CAPACITY_METRIC.instancesTerminated, 'Count', 1);
    metrics.addMetric(CAPACITY_METRIC.jobsPerInstance, 'Count', record.jobs);
    await applyInstance(record.instanceId, result === 'gone' ? { type: 'gone' } : { type: 'terminate-sent' });
  }

  async function retireAndTerminate(
    instanceId: string,
    reason: string,
    summary: CapacitySummary,
    idleSince?: number,
  ) {
    const retired = await applyInstance(instanceId, { type: 'retire', reason, ifFree: true });
    if (!retired.written || !retired.record) return;
    if (idleSince !== undefined)
      metrics.addMetric(CAPACITY_METRIC.idleInstanceMinutes, 'Count', (now() - idleSince) / 60_000);
    await terminate(retired.record, summary);
  }

  /** Launches waiting jobs of the group onto its free instances, the longest waiting first. */
  async function serve(
    group: CapacityGroupSettings,
    open: readonly JobRecord[],
    free: number,
    summary: CapacitySummary,
  ) {
    const waiting = open
      .filter((record) => wantsInstance(record, now()) && groupOfJob(record)?.name === group.name)
      .sort((a, b) => a.queuedAt - b.queuedAt)
      .slice(0, free);
    for (let i = 0; i < waiting.length; i += LAUNCH_CONCURRENCY) {
      const results = await Promise.all(
        waiting.slice(i, i + LAUNCH_CONCURRENCY).map((record) =>
          deps.launch(record).catch(
            (error: unknown): LaunchResult => ({
              kind: 'failed',
              reason: errorMessage(error),
              setup: false,
              fix: '',
            }),
          ),
        ),
      );
      for (const result of results) {
        if (result.kind === 'started' && !result.existing) summary.launched++;
        if (result.kind === 'failed') summary.notes.push(`launch failed: ${result.reason}`);
      }
    }
  }

  /** Brings the groups named (all, by default) to what their jobs and pools need. */
  async function converge(names: readonly string[], summary: CapacitySummary): Promise<void> {
    const open = await jobs.listOpen();
    const views = new Map<string, GroupView>();
    await Promise.all(
      settings.groups.map(async (group) => {
        views.set(group.name, await groups.describe(group.autoScalingGroupName));
      }),
    );
    const total = [...views.values()].reduce((sum, view) => sum + view.desired, 0);
    let room = Math.max(0, settings.maxInstances - total);
    for (const name of names) {
      const group = byName.get(name);
      const view = views.get(name);
      if (group === undefined || view === undefined) continue;
      if (!view.rebalanceSuspended) await groups.suspendRebalance(group.autoScalingGroupName);
      const records = await instances.listOpen(group.name);
      await retireStaleClaims(records, open, summary);
      await learnRegistrations(group, records, view, summary);
      const waiting = open.filter(
        (record) => wantsInstance(record, now()) && groupOfJob(record)?.name === name,
      ).length;
      const plan = planGroup({
        group,
        records: await instances.listOpen(group.name),
        view,
        waiting,
        room,
        idleSeconds: settings.idleSeconds,
        now: now(),
      });
      for (const instanceId of plan.adopt)
        await applyInstance(instanceId, { type: 'launched', group: name, origin: 'launch' });
      for (const instanceId of plan.gone) await applyInstance(instanceId, { type: 'gone' });
      const idle = new Map(records.map((record) => [record.instanceId, record.readyAt]));
      for (const { instanceId, reason } of plan.retire)
        await retireAndTerminate(instanceId, reason, summary, idle.get(instanceId)).catch((error: unknown) =>
          summary.notes.push(`could not end ${instanceId}: ${errorMessage(error)}`),
        );
      for (const instanceId of plan.terminate) {
        const record = await instances.get(instanceId);
        if (record?.state === 'retiring')
          await terminate(record, summary).catch((error: unknown) =>
            summary.notes.push(`could not end ${instanceId}: ${errorMessage(error)}`),
          );
      }
      if (plan.desired !== undefined) {
        await groups.setDesired(group.autoScalingGroupName, plan.desired);
        metrics.addMetric(
          CAPACITY_METRIC.instancesLaunched,
          'Count',
          Math.max(0, plan.desired - view.desired),
        );
        room = Math.max(0, room - Math.max(0, plan.desired - view.desired));
        summary.desired[name] = plan.desired;
      }
      const free = (await instances.listOpen(group.name)).filter((r) => r.state === 'ready').length;
      if (free > 0 && waiting > 0) await serve(group, open, free, summary);
      await keepStandbys(group, open, summary);
      logger.info('capacity converged', {
        group: name,
        ...plan.counts,
        desired: plan.desired ?? view.desired,
      });
    }
  }

  /**
   * Standby runners of a hot group: one on each free pristine instance (a job that claims it writes
   * its config instead of starting a task); an expired one forgotten, one whose RunTask never
   * answered ends its instance, and one that has not read its job's config in time is stopped and
   * its job launched again.
   */
  async function keepStandbys(
    group: CapacityGroupSettings,
    open: readonly JobRecord[],
    summary: CapacitySummary,
  ) {
    const standby = deps.standby;
    if (standby === undefined || !standby.servesGroup(group)) return;
    const records = await instances.listOpen(group.name);
    const byJob = new Map(open.map((record) => [record.jobId, record]));
    const starts: InstanceRecord[] = [];
    for (const record of records) {
      const current = record.standby;
      if (record.state === 'ready' && current !== undefined) {
        if (standbyStarting(record) && now() - current.startedAt > STANDBY_START_TIMEOUT_MS) {
          await retireAndTerminate(record.instanceId, 'its standby task never answered', summary);
        } else if (current.taskArn !== undefined && now() > current.until + STANDBY_STOP_GRACE_MS) {
          // It stopped by itself at `until` (its stop event may be lost): a new one is started.
          await deps.tasks.stop(current.taskArn, 'standby past its time').catch(() => undefined);
          const ended = await applyInstance(
            record.instanceId,
            { type: 'standby-ended', configKey: current.configKey, reason: 'past its time', failed: false },
            record,
          );
          if (ended.written && ended.record) starts.push(ended.record);
        }
        continue;
      }
      if (
        record.state === 'ready' &&
        record.jobs === 0 &&
        (record.standbyFailures ?? 0) < STANDBY_STARTS_PER_INSTANCE
      )
        starts.push(record);
      if (
        record.state === 'claimed' &&
        current?.taskArn !== undefined &&
        record.taskArn === current.taskArn
      ) {
        const job = record.claim === undefined ? undefined : byJob.get(record.claim.jobId);
        if (
          job?.standby === true &&
          job.state === 'task-started' &&
          job.configKey !== undefined &&
          now() - (job.taskStartedAt ?? now()) > STANDBY_READ_TIMEOUT_MS &&
          (await standby.unread(job.configKey).catch(() => false))
        ) {
          await deps.tasks
            .stop(current.taskArn, 'the standby did not read its config')
            .catch(() => undefined);
          // Not the job's failure: its attempts are not spent on it.
          await relaunchUnstarted(job, 'its standby did not read its config', summary, false);
        }
      }
    }
    // A job that waits takes a free instance as it is: a standby's RunTask in flight would bar its
    // claim. Standbys start once no job of the group waits.
    const waiting = open.some(
      (record) => wantsInstance(record, now()) && groupOfJob(record)?.name === group.name,
    );
    if (waiting) return;
    for (let i = 0; i < starts.length; i += LAUNCH_CONCURRENCY) {
      await Promise.all(
        starts
          .slice(i, i + LAUNCH_CONCURRENCY)
          .map((record) => startStandby(standby, group, record, summary)),
      );
    }
  }

  async function startStandby(
    standby: StandbyRunners,
    group: CapacityGroupSettings,
    record: InstanceRecord,
    summary: CapacitySummary,
  ) {
    const configKey = standby.newConfigKey();
    const starting = await applyInstance(
      record.instanceId,
      { type: 'standby-starting', configKey, until: now() + STANDBY_LIFETIME_MS },
      record,
    );
    if (!starting.written || starting.record?.standby === undefined) return;
    const { until } = starting.record.standby;
    const result = await standby.start(group, starting.record, configKey, until, now() + 20_000);
    if (result.kind === 'started') {
      const started = await applyInstance(record.instanceId, {
        type: 'standby-started',
        configKey,
        taskArn: result.taskArn,
      });
      if (!started.written) {
        // The instance moved on (retired, gone) while the task started: nothing may run on it.
        await deps.tasks.stop(result.taskArn, 'its instance moved on').catch(() => undefined);
        return;
      }
      summary.notes.push(`${record.instanceId}: standby ${result.taskArn}`);
    } else if (result.kind === 'refused') {
      await applyInstance(record.instanceId, {
        type: 'standby-ended',
        configKey,
        reason: result.reason,
        failed: true,
      });
      summary.notes.push(`${record.instanceId}: no standby: ${result.reason}`);
    } else {
      // A task may run on it that no record names: never claimed, ended.
      await retireAndTerminate(
        record.instanceId,
        `its standby's RunTask had no answer: ${result.reason}`,
        summary,
      );
    }
  }

  /** A job whose task stopped (or was stopped) before its runner could take the job: a new attempt now. */
  async function relaunchUnstarted(job: JobRecord, reason: string, summary: CapacitySummary, failed = true) {
    const ended = await commit(
      jobs,
      job.jobId,
      {
        type: 'attempt-ended',
        attempt: job.attempt,
        reason,
        relaunch: true,
        failed,
        maxAttempts: deps.maxAttempts,
      },
      { now, known: job },
    );
    if (!ended.written || ended.record === undefined) return;
    const result = await deps.launch(ended.record);
    if (result.kind === 'started' && !result.existing) summary.launched++;
    summary.notes.push(`job ${job.jobId}: ${reason}, ${result.kind}`);
  }

  /**
   * Launching instances the group has InService for a while whose container instance ECS has
   * registered: the registration event was lost or is late, and without this the instance would
   * wait, unused, to be ended as never registered.
   */
  async function learnRegistrations(
    group: CapacityGroupSettings,
    records: readonly InstanceRecord[],
    view: GroupView,
    summary: CapacitySummary,
  ) {
    if (deps.containerInstances === undefined) return;
    const inService = new Set(
      view.instances.filter((i) => i.lifecycleState === 'InService').map((i) => i.instanceId),
    );
    const unregistered = records.filter(
      (r) =>
        r.state === 'launching' &&
        inService.has(r.instanceId) &&
        now() - r.launchedAt > REGISTRATION_LOOKUP_AFTER_MS,
    );
    if (unregistered.length === 0) return;
    const found = await deps.containerInstances
      .find(unregistered.map((r) => r.instanceId))
      .catch((error: unknown) => {
        summary.notes.push(`could not look up container instances: ${errorMessage(error)}`);
        return [];
      });
    for (const instance of found) {
      if (instance.status !== 'ACTIVE' || !instance.agentConnected) continue;
      const result = await applyInstance(instance.ec2InstanceId, {
        type: 'registered',
        group: group.name,
        containerInstanceArn: instance.containerInstanceArn,
      });
      if (result.written) summary.notes.push(`${instance.ec2InstanceId}: registration learnt from ECS`);
    }
  }

  /** Claims no job record holds (its launcher died before it recorded the claim, or the attempt ended). */
  async function retireStaleClaims(
    records: readonly InstanceRecord[],
    open: readonly JobRecord[],
    summary: CapacitySummary,
  ) {
    const byJob = new Map(open.map((record) => [record.jobId, record]));
    for (const record of records) {
      const claim = record.claim;
      if (record.state !== 'claimed' || claim === undefined || now() - claim.at < STALE_CLAIM_MS) continue;
      const job = byJob.get(claim.jobId);
      const holds =
        job !== undefined && job.instanceId === record.instanceId && job.attempt === claim.attempt;
      if (holds) continue;
      // A task may have run on it: never freed, always ended.
      const retired = await applyInstance(
        record.instanceId,
        { type: 'retire', reason: 'no job holds its claim' },
        record,
      );
      if (retired.written && retired.record) await terminate(retired.record, summary);
    }
  }

  /** The instance a task ran on: the job's claimed instance, else the one of its container instance. */
  async function instanceOfTask(
    event: Extract<CapacityEvent, { kind: 'task' }>,
  ): Promise<InstanceRecord | undefined> {
    const standbyOn = parseStandbyStartedBy(event.startedBy);
    if (standbyOn !== undefined) {
      const record = await instances.get(standbyOn);
      if (record?.open) return record;
    }
    const started = parseStartedBy(event.startedBy);
    if (started !== undefined) {
      const job = await jobs.get(started.jobId);
      if (job?.instanceId !== undefined) {
        const record = await instances.get(job.instanceId);
        if (
          record?.containerInstanceArn === undefined ||
          record.containerInstanceArn === event.containerInstanceArn
        )
          if (record !== undefined) return record;
      }
    }
    if (event.containerInstanceArn === undefined) return undefined;
    return (await instances.listOpen()).find(
      (record) => record.containerInstanceArn === event.containerInstanceArn,
    );
  }

  /**
   * A task stopped before its runner could take the job: its job (not started, by its own record)
   * gets a new attempt now. A task of our own that never ran; or a standby whose config is still
   * unread (its container deletes it as it starts the runner).
   */
  async function replaceLostTask(
    event: Extract<CapacityEvent, { kind: 'task' }>,
    record: InstanceRecord,
    summary: CapacitySummary,
  ) {
    const started = parseStartedBy(event.startedBy);
    const standbyOn = parseStandbyStartedBy(event.startedBy);
    const jobId = started?.jobId ?? (standbyOn !== undefined ? record.claim?.jobId : undefined);
    if (jobId === undefined) return;
    const job = await jobs.get(jobId);
    if (job === undefined || job.state !== 'task-started' || job.taskArn !== event.taskArn) return;
    if (standbyOn !== undefined) {
      const unread =
        job.standby === true &&
        job.configKey !== undefined &&
        (await deps.standby?.unread(job.configKey).catch(() => false));
      if (!unread) return;
    } else if (event.startedAt !== undefined) return;
    await relaunchUnstarted(
      job,
      `its task stopped before it ran: ${event.stoppedReason ?? 'no reason given'}`,
      summary,
    );
  }

  async function handle(event: CapacityEvent): Promise<CapacitySummary> {
    const summary: CapacitySummary = {
      event: event.kind,
      launched: 0,
      terminated: 0,
      desired: {},
      notes: [],
    };
    switch (event.kind) {
      case 'tick':
        await converge(
          settings.groups.map((group) => group.name),
          summary,
        );
        break;
      case 'wanted':
        await converge([event.group], summary);
        break;
      case 'instance-launched': {
        const group = byAutoScaling.get(event.autoScalingGroupName);
        if (group === undefined) break;
        await applyInstance(event.instanceId, { type: 'launched', group: group.name, origin: event.origin });
        break;
      }
      case 'instance-launch-failed': {
        const group = byAutoScaling.get(event.autoScalingGroupName);
        summary.notes.push(`launch failed: ${event.reason}`);
        logger.warn('Auto Scaling could not launch an instance', {
          group: group?.name,
          reason: event.reason,
        });
        break;
      }
      case 'instance-terminated':
        await applyInstance(event.instanceId, { type: 'gone' });
        break;
      case 'container-instance': {
        const group =
          event.capacityProvider === undefined ? undefined : byProvider.get(event.capacityProvider);
        const known = await instances.get(event.ec2InstanceId);
        const groupName = known?.group ?? group?.name;
        if (groupName === undefined) break;
        if (event.status === 'ACTIVE' && event.agentConnected) {
          const result = await applyInstance(event.ec2InstanceId, {
            type: 'registered',
            group: groupName,
            containerInstanceArn: event.containerInstanceArn,
          });
          if (result.written && result.record?.state === 'ready' && result.record.readyAt !== undefined) {
            metrics.addMetric(
              CAPACITY_METRIC.timeToInstanceReady,
              'Milliseconds',
              result.record.readyAt - result.record.launchedAt,
            );
          }
          const target = byName.get(groupName);
          if (target !== undefined) {
            const open = await jobs.listOpen();
            const free = (await instances.listOpen(groupName)).filter((r) => r.state === 'ready').length;
            await serve(target, open, free, summary);
            await keepStandbys(target, open, summary);
          }
        } else if (event.status !== 'ACTIVE' || !event.agentConnected) {
          // Draining, deregistered, or its agent gone: no job is placed on it; a free one is ended.
          await retireAndTerminate(
            event.ec2InstanceId,
            `container instance ${event.status.toLowerCase()}`,
            summary,
          ).catch((error: unknown) => summary.notes.push(errorMessage(error)));
        }
        break;
      }
      case 'task': {
        const record = await instanceOfTask(event);
        if (record === undefined) break;
        const group = byName.get(record.group);
        if (event.lastStatus === 'RUNNING' && record.claim !== undefined) {
          await applyInstance(
            record.instanceId,
            { type: 'task-placed', jobId: record.claim.jobId, taskArn: event.taskArn },
            record,
          );
          // A job took an instance of the hot pool (its launcher asks for none): refilled now, not at the next tick.
          if (group !== undefined && hotPoolAt(group, now()) > 0) await converge([group.name], summary);
        }
        if (
          event.lastStatus === 'STOPPED' &&
          record.state === 'ready' &&
          record.standby?.taskArn === event.taskArn &&
          record.standby !== undefined
        ) {
          // A standby no job took: it stopped at its time, or failed before it. A new one starts.
          const failed = now() < record.standby.until - 5_000;
          await applyInstance(
            record.instanceId,
            {
              type: 'standby-ended',
              configKey: record.standby.configKey,
              reason: event.stoppedReason ?? 'its task stopped',
              failed,
            },
            record,
          );
          if (group !== undefined) {
            // Free again: a waiting job takes it first; a new standby only if none waits.
            const open = await jobs.listOpen();
            await serve(group, open, 1, summary);
            await keepStandbys(group, open, summary);
          }
          break;
        }
        if (event.lastStatus === 'STOPPED') {
          const reuse = group?.reuseIdleMinutes !== undefined;
          const stopped = await applyInstance(
            record.instanceId,
            { type: 'task-stopped', taskArn: event.taskArn, reuse },
            record,
          );
          if (stopped.record?.state === 'retiring') await terminate(stopped.record, summary);
          await replaceLostTask(event, record, summary);
          if (reuse && group !== undefined) {
            const open = await jobs.listOpen();
            await serve(group, open, 1, summary);
          }
        }
        break;
      }
      case 'spot-warning':
        await spotWarning(event.instanceId, summary);
        break;
    }
    return summary;
  }

  /**
   * EC2 takes the instance back in two minutes. A job that has not started moves now, to the
   * group's `onInterruption` group if it names one; a job that started is marked interrupted: if
   * it fails, the webhook has GitHub re-run it once.
   */
  async function spotWarning(instanceId: string, summary: CapacitySummary) {
    const record = await instances.get(instanceId);
    if (record === undefined || !record.open) return;
    metrics.addMetric(CAPACITY_METRIC.spotInterruptions, 'Count', 1);
    const claim = record.claim;
    const job = claim === undefined ? undefined : await jobs.get(claim.jobId);
    if (
      claim !== undefined &&
      job?.instanceId === instanceId &&
      (job.jobStartedAt !== undefined || job.state === 'running')
    ) {
      // Not retired: a retiring instance is terminated by the next converge, the busy runner with it.
      // It runs until EC2 takes the instance back; if it fails, the webhook re-runs it once.
      await commit(jobs, job.jobId, { type: 'spot-interrupted' }, { now, known: job });
      summary.notes.push(`job ${claim.jobId} started on the interrupted instance: re-run once if it fails`);
      return;
    }
    await applyInstance(instanceId, { type: 'retire', reason: 'Spot interruption warning' }, record);
    if (claim === undefined || job === undefined || job.instanceId !== instanceId) return;
    if (job.taskArn !== undefined)
      await deps.tasks.stop(job.taskArn, 'Spot interruption before the job started').catch(() => undefined);
    const ended = await commit(
      jobs,
      job.jobId,
      {
        type: 'attempt-ended',
        attempt: job.attempt,
        reason: 'its Spot instance is being interrupted',
        relaunch: true,
        failed: false,
        capacity: true,
        maxAttempts: deps.maxAttempts,
      },
      { now, known: job },
    );
    if (!ended.written || ended.record === undefined) return;
    const result = await deps.launch(ended.record);
    if (result.kind === 'started') summary.launched++;
    summary.notes.push(`job ${job.jobId} moved off the interrupted instance: ${result.kind}`);
    const target = groupOfJob(ended.record);
    if (result.kind === 'waiting' && target !== undefined) await converge([target.name], summary);
  }

  /**
   * A batch of the FIFO queue, in order: each fact applied, then each group that a request or the
   * schedule named converged once (a burst's hundred requests are one converge). An event that
   * fails is logged and counted, never retried by blocking the queue: the next round repairs it.
   */
  async function handleBatch(events: readonly CapacityEvent[]): Promise<CapacitySummary[]> {
    const summaries: CapacitySummary[] = [];
    const toConverge = new Set<string>();
    for (const event of events) {
      if (event.kind === 'tick') {
        for (const group of settings.groups) toConverge.add(group.name);
        continue;
      }
      if (event.kind === 'wanted') {
        toConverge.add(event.group);
        continue;
      }
      summaries.push(await guarded(event.kind, () => handle(event)));
    }
    if (toConverge.size > 0) {
      const kind = events.some((event) => event.kind === 'tick') ? 'tick' : 'wanted';
      summaries.push(
        await guarded(kind, async () => {
          const summary: CapacitySummary = {
            event: kind,
            launched: 0,
            terminated: 0,
            desired: {},
            notes: [],
          };
          await converge([...toConverge], summary);
          return summary;
        }),
      );
    }
    return summaries;
  }

  async function guarded(
    kind: CapacityEvent['kind'],
    run: () => Promise<CapacitySummary>,
  ): Promise<CapacitySummary> {
    try {
      return await run();
    } catch (error) {
      metrics.addMetric(CAPACITY_METRIC.eventErrors, 'Count', 1);
      logger.error('capacity event failed; the next round repairs it', {
        event: kind,
        reason: errorMessage(error),
      });
      return {
        event: kind,
        launched: 0,
        terminated: 0,
        desired: {},
        notes: [`failed: ${errorMessage(error)}`],
      };
    }
  }

  return { handle, handleBatch, converge };
}

export type Capacity = ReturnType<typeof createCapacity>;
