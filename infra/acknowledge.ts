import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag AwsSolutions findings on a construct (cdk-nag 3 uses CDK's own
 * `Validations.acknowledge`). Every acknowledgment carries its reason; the tests check that.
 */
export function acknowledge(scope: IConstruct, reason: string, ...findings: readonly string[]): void {
  Validations.of(scope).acknowledge(
    ...findings.map((finding) => ({ id: `AwsSolutions::AwsSolutions-${finding}`, reason })),
  );
}

/** The `IAM5` finding for a wildcard resource, named as cdk-nag names it (tokens as `<LogicalId>`). */
export function wildcardResource(scope: IConstruct, resource: string): string {
  return `IAM5[Resource::${flatten(Stack.of(scope).resolve(resource))}]`;
}

/** cdk-nag's flattening of a CloudFormation value (its `flattenCfnReference`, which it does not export). */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const node = value as Record<string, unknown>;
    if (Array.isArray(node['Fn::Join'])) {
      const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (node.Ref !== undefined) return `<${flatten(node.Ref)}>`;
  }
  return JSON.stringify(value);
}
