/** The query parameter a load balancer hashes WebSocket and SSE requests by. */
export const tenantParameter = 'tenant';

/**
 * `url` with the `tenant` query parameter set to `tenant` (replacing one it
 * had), and otherwise unchanged: path, other parameters in their order, and
 * fragment. A load balancer that hashes requests by this parameter brings one
 * tenant's subscribers together on few replicas, which then receive only that
 * tenant's events; the server itself ignores it. `undefined` returns `url` as
 * it is. Works on absolute and relative URLs alike, e.g. for an `EventSource`:
 *
 * @example
 * new EventSource(withTenantHint(`/graphql?query=${encodeURIComponent(subscription)}`, companyId));
 */
export function withTenantHint(url: string, tenant: string | undefined): string {
  if (tenant === undefined) return url;
  if (typeof tenant !== 'string' || tenant === '') {
    throw new TypeError(`Expected \`tenant\` to be a non-empty string, got ${JSON.stringify(tenant)}`);
  }
  const hashAt = url.indexOf('#');
  const base = hashAt === -1 ? url : url.slice(0, hashAt);
  const fragment = hashAt === -1 ? '' : url.slice(hashAt);
  const queryAt = base.indexOf('?');
  const path = queryAt === -1 ? base : base.slice(0, queryAt);
  const pair = `${tenantParameter}=${encodeURIComponent(tenant)}`;
  if (queryAt === -1) return `${path}?${pair}${fragment}`;
  const params = base.slice(queryAt + 1).split('&');
  const isTenant = (param: string): boolean =>
    param === tenantParameter || param.startsWith(`${tenantParameter}=`);
  const kept = params.filter((param) => !isTenant(param));
  // In the place of the first one it had, or last: nothing else moves.
  const at = params.findIndex(isTenant);
  if (at === -1) return `${base}${base.endsWith('?') || base.endsWith('&') ? '' : '&'}${pair}${fragment}`;
  kept.splice(at, 0, pair);
  return `${path}?${kept.join('&')}${fragment}`;
}
