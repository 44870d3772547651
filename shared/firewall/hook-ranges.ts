import type { Env } from '../config';
import { ConfigError } from '../errors';

/** An address family of WAF's IP sets: each set holds one. */
export type AddressFamily = 'IPV4' | 'IPV6';

/** Which IP set: what WAF's GetIPSet and UpdateIPSet take. */
export interface IpSetRef {
  readonly name: string;
  readonly id: string;
  readonly scope: 'REGIONAL' | 'CLOUDFRONT';
}

/** One read of an IP set: its addresses and the token an update must present. */
export interface IpSetState {
  readonly addresses: readonly string[];
  readonly lockToken: string;
}

/** The port to WAF's IP sets. */
export interface IpSets {
  read(ref: IpSetRef): Promise<IpSetState>;
  /** @throws IpSetChangedError when the lock token is stale (the set changed since the read). */
  write(ref: IpSetRef, addresses: readonly string[], lockToken: string): Promise<void>;
}

/** WAF refused an update because the set changed after our read (`WAFOptimisticLockException`). */
export class IpSetChangedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IpSetChangedError';
  }
}

/** The settings of the `hook-ranges` function. */
export interface HookRangesSettings {
  readonly apiUrl: string;
  readonly sets: Readonly<Record<AddressFamily, IpSetRef>>;
}

/**
 * Reads `HOOK_RANGES_IPV4_SET_ARN`, `HOOK_RANGES_IPV6_SET_ARN` (the WAF IP sets, from their ARNs
 * `arn:aws:wafv2:REGION:ACCOUNT:regional/ipset/NAME/ID`) and `GITHUB_API_URL`.
 * @throws ConfigError listing every problem.
 */
export function parseHookRangesSettings(env: Env): HookRangesSettings {
  const problems: string[] = [];
  const set = (variable: string): IpSetRef => {
    const arn = env[variable]?.trim() ?? '';
    const match = /^arn:[\w-]+:wafv2:[\w-]*:\d*:(regional|global)\/ipset\/([\w-]+)\/([\w-]+)$/.exec(arn);
    if (match === null) {
      problems.push(`${variable} must be a WAF IP set ARN (…:regional/ipset/NAME/ID), got "${arn}"`);
      return { name: '', id: '', scope: 'REGIONAL' };
    }
    const [, scope, name, id] = match as unknown as [string, string, string, string];
    return { name, id, scope: scope === 'global' ? 'CLOUDFRONT' : 'REGIONAL' };
  };
  const sets = { IPV4: set('HOOK_RANGES_IPV4_SET_ARN'), IPV6: set('HOOK_RANGES_IPV6_SET_ARN') };
  if (problems.length > 0) throw new ConfigError(problems);
  const apiUrl = (env.GITHUB_API_URL?.trim() || 'https://api.github.com').replace(/\/+$/, '');
  return { apiUrl, sets };
}

/** The family of a CIDR: IPv6 has colons. */
export const familyOf = (cidr: string): AddressFamily => (cidr.includes(':') ? 'IPV6' : 'IPV4');

/**
 * GitHub's `hooks` ranges from a `GET /meta` body.
 * @throws Error when the body has no list of CIDRs: an empty or broken answer must never empty the IP sets.
 */
export function hookRangesOf(meta: unknown): string[] {
  const hooks = (typeof meta === 'object' && meta !== null ? meta : {}) as { hooks?: unknown };
  const list = Array.isArray(hooks.hooks) ? hooks.hooks : [];
  const cidrs = list.filter(
    (item): item is string => typeof item === 'string' && /^[0-9A-Fa-f.:]+\/\d{1,3}$/.test(item),
  );
  if (cidrs.length === 0 || cidrs.length !== list.length)
    throw new Error(
      "GitHub's meta answer has no usable hooks list (CIDRs): the IP sets are left as they are",
    );
  return cidrs;
}

const canonical = (addresses: readonly string[]) =>
  [...new Set(addresses.map((address) => address.toLowerCase()))].sort();

/**
 * What a family's IP set should hold, or undefined when it already does. A family GitHub lists
 * nothing for keeps its set: only a list that names the family replaces it.
 */
export function plannedAddresses(
  hooks: readonly string[],
  family: AddressFamily,
  current: readonly string[],
): string[] | undefined {
  const wanted = canonical(hooks.filter((cidr) => familyOf(cidr) === family));
  if (wanted.length === 0) return undefined;
  const now = canonical(current);
  return wanted.length === now.length && wanted.every((cidr, i) => cidr === now[i]) ? undefined : wanted;
}

/** What one refresh did to each family's set. */
export type HookRangesSummary = Record<AddressFamily, 'unchanged' | 'updated'>;

/**
 * Gathers GitHub's hook ranges, decides each IP set's addresses, and writes the sets that differ
 * with the lock token of the read (read again once when another writer came between).
 */
export async function refreshHookRanges(
  settings: HookRangesSettings,
  ports: { readonly hookRanges: () => Promise<string[]>; readonly ipSets: IpSets },
): Promise<HookRangesSummary> {
  const hooks = await ports.hookRanges();
  const summary: HookRangesSummary = { IPV4: 'unchanged', IPV6: 'unchanged' };
  for (const family of ['IPV4', 'IPV6'] as const) {
    const ref = settings.sets[family];
    for (let attempt = 1; ; attempt++) {
      const state = await ports.ipSets.read(ref);
      const addresses = plannedAddresses(hooks, family, state.addresses);
      if (addresses === undefined) break;
      try {
        await ports.ipSets.write(ref, addresses, state.lockToken);
        summary[family] = 'updated';
        break;
      } catch (error) {
        if (!(error instanceof IpSetChangedError) || attempt >= 2) throw error;
      }
    }
  }
  return summary;
}
