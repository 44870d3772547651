/**
 * The GitHub web address runners register at (`config.sh --url`), from the REST API's address the
 * functions use: `https://api.github.com` → `https://github.com`; GitHub Enterprise Cloud with
 * data residency, `https://api.SUBDOMAIN.ghe.com` → `https://SUBDOMAIN.ghe.com`; GitHub
 * Enterprise Server, `https://HOST/api/v3` → `https://HOST` (GitHub's documented API addresses).
 */
export function serverUrlOf(apiUrl: string): string {
  const url = new URL(apiUrl.replace(/\/+$/, ''));
  if (url.hostname === 'api.github.com') return 'https://github.com';
  if (/^api\.[^.]+\.ghe\.com$/.test(url.hostname)) return `${url.protocol}//${url.host.slice('api.'.length)}`;
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/api\/v3$/, '')}`.replace(/\/+$/, '');
}
