import { isIP } from 'node:net';
import type { ConfigProblem } from './errors.js';

// Which peers may tell us the client's address (X-Forwarded-For). Only a list of
// addresses or CIDRs: a blanket `true` (or a hop count) would let anyone who reaches the
// gateway directly write their own address into audit lines and past the login throttle.

interface ProxySettings {
  readonly trustedProxies?: readonly string[] | undefined;
  readonly trustProxy?: boolean | string | readonly string[] | undefined;
}

/** Why one entry is not a usable proxy address or CIDR, or undefined when it is. */
export function cidrProblem(entry: string): string | undefined {
  const [addr = '', bits, extra] = entry.trim().split('/');
  const family = isIP(addr);
  if (family === 0 || extra !== undefined) return `"${entry}" is not an IPv4/IPv6 address or CIDR (10.0.0.0/8, 2001:db8::/32)`;
  if (bits === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${entry}": the prefix length must be 0..${max}`;
  if (Number(bits) === 0) return `"${entry}" trusts every address; list the proxies' own addresses or subnets`;
  return undefined;
}

/** The old `server.trustProxy` forms that are really address lists (a string may be comma-separated). */
function legacyEntries(trustProxy: ProxySettings['trustProxy']): string[] {
  if (typeof trustProxy === 'string')
    return trustProxy
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (Array.isArray(trustProxy)) return trustProxy.filter((s): s is string => typeof s === 'string').map((s) => s.trim());
  return [];
}

/** `path: reason` for every entry that is not an address or CIDR, and for `trustProxy: true`. */
export function trustedProxyProblems(server: ProxySettings): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (server.trustProxy === true) {
    out.push({
      path: 'server.trustProxy',
      reason: 'true would trust X-Forwarded-For from any peer; list your proxies in server.trustedProxies: [10.0.0.5, 10.1.0.0/16]',
    });
  }
  const legacy = legacyEntries(server.trustProxy);
  legacy.forEach((e, i) => {
    const reason = cidrProblem(e);
    const where = typeof server.trustProxy === 'string' ? 'server.trustProxy' : `server.trustProxy.${i}`;
    // A bare number was Fastify's hop count: it trusts whatever the nearest hops say, proxy or not.
    if (reason)
      out.push({
        path: where,
        reason: /^\d+$/.test(e) ? 'hop counts are not supported; list your proxies in server.trustedProxies' : reason,
      });
  });
  (Array.isArray(server.trustedProxies) ? server.trustedProxies : []).forEach((e: unknown, i) => {
    const reason = typeof e === 'string' ? cidrProblem(e) : 'must be a string';
    if (reason) out.push({ path: `server.trustedProxies.${i}`, reason });
  });
  return out;
}

/**
 * The list handed to Fastify's trustProxy (proxy-addr): request.ip is then the address the
 * nearest untrusted hop gave, and the socket peer whenever the peer is not a listed proxy.
 * `server.trustProxy` as a string or list is read as more entries of the same list.
 */
export function trustedProxyList(server: ProxySettings): string[] {
  return [...new Set([...(server.trustedProxies ?? []), ...legacyEntries(server.trustProxy)].map((e) => e.trim()))];
}
