import type { OctokitProvider } from './octokit';

/** One delivery attempt of a webhook, as GitHub's delivery log lists it. */
export interface HookDelivery {
  readonly id: number;
  readonly guid: string;
  readonly deliveredAt: string;
  readonly redelivery: boolean;
  readonly status: string;
  readonly statusCode: number;
  readonly event: string;
  readonly action: string | null;
}

/** Which webhook's delivery log: an organisation hook, or the GitHub App's hook. */
export type HookRef =
  | { readonly kind: 'org'; readonly org: string; readonly hookId: number }
  | { readonly kind: 'app' };

/** The port to a webhook's delivery log. */
export interface HookDeliveries {
  /** Attempts delivered at or after `sinceMs` (epoch ms), newest first. */
  list(sinceMs: number): Promise<HookDelivery[]>;
  /** The payload GitHub sent in one attempt. */
  payload(id: number): Promise<unknown>;
  /** Asks GitHub to deliver an attempt again. */
  redeliver(id: number): Promise<void>;
}

/** One entry of GitHub's delivery list, as the REST API sends it (the fields we read). */
export type RawDelivery = {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
};

/** The Octokit adapter of {@link HookDeliveries}: `/orgs/{org}/hooks/{hook_id}/deliveries` or `/app/hook/deliveries`. */
export function createHookDeliveries(octokits: OctokitProvider, hook: HookRef): HookDeliveries {
  const base = hook.kind === 'org' ? '/orgs/{org}/hooks/{hook_id}/deliveries' : '/app/hook/deliveries';
  const params = hook.kind === 'org' ? { org: hook.org, hook_id: hook.hookId } : {};
  const client = () =>
    hook.kind === 'org' ? octokits.forScope({ kind: 'org', org: hook.org }) : octokits.forApp();
  return {
    async list(sinceMs) {
      const octokit = await client();
      const found: HookDelivery[] = [];
      // Newest first, 100 a page through cursor links; stop at the first page that reaches past the window.
      for await (const page of octokit.paginate.iterator(`GET ${base}`, {
        ...params,
        per_page: 100,
      } as never)) {
        const items = page.data as unknown as RawDelivery[];
        for (const raw of items) {
          if (Date.parse(raw.delivered_at) < sinceMs) continue;
          found.push({
            id: raw.id,
            guid: raw.guid,
            deliveredAt: raw.delivered_at,
            redelivery: raw.redelivery,
            status: raw.status,
            statusCode: raw.status_code,
            event: raw.event,
            action: raw.action,
          });
        }
        const oldest = items.at(-1);
        if (oldest === undefined || Date.parse(oldest.delivered_at) < sinceMs) break;
      }
      return found;
    },
    async payload(id) {
      const octokit = await client();
      const { data } = await octokit.request(`GET ${base}/{delivery_id}`, {
        ...params,
        delivery_id: id,
      } as never);
      return (data as { request?: { payload?: unknown } }).request?.payload;
    },
    async redeliver(id) {
      const octokit = await client();
      await octokit.request(`POST ${base}/{delivery_id}/attempts`, { ...params, delivery_id: id } as never);
    },
  };
}
