/**
 * A WAFv2 stand-in speaking WAF's JSON protocol (`AWSWAF_20190729.*`): IP sets by name and id,
 * `GetIPSet` with a lock token, `UpdateIPSet` that refuses a stale token as WAF does
 * (`WAFOptimisticLockException`) and replaces the addresses and the token otherwise.
 */
import { randomUUID } from 'node:crypto';
import { AwsError, type StandIn, startAwsStandIn } from './aws-stand-in';

export interface StandInIpSet {
  readonly name: string;
  readonly id: string;
  readonly version: 'IPV4' | 'IPV6';
  addresses: string[];
  lockToken: string;
}

export interface WafStandIn extends StandIn {
  readonly ipSets: Map<string, StandInIpSet>;
  /** Called before an UpdateIPSet is applied: a test changes the set here, as another writer would. */
  beforeUpdate: ((set: StandInIpSet) => void) | undefined;
  /** The ARN WAF gives a regional IP set of this stand-in. */
  arnOf(set: StandInIpSet): string;
}

export async function startWafStandIn(
  sets: ReadonlyArray<Pick<StandInIpSet, 'name' | 'version' | 'addresses'>>,
): Promise<WafStandIn> {
  const ipSets = new Map<string, StandInIpSet>();
  for (const set of sets) {
    const id = randomUUID();
    ipSets.set(id, { ...set, id, addresses: [...set.addresses], lockToken: randomUUID() });
  }
  const find = (input: Record<string, unknown>) => {
    if (input.Scope !== 'REGIONAL' && input.Scope !== 'CLOUDFRONT')
      throw new AwsError('WAFInvalidParameterException', 'Scope must be REGIONAL or CLOUDFRONT');
    const set = ipSets.get(String(input.Id));
    if (set === undefined || set.name !== input.Name)
      throw new AwsError(
        'WAFNonexistentItemException',
        'AWS WAF couldn’t perform the operation because your resource doesn’t exist.',
      );
    return set;
  };
  const standIn: Partial<WafStandIn> = { ipSets, beforeUpdate: undefined };
  const server = await startAwsStandIn({
    targetPrefix: 'AWSWAF_20190729',
    contentType: 'application/x-amz-json-1.1',
    operations: {
      GetIPSet: (input) => {
        const set = find(input);
        return {
          IPSet: {
            Name: set.name,
            Id: set.id,
            ARN: standIn.arnOf?.(set),
            IPAddressVersion: set.version,
            Addresses: set.addresses,
            Description: '',
          },
          LockToken: set.lockToken,
        };
      },
      UpdateIPSet: (input) => {
        const set = find(input);
        standIn.beforeUpdate?.(set);
        if (input.LockToken !== set.lockToken)
          throw new AwsError(
            'WAFOptimisticLockException',
            'AWS WAF couldn’t save your changes because someone changed the resource after you started to edit it.',
          );
        const addresses = input.Addresses;
        if (!Array.isArray(addresses) || addresses.some((a) => typeof a !== 'string'))
          throw new AwsError('WAFInvalidParameterException', 'Addresses must be a list of CIDRs');
        if (addresses.some((a: string) => a.includes(':') !== (set.version === 'IPV6')))
          throw new AwsError(
            'WAFInvalidParameterException',
            `an address of the wrong version for ${set.version}`,
          );
        set.addresses = [...addresses];
        set.lockToken = randomUUID();
        return { NextLockToken: set.lockToken };
      },
    },
  });
  return Object.assign(standIn, server, {
    arnOf: (set: StandInIpSet) => `arn:aws:wafv2:us-east-1:123456789012:regional/ipset/${set.name}/${set.id}`,
  }) as WafStandIn;
}
