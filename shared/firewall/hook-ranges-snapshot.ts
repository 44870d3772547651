/**
 * GitHub's webhook source ranges, the `hooks` list of `GET https://api.github.com/meta`, as the
 * stack's synth-time default: the WAF IP sets start with these, and the `hook-ranges` function
 * replaces them with GitHub's current list every hour. Taken from the list as published on
 * 2026-01-17 (the build machines have no internet access; refresh with
 * `curl -s https://api.github.com/meta | jq .hooks`). GitHub Enterprise Server sends from its own
 * addresses: there the operator's `webhookAllowedCidrs` is the list, and nothing refreshes it.
 */
export const GITHUB_HOOK_RANGES_SNAPSHOT = {
  takenOn: '2026-01-17',
  hooks: [
    '192.30.252.0/22',
    '185.199.108.0/22',
    '140.82.112.0/20',
    '143.55.64.0/20',
    '2a0a:a440::/29',
    '2606:50c0::/32',
  ],
} as const;
