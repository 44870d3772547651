import type { WAFV2Client } from '@aws-sdk/client-wafv2';
import { boundedRequestHandler } from '../call-timeout';
import { IpSetChangedError, type IpSetRef, type IpSets } from './hook-ranges';

type Loaded = { client: WAFV2Client; sdk: typeof import('@aws-sdk/client-wafv2') };

/**
 * The WAF adapter of {@link IpSets}: `GetIPSet` and `UpdateIPSet` through the AWS SDK's WAFv2
 * client, loaded on first use. Its endpoint comes only from the SDK's settings
 * (`AWS_ENDPOINT_URL_WAFV2`: the tests' stand-in), its region from the function's.
 */
export function createWafIpSets(): IpSets {
  let loaded: Promise<Loaded> | undefined;
  const load = () => {
    loaded ??= import('@aws-sdk/client-wafv2').then((sdk) => ({
      client: new sdk.WAFV2Client({ requestHandler: boundedRequestHandler }),
      sdk,
    }));
    return loaded;
  };
  const key = (ref: IpSetRef) => ({ Name: ref.name, Id: ref.id, Scope: ref.scope });
  return {
    async read(ref) {
      const { client, sdk } = await load();
      const answer = await client.send(new sdk.GetIPSetCommand(key(ref)));
      return { addresses: answer.IPSet?.Addresses ?? [], lockToken: answer.LockToken ?? '' };
    },
    async write(ref, addresses, lockToken) {
      const { client, sdk } = await load();
      try {
        await client.send(
          new sdk.UpdateIPSetCommand({ ...key(ref), Addresses: [...addresses], LockToken: lockToken }),
        );
      } catch (error) {
        // Someone changed the set since our read: its lock token is stale.
        if (error instanceof sdk.WAFOptimisticLockException) throw new IpSetChangedError(error.message);
        throw error;
      }
    },
  };
}
