/** The runner task's default size: its whole instance, less the host's reserve, when it owns the instance. */
import { describe, expect, it } from '@jest/globals';
import { readSettings } from '../../infra/settings';
import { defaultTaskSize, hostReserveMiB, instanceSize } from '../../infra/task-size';
import { only, synthesize, type TemplateJson } from '../support/synth-stack';

const fromContext = (context: Record<string, unknown>) => readSettings((key) => context[key], {});
const RUN_LABEL = '<detail_org>-<target_env>-<wf_job_run_id>-<wf_job_run_attempt>';

const definitions = (json: TemplateJson) =>
  Object.fromEntries(
    Object.entries(json.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::ECS::TaskDefinition')
      .map(([id, resource]) => [id, [resource.Properties.Cpu, resource.Properties.Memory]]),
  );

describe('instance sizes', () => {
  it.each([
    ['t3.medium', 2, 4096],
    ['t4g.large', 2, 8192],
    ['t3a.xlarge', 4, 16_384],
    ['m7i.large', 2, 8192],
    ['m7i-flex.2xlarge', 8, 32_768],
    ['m6gd.medium', 1, 4096],
    ['c7g.4xlarge', 16, 32_768],
    ['r6i.large', 2, 16_384],
  ])('knows %s: %i vCPUs, %i MiB', (type, vcpus, memoryMiB) => {
    expect(instanceSize(type)).toEqual({ vcpus, memoryMiB });
  });

  it.each(['c4.large', 'r4.large', 'm3.medium', 't2.medium', 'p4d.24xlarge', 'm7g.metal', 'nonsense'])(
    'does not guess the size of %s',
    (type) => {
      expect(instanceSize(type)).toBeUndefined();
    },
  );

  it('keeps a tenth of the memory for the host, at least 512 MiB', () => {
    expect([hostReserveMiB(2048), hostReserveMiB(4096), hostReserveMiB(32_768)]).toEqual([512, 512, 3277]);
  });

  it('sizes a task that owns its instance to the smallest instance type it may run on', () => {
    expect(defaultTaskSize(['m7i.large', 'c7i.large'], true)).toEqual({ cpu: 2048, memory: 3584 });
    expect(defaultTaskSize(['m7i.2xlarge'], true)).toEqual({ cpu: 8192, memory: 29_491 });
  });

  it('gives tasks that share an instance 1024 units and 2048 MiB, within the instance', () => {
    expect(defaultTaskSize(['m7i.2xlarge'], false)).toEqual({ cpu: 1024, memory: 2048 });
    expect(defaultTaskSize(['t3.small'], false)).toEqual({ cpu: 1024, memory: 1536 });
  });
});

describe('the synthesized task definitions', () => {
  it('give the default runner task its whole t3.medium less the host reserve: 2 vCPUs, 3584 MiB', async () => {
    const { json } = await synthesize({});
    const definition = only(json, 'AWS::ECS::TaskDefinition');
    expect([definition.Properties.Cpu, definition.Properties.Memory]).toEqual(['2048', '3584']);
  });

  it("size each profile from its own instances, a Spot profile's also from its On-Demand fallback", async () => {
    // Managed capacity: five profiles with owned capacity's settings would pass Lambda's 4 KB of
    // environment (the synth refuses it; docs/capacity.md), and sizing is the same either way.
    const { json } = await synthesize({
      capacityMode: 'managed',
      instanceTypes: 'm7i.xlarge',
      profiles: JSON.stringify([
        { name: 'default', labels: [RUN_LABEL] },
        { name: 'arm', labels: [RUN_LABEL, 'arm'], architecture: 'arm64', instanceTypes: ['m7g.2xlarge'] },
        { name: 'spot', labels: [RUN_LABEL, 'spot'], spot: true, instanceTypes: ['m7i.2xlarge'] },
        { name: 'packed', labels: [RUN_LABEL, 'packed'], architecture: 'arm64', distinctInstance: false },
        { name: 'sized', labels: [RUN_LABEL, 'sized'], cpu: 512, memory: 1024 },
      ]),
    });
    expect(definitions(json)).toEqual({
      TaskDefinition: ['4096', '14745'],
      TaskDefinitionArm: ['8192', '29491'],
      // Its fallback is the default's m7i.xlarge.
      TaskDefinitionSpot: ['4096', '14745'],
      TaskDefinitionPacked: ['1024', '2048'],
      TaskDefinitionSized: ['512', '1024'],
    });
  });

  it("take the stack's cpu and memoryMiB over the instance's", async () => {
    const { json } = await synthesize({ cpu: '1024', memoryMiB: '3072' });
    const definition = only(json, 'AWS::ECS::TaskDefinition');
    expect([definition.Properties.Cpu, definition.Properties.Memory]).toEqual(['1024', '3072']);
  });
});

describe('task size settings', () => {
  it('refuse an instance type whose size is unknown, unless cpu and memoryMiB are given', () => {
    expect(() => fromContext({ instanceTypes: 'p4d.24xlarge' })).toThrow(
      'the runner task: cannot size its task from the instance types p4d.24xlarge (only t3, t3a, t4g and the c, m and r families of generation 4 and later are known): set cpu and memoryMiB',
    );
    expect(fromContext({ instanceTypes: 'p4d.24xlarge', cpu: '4096', memoryMiB: '8192' }).taskSizes).toEqual({
      default: { cpu: 4096, memory: 8192 },
    });
  });

  it('refuse an instance too small for a Docker daemon and a job', () => {
    expect(() => fromContext({ instanceTypes: 't3.micro' })).toThrow(
      'the runner task: t3.micro leaves 512 MiB for a runner task',
    );
  });

  it('give a task on an existing cluster 1024 units and 2048 MiB', () => {
    const settings = fromContext({
      clusterName: 'runners',
      capacityProviderName: 'runners-provider',
      existingClusterUnblockedMetadata: 'true',
    });
    expect([settings.cpu, settings.memoryMiB]).toEqual([1024, 2048]);
  });
});
