import { Annotations } from 'aws-cdk-lib';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { type AddressFamily, familyOf } from '../shared/firewall/hook-ranges';
import { GITHUB_HOOK_RANGES_SNAPSHOT } from '../shared/firewall/hook-ranges-snapshot';
import type { WebhookFirewallSettings } from './settings';
import { SystemPart } from './system-part';

/** WAF's rate-based rules count over a window of 60 to 600 seconds. */
const RATE_WINDOW_SECONDS = 300;

export interface WebhookFirewallProps {
  readonly settings: WebhookFirewallSettings;
  /** The REST API stage the web ACL protects. */
  readonly stageArn: string;
}

/**
 * The WAF web ACL in front of the webhook's stage, so a flood is refused before API Gateway's
 * throttle and our function: a rate rule per source address first, then only the allowed sources
 * (GitHub's hook ranges in two IP sets, one per address family), everything else blocked. With
 * GitHub's ranges the sets start from a checked-in snapshot and `HookRangesSweep` keeps them
 * current; with `webhookAllowedCidrs` they hold that list.
 */
export class WebhookFirewall extends SystemPart {
  readonly webAcl: wafv2.CfnWebACL;
  /** The allowed sources, one set per family; none when any address may call (GHES without a list). */
  readonly ipSets: Readonly<Record<AddressFamily, wafv2.CfnIPSet>> | undefined;

  constructor(scope: Construct, id: string, props: WebhookFirewallProps) {
    super(scope, id);
    const { sources, rateLimit } = props.settings;
    const visibility = (metricName: string) => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName,
    });

    const initial =
      sources.kind === 'cidrs'
        ? sources.cidrs
        : sources.kind === 'github'
          ? GITHUB_HOOK_RANGES_SNAPSHOT.hooks
          : [];
    this.ipSets =
      sources.kind === 'any'
        ? undefined
        : {
            IPV4: this.ipSet('WebhookSourcesIpv4', 'IPV4', initial, sources.kind),
            IPV6: this.ipSet('WebhookSourcesIpv6', 'IPV6', initial, sources.kind),
          };
    if (sources.kind === 'any') {
      Annotations.of(this).addWarningV2(
        'runners:webhook-any-source',
        "GitHub Enterprise Server (githubApiUrl) without webhookAllowedCidrs: the WAF only rate-limits the webhook, any address may reach it. Set webhookAllowedCidrs to the appliance's addresses.",
      );
    }

    const rules: wafv2.CfnWebACL.RuleProperty[] = [
      {
        name: 'RateLimitPerSource',
        priority: 0,
        statement: {
          rateBasedStatement: {
            limit: rateLimit,
            aggregateKeyType: 'IP',
            evaluationWindowSec: RATE_WINDOW_SECONDS,
          },
        },
        action: { block: { customResponse: { responseCode: 429 } } },
        visibilityConfig: visibility('WebhookRateLimited'),
      },
    ];
    if (this.ipSets !== undefined) {
      rules.push({
        name: 'AllowWebhookSources',
        priority: 1,
        statement: {
          orStatement: {
            statements: [
              { ipSetReferenceStatement: { arn: this.ipSets.IPV4.attrArn } },
              { ipSetReferenceStatement: { arn: this.ipSets.IPV6.attrArn } },
            ],
          },
        },
        action: { allow: {} },
        visibilityConfig: visibility('WebhookAllowedSource'),
      });
    }
    this.webAcl = new wafv2.CfnWebACL(this, 'WebhookWebAcl', {
      description: 'GitHub webhook - a rate limit per source address, then only the allowed sources',
      scope: 'REGIONAL',
      defaultAction: this.ipSets === undefined ? { allow: {} } : { block: {} },
      rules,
      visibilityConfig: visibility('WebhookWebAcl'),
    });
    new wafv2.CfnWebACLAssociation(this, 'WebhookWebAclAssociation', {
      resourceArn: props.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }

  private ipSet(
    id: string,
    family: 'IPV4' | 'IPV6',
    cidrs: readonly string[],
    kind: 'github' | 'cidrs',
  ): wafv2.CfnIPSet {
    return new wafv2.CfnIPSet(this, id, {
      description:
        kind === 'github'
          ? `GitHub hook ranges ${family} from its meta API - kept current by the hook-ranges function`
          : `Webhook allowed sources ${family} - webhookAllowedCidrs`,
      scope: 'REGIONAL',
      ipAddressVersion: family,
      addresses: cidrs.filter((cidr) => familyOf(cidr) === family),
    });
  }
}
