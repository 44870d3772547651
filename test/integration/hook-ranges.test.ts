// The hook-ranges refresh with its real adapters: GitHub's meta API from the GitHub stand-in, and
// WAF's GetIPSet/UpdateIPSet over the JSON protocol, SigV4-signed, against a WAFv2 stand-in.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { fetchHookRanges } from '../../shared/firewall/github-meta';
import { parseHookRangesSettings, refreshHookRanges } from '../../shared/firewall/hook-ranges';
import { createWafIpSets } from '../../shared/firewall/wafv2-ip-sets';
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in';
import { type StandInIpSet, startWafStandIn, type WafStandIn } from '../support/wafv2-stand-in';

let github: GitHubStandIn;
let waf: WafStandIn;
let v4: StandInIpSet;
let v6: StandInIpSet;

beforeAll(async () => {
  github = await startGitHubStandIn();
  waf = await startWafStandIn([
    { name: 'WebhookSourcesIpv4', version: 'IPV4', addresses: ['192.30.252.0/22'] },
    { name: 'WebhookSourcesIpv6', version: 'IPV6', addresses: [] },
  ]);
  [v4, v6] = [...waf.ipSets.values()] as [StandInIpSet, StandInIpSet];
  process.env.AWS_ENDPOINT_URL_WAFV2 = waf.url;
});
afterAll(async () => {
  await github.close();
  await waf.close();
});
beforeEach(() => {
  waf.calls.length = 0;
  waf.beforeUpdate = undefined;
  github.hookRanges = ['192.30.252.0/22', '185.199.108.0/22', '140.82.112.0/20', '2606:50c0::/32'];
});

const refresh = () => {
  const settings = parseHookRangesSettings({
    HOOK_RANGES_IPV4_SET_ARN: waf.arnOf(v4),
    HOOK_RANGES_IPV6_SET_ARN: waf.arnOf(v6),
    GITHUB_API_URL: github.url,
  });
  return refreshHookRanges(settings, {
    hookRanges: () => fetchHookRanges(settings.apiUrl),
    ipSets: createWafIpSets(),
  });
};

describe('hook ranges refresh', () => {
  it("sets each IP set to GitHub's hook ranges of its family, with the lock token of its read", async () => {
    const token = v4.lockToken;
    expect(await refresh()).toEqual({ IPV4: 'updated', IPV6: 'updated' });
    expect(v4.addresses).toEqual(['140.82.112.0/20', '185.199.108.0/22', '192.30.252.0/22']);
    expect(v6.addresses).toEqual(['2606:50c0::/32']);
    expect(waf.calls.find((c) => c.operation === 'UpdateIPSet')?.input).toMatchObject({
      Name: 'WebhookSourcesIpv4',
      Id: v4.id,
      Scope: 'REGIONAL',
      LockToken: token,
    });
    const meta = github.requests.find((r) => r.operation === 'GET /meta');
    expect(meta?.authorization).toBe('');
    expect(github.violations).toEqual([]);
  });

  it('writes nothing when the IP sets already hold the ranges', async () => {
    await refresh();
    waf.calls.length = 0;
    expect(await refresh()).toEqual({ IPV4: 'unchanged', IPV6: 'unchanged' });
    expect(waf.calls.map((c) => c.operation)).toEqual(['GetIPSet', 'GetIPSet']);
  });

  it('reads the set again and writes once more when another writer changed it after the read', async () => {
    github.hookRanges = ['143.55.64.0/20', '2a0a:a440::/29'];
    let interfered = false;
    waf.beforeUpdate = (set) => {
      if (set === v4 && !interfered) {
        interfered = true;
        set.addresses = ['198.51.100.0/24'];
        set.lockToken = 'changed-by-someone-else';
      }
    };
    expect(await refresh()).toEqual({ IPV4: 'updated', IPV6: 'updated' });
    expect(v4.addresses).toEqual(['143.55.64.0/20']);
    expect(waf.calls.filter((c) => c.operation === 'UpdateIPSet' && c.input.Id === v4.id)).toHaveLength(2);
  });

  it('leaves the IP sets as they are when GitHub answers without a hooks list', async () => {
    const before = [...v4.addresses];
    github.hookRanges = [];
    await expect(refresh()).rejects.toThrow('no usable hooks list');
    expect(v4.addresses).toEqual(before);
    expect(waf.calls).toEqual([]);
  });

  it('keeps the IPv6 set when GitHub lists no IPv6 range', async () => {
    github.hookRanges = ['2606:50c0::/32'];
    await refresh();
    github.hookRanges = ['192.30.252.0/22'];
    expect(await refresh()).toEqual({ IPV4: 'updated', IPV6: 'unchanged' });
    expect(v6.addresses).toEqual(['2606:50c0::/32']);
  });
});

describe('hook ranges settings', () => {
  it('reads the IP sets from their ARNs and refuses anything else, every problem at once', () => {
    expect(
      parseHookRangesSettings({
        HOOK_RANGES_IPV4_SET_ARN: 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/v4-set/abc-123',
        HOOK_RANGES_IPV6_SET_ARN: 'arn:aws:wafv2:eu-west-1:123456789012:regional/ipset/v6-set/def-456',
      }),
    ).toEqual({
      apiUrl: 'https://api.github.com',
      sets: {
        IPV4: { name: 'v4-set', id: 'abc-123', scope: 'REGIONAL' },
        IPV6: { name: 'v6-set', id: 'def-456', scope: 'REGIONAL' },
      },
    });
    expect(() => parseHookRangesSettings({ HOOK_RANGES_IPV4_SET_ARN: 'arn:aws:s3:::bucket' })).toThrow(
      /HOOK_RANGES_IPV4_SET_ARN must be a WAF IP set ARN[\s\S]*HOOK_RANGES_IPV6_SET_ARN/,
    );
  });
});
