/**
 * Today's capacity, for the comparison: ECS cluster auto scaling (managed scaling) of the group, as
 * AWS documents it (sources in {@link MANAGED_SCALING}). Each minute ECS publishes
 * CapacityProviderReservation = M / N × 100: N the group's instances past their warm-up, M the
 * instances needed (those with a task, plus one per task waiting in PROVISIONING, at least
 * `minimumScalingStepSize` more than N while tasks wait); with no instance and tasks waiting, 200.
 * The high alarm (one datapoint above the target) runs target tracking, which raises the desired
 * count to ceil(N × reservation / target) when that is more than is already asked for (instances in
 * their warm-up count as asked for); the low alarm (15 datapoints below) lowers it, and Auto
 * Scaling ends idle instances only (managed termination protection keeps those with a task).
 * Instances are reused: a free instance takes the next waiting task.
 */
import { draw, MANAGED_SCALING } from './delays';
import type { AutoScaling, GroupState } from './ec2';
import type { Ecs } from './ecs';
import type { Random } from './random';
import type { VirtualClock } from './virtual-clock';

export interface ManagedScalingStats {
  scaleOuts: number;
  scaleIns: number;
  /** The reservation of each minute, for the log. */
  readonly reservations: number[];
}

export function startManagedScaling(deps: {
  readonly clock: VirtualClock;
  readonly random: Random;
  readonly autoScaling: AutoScaling;
  readonly ecs: Ecs;
  readonly group: string;
  readonly until: number;
}): ManagedScalingStats {
  const { clock, random, autoScaling, ecs } = deps;
  const ms = MANAGED_SCALING;
  const stats: ManagedScalingStats = { scaleOuts: 0, scaleIns: 0, reservations: [] };
  const group = autoScaling.groups.get(deps.group) as GroupState;
  const asgName = group.spec.autoScalingGroupName;

  const inGroup = () => group.instances.filter((i) => i.lifecycle !== 'Terminating');
  const warmedUp = (launchedAt: number) => clock.now() - launchedAt >= ms.instanceWarmupSeconds * 1000;

  const datapoint = () => {
    const instances = inGroup();
    const n = instances.filter((i) => warmedUp(i.createdAt)).length;
    const busy = instances.filter((i) => ecs.containerInstances.get(i.id)?.task !== undefined).length;
    const waiting = ecs.provisioning().length;
    let m = busy + waiting;
    if (waiting > 0) m = Math.min(n + ms.maximumScalingStepSize, Math.max(n + ms.minimumScalingStepSize, m));
    const reservation = n === 0 ? (waiting > 0 ? ms.fromZeroReservation : 100) : (m / n) * 100;
    return { n, reservation };
  };

  const evaluate = async (point: { n: number; reservation: number }) => {
    const recent = stats.reservations.slice(-ms.scaleInDatapoints);
    if (point.reservation > ms.targetCapacity) {
      const wanted = Math.min(
        group.spec.max,
        Math.ceil((Math.max(point.n, 1) * point.reservation) / ms.targetCapacity),
      );
      if (wanted > group.desired) {
        stats.scaleOuts++;
        await autoScaling.setDesired(asgName, wanted);
      }
      return;
    }
    if (recent.length < ms.scaleInDatapoints || !recent.every((r) => r < ms.targetCapacity)) return;
    const keep = Math.ceil((point.n * point.reservation) / ms.targetCapacity);
    const idle = inGroup().filter((i) => {
      const ci = ecs.containerInstances.get(i.id);
      return ci !== undefined && ci.task === undefined && warmedUp(i.createdAt);
    });
    const excess = Math.min(idle.length, inGroup().length - keep);
    if (excess <= 0) return;
    stats.scaleIns++;
    // The alarm's 15 datapoints start again after the action.
    stats.reservations.length = 0;
    for (const instance of idle.slice(0, excess)) await autoScaling.terminate(instance.id);
  };

  const minute = () => {
    const point = datapoint();
    stats.reservations.push(point.reservation);
    clock.after(draw(random, 'alarmEvaluation'), () => void evaluate(point));
    if (clock.now() + ms.metricPeriodSeconds * 1000 <= deps.until)
      clock.after(ms.metricPeriodSeconds * 1000, minute);
  };
  const first = Math.ceil(clock.now() / 60_000) * 60_000;
  clock.at(first, minute);
  return stats;
}
