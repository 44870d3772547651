import { createHash } from 'node:crypto';
import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/**
 * One part of the deployed system (the webhook API, the capacity, the alarms…): a construct that
 * owns its resources, their permissions, cdk-nag acknowledgements and outputs. A part adds no
 * level to its resources' logical ids: they keep the ids they had when the stack declared them
 * itself, so splitting the stack into parts replaces nothing on deploy (named roles, secrets and
 * the repository could not be replaced at all; a new API would change the webhook URL).
 */
export class SystemPart extends Construct {}

/**
 * Logical ids for a stack made of {@link SystemPart}s: CDK's own (`makeUniqueId` over the path from
 * the stack, which CDK does not export) with the stack's direct part left out of the path. Two
 * elements that would share an id fail the synth.
 */
export class PartTransparentIds {
  private readonly owners = new Map<string, string>();

  constructor(private readonly stack: Stack) {}

  allocate(element: CfnElement): string {
    const id = this.compute(element);
    const owner = this.owners.get(id);
    if (owner !== undefined && owner !== element.node.path) {
      throw new Error(`logical id ${id} of ${element.node.path} is already ${owner}'s`);
    }
    this.owners.set(id, element.node.path);
    return id;
  }

  private compute(element: CfnElement): string {
    const scopes = element.node.scopes.slice(this.stack.node.scopes.length);
    const components = scopes
      .filter((scope, index) => !(index === 0 && scope instanceof SystemPart))
      .map((scope) => scope.node.id)
      .filter((id) => id !== 'Default');
    const alphanumeric = (text: string) => text.replace(/[^A-Za-z0-9]/g, '');
    if (components.length === 1) return alphanumeric(components[0] as string);
    const hash = createHash('md5').update(components.join('/')).digest('hex').slice(0, 8).toUpperCase();
    const human: string[] = [];
    for (const component of components) {
      if (human.length === 0 || !(human[human.length - 1] as string).endsWith(component))
        human.push(component);
    }
    return (
      human
        .filter((component) => component !== 'Resource')
        .map(alphanumeric)
        .join('')
        .slice(0, 240) + hash
    );
  }
}
