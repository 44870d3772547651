/**
 * Evaluates a synthesized template's intrinsic functions as CloudFormation would in the seed's
 * account (`xxxxxxxxxxxx`), so a synthesized property reads like the seed's hand-written one.
 */
import type { TemplateJson } from './synth-stack';

export const SEED_ACCOUNT = 'xxxxxxxxxxxx';
/** The random suffix Secrets Manager adds to a secret's ARN. */
export const SECRET_SUFFIX = 'AbCdEf';

export function evaluator(json: TemplateJson, region: string) {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': SEED_ACCOUNT,
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const physical = (id: string): { ref: string; arn: string } => {
    const resource = json.Resources[id];
    if (resource === undefined) throw new Error(`no resource ${id}`);
    const props = resource.Properties;
    const name = (key: string) => String(props[key]);
    switch (resource.Type) {
      case 'AWS::SecretsManager::Secret': {
        const arn = `arn:aws:secretsmanager:${region}:${SEED_ACCOUNT}:secret:${name('Name')}-${SECRET_SUFFIX}`;
        return { ref: arn, arn };
      }
      case 'AWS::IAM::Role':
        return { ref: name('RoleName'), arn: `arn:aws:iam::${SEED_ACCOUNT}:role/${name('RoleName')}` };
      case 'AWS::ECR::Repository':
        return {
          ref: name('RepositoryName'),
          arn: `arn:aws:ecr:${region}:${SEED_ACCOUNT}:repository/${name('RepositoryName')}`,
        };
      case 'AWS::Logs::LogGroup':
        return {
          ref: name('LogGroupName'),
          arn: `arn:aws:logs:${region}:${SEED_ACCOUNT}:log-group:${name('LogGroupName')}:*`,
        };
      default:
        throw new Error(`no physical value for ${resource.Type} ${id}`);
    }
  };
  const evaluate = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(evaluate);
    if (typeof value !== 'object' || value === null) return value;
    const node = value as Record<string, unknown>;
    if (typeof node.Ref === 'string') return pseudo[node.Ref] ?? physical(node.Ref).ref;
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [id, attribute] = node['Fn::GetAtt'] as [string, string];
      if (attribute !== 'Arn') throw new Error(`no value for ${id}.${attribute}`);
      return physical(id).arn;
    }
    if (Array.isArray(node['Fn::Join'])) {
      const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
      return parts.map(evaluate).join(separator);
    }
    if (Array.isArray(node['Fn::Split'])) {
      const [separator, text] = node['Fn::Split'] as [string, unknown];
      return String(evaluate(text)).split(separator);
    }
    if (Array.isArray(node['Fn::Select'])) {
      const [index, list] = node['Fn::Select'] as [number, unknown];
      return (evaluate(list) as unknown[])[index];
    }
    return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, evaluate(item)]));
  };
  return evaluate;
}

/** CloudFormation's PascalCase keys back to the API's camelCase; maps of user keys stay as they are. */
export function camelCaseKeys(value: unknown, keepKeys = false): unknown {
  if (Array.isArray(value)) return value.map((item) => camelCaseKeys(item));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      keepKeys ? key : key.charAt(0).toLowerCase() + key.slice(1),
      camelCaseKeys(item, ['DockerLabels', 'Options', 'Labels'].includes(key)),
    ]),
  );
}

/** Every leaf of a JSON value by its path (`a.b[0].c`), so two documents compare field by field. */
export function leaves(value: unknown, path = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(path, []);
    value.forEach((item, index) => {
      for (const [key, leaf] of leaves(item, `${path}[${index}]`)) out.set(key, leaf);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      for (const [sub, leaf] of leaves(item, path === '' ? key : `${path}.${key}`)) out.set(sub, leaf);
    }
  } else {
    out.set(path, value);
  }
  return out;
}
