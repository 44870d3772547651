// The WAF in front of the webhook: rules, IP sets, the stage it protects, and the hourly refresh
// of GitHub's hook ranges with its permissions; per source setting (github.com, a list, GHES), and
// on github.com in every shape of the stack.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { GITHUB_HOOK_RANGES_SNAPSHOT } from '../../shared/firewall/hook-ranges-snapshot';
import { STACK_VARIANTS, synthesizeVariant } from '../support/stack-variants';
import {
  environmentOf,
  hasFunction,
  only,
  statementsOf,
  synthesize,
  type TemplateJson,
} from '../support/synth-stack';

const ipSets = (json: TemplateJson) =>
  Object.fromEntries(
    Object.entries(json.Resources)
      .filter(([, r]) => r.Type === 'AWS::WAFv2::IPSet')
      .map(([id, r]) => [r.Properties.IPAddressVersion as string, { id, addresses: r.Properties.Addresses }]),
  );

describe.each(STACK_VARIANTS)('webhook firewall on github.com, with %s', (_, context) => {
  let json: TemplateJson;
  beforeAll(async () => {
    ({ json } = await synthesizeVariant(context));
  }, 120_000);

  it('associates a regional web ACL with the REST API stage', () => {
    const association = only(json, 'AWS::WAFv2::WebACLAssociation').Properties;
    // The webhook API's stage: the setup page's API has a stage of its own, without the web ACL.
    const [stageId] = Object.entries(json.Resources).find(
      ([id, resource]) => resource.Type === 'AWS::ApiGateway::Stage' && id.startsWith('WebhookRestApi'),
    ) ?? [''];
    const stage = { id: stageId };
    const webAcl = only(json, 'AWS::WAFv2::WebACL');
    expect(association.WebACLArn).toEqual({ 'Fn::GetAtt': [webAcl.id, 'Arn'] });
    expect(JSON.stringify(association.ResourceArn)).toContain(`{"Ref":"${stage.id}"}`);
    expect(JSON.stringify(association.ResourceArn)).toContain('/restapis/');
    expect(webAcl.Properties.Scope).toBe('REGIONAL');
  });

  it('rate-limits each source address first (429), then admits only the hook ranges; everything else is blocked', () => {
    const webAcl = only(json, 'AWS::WAFv2::WebACL').Properties;
    const sets = ipSets(json);
    expect(webAcl.DefaultAction).toEqual({ Block: {} });
    expect(webAcl.Rules).toEqual([
      expect.objectContaining({
        Name: 'RateLimitPerSource',
        Priority: 0,
        Statement: { RateBasedStatement: { Limit: 3000, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
        Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
      }),
      expect.objectContaining({
        Name: 'AllowWebhookSources',
        Priority: 1,
        Statement: {
          OrStatement: {
            Statements: [
              { IPSetReferenceStatement: { Arn: { 'Fn::GetAtt': [sets.IPV4?.id, 'Arn'] } } },
              { IPSetReferenceStatement: { Arn: { 'Fn::GetAtt': [sets.IPV6?.id, 'Arn'] } } },
            ],
          },
        },
        Action: { Allow: {} },
      }),
    ]);
  });

  it("starts the IP sets from the checked-in snapshot of GitHub's hook ranges, one family each", () => {
    const sets = ipSets(json);
    const hooks: readonly string[] = GITHUB_HOOK_RANGES_SNAPSHOT.hooks;
    expect(sets.IPV4?.addresses).toEqual(hooks.filter((cidr) => !cidr.includes(':')));
    expect(sets.IPV6?.addresses).toEqual(hooks.filter((cidr) => cidr.includes(':')));
    expect(hooks).toContain('192.30.252.0/22');
  });

  it('refreshes the IP sets every hour with a function that may read and update those two sets only', () => {
    const sets = ipSets(json);
    const arn = (id: string | undefined) => ({ 'Fn::GetAtt': [id, 'Arn'] });
    expect(environmentOf(json, 'HookRanges')).toEqual({
      HOOK_RANGES_IPV4_SET_ARN: arn(sets.IPV4?.id),
      HOOK_RANGES_IPV6_SET_ARN: arn(sets.IPV6?.id),
    });
    const statements = statementsOf(json, 'HookRanges');
    expect(statements.filter((s) => s.Sid === 'RefreshWebhookSources')).toEqual([
      {
        Sid: 'RefreshWebhookSources',
        Effect: 'Allow',
        Action: ['wafv2:GetIPSet', 'wafv2:UpdateIPSet'],
        Resource: [arn(sets.IPV4?.id), arn(sets.IPV6?.id)],
      },
    ]);
    expect(statements.flatMap((s) => [s.Action].flat())).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'wafv2:GetIPSet',
      'wafv2:UpdateIPSet',
    ]);
    const rule = Object.values(json.Resources).find(
      (r) =>
        r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties.Targets).includes('HookRangesFunction'),
    );
    expect(rule?.Properties.ScheduleExpression).toBe('rate(1 hour)');
  });
});

describe('webhook firewall with webhookAllowedCidrs', () => {
  it("admits the operator's list, in the IP sets and in the function, and deploys no refresh", async () => {
    const { json } = await synthesize({
      webhookAllowedCidrs: '203.0.113.0/24,2001:db8::/32',
      webhookRateLimit: '600',
    });
    expect(ipSets(json)).toMatchObject({
      IPV4: { addresses: ['203.0.113.0/24'] },
      IPV6: { addresses: ['2001:db8::/32'] },
    });
    expect(environmentOf(json, 'Webhook').WEBHOOK_ALLOWED_CIDRS).toBe('203.0.113.0/24,2001:db8::/32');
    expect(hasFunction(json, 'HookRanges')).toBe(false);
    const [rate] = only(json, 'AWS::WAFv2::WebACL').Properties.Rules as Array<{
      Statement: { RateBasedStatement: { Limit: number } };
    }>;
    expect(rate?.Statement.RateBasedStatement.Limit).toBe(600);
  }, 120_000);
});

describe('webhook firewall on GitHub Enterprise Server without a list', () => {
  it('keeps the rate rule and lets any source through (the synth warns), with no IP sets to refresh', async () => {
    const { json, stack } = await synthesize({ githubApiUrl: 'https://ghe.example.com/api/v3' });
    const webAcl = only(json, 'AWS::WAFv2::WebACL').Properties;
    expect(webAcl.DefaultAction).toEqual({ Allow: {} });
    expect((webAcl.Rules as Array<{ Name: string }>).map((rule) => rule.Name)).toEqual([
      'RateLimitPerSource',
    ]);
    expect(ipSets(json)).toEqual({});
    expect(hasFunction(json, 'HookRanges')).toBe(false);
    const warnings = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata)
      .filter((m) => m.type === 'aws:cdk:warning')
      .map((m) => String(m.data));
    expect(warnings.some((w) => w.includes('webhookAllowedCidrs'))).toBe(true);
  }, 120_000);
});

describe('redelivery sweep default', () => {
  // The sweep needs GitHub credentials of the functions' own: JIT's, or a GitHub App's for its hook.
  it.each(STACK_VARIANTS)(
    'with %s: every 5 minutes, unless token registration names no hook',
    async (_, context) => {
      const { json } = await synthesizeVariant(context);
      const appHook = context.githubHook === 'app';
      expect(hasFunction(json, 'Redeliver')).toBe(context.registration !== 'token' || appHook);
      if (!hasFunction(json, 'Redeliver')) return;
      expect(environmentOf(json, 'Redeliver').GITHUB_HOOK).toBe(appHook ? 'app' : undefined);
      const rule = Object.values(json.Resources).find(
        (r) =>
          r.Type === 'AWS::Events::Rule' &&
          JSON.stringify(r.Properties.Targets).includes('RedeliverFunction'),
      );
      expect(rule?.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    },
    120_000,
  );
});
