import { BlockList, isIP } from 'node:net';
import { constantTimeEqual } from '../crypto/constant-time.js';
import type { FastifyRequest } from 'fastify';
import type { HeaderIdentityConfig } from '../config/schema.js';
import type { ConfigProblem } from '../config/errors.js';
import type { Identified, RequestSource } from './source.js';
import { HeaderSourceError } from './errors.js';
import { settle, settledOrThrow, type Settled } from './settings.js';

export { HeaderSourceError };

/** Adds one trusted address or CIDR to `list`; throws HeaderSourceError on anything else. */
function addTrusted(list: BlockList, entry: string): void {
  const [addr = '', bits, extra] = entry.split('/');
  const family = isIP(addr) === 6 ? 'ipv6' : isIP(addr) === 4 ? 'ipv4' : undefined;
  const maxBits = family === 'ipv6' ? 128 : 32;
  const prefix = bits === undefined ? undefined : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!family || extra !== undefined || (prefix !== undefined && !(prefix <= maxBits))) {
    throw new HeaderSourceError('PAI_SSO_HEADER_TRUSTED_SOURCE', `"${entry}" is not an IP address or CIDR`);
  }
  if (prefix === undefined) list.addAddress(addr, family);
  else list.addSubnet(addr, prefix, family);
}

export interface HeaderSettings {
  readonly secret: string;
  readonly trusted: BlockList;
}

/** The shared secret from the environment and the trusted proxy addresses; no network. */
export function readHeaderSettings(cfg: HeaderIdentityConfig, env: NodeJS.ProcessEnv): Settled<HeaderSettings> {
  const problems: ConfigProblem[] = [];
  const secret = env[cfg.secretEnv];
  if (!secret || secret.length < 16) {
    problems.push({
      path: 'identity.header.secretEnv',
      reason: `environment variable ${cfg.secretEnv} must hold the proxy's shared secret (16+ characters)`,
    });
  }
  const trusted = new BlockList();
  cfg.trustedSources.forEach((entry, i) => {
    try {
      addTrusted(trusted, entry);
    } catch (err) {
      if (!(err instanceof HeaderSourceError)) throw err;
      problems.push({ path: `identity.header.trustedSources.${i}`, reason: err.message });
    }
  });
  return settle(problems, () => ({ secret: secret as string, trusted }));
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * The first of `names` (lower-case) that the request carries more than once. Node joins
 * repeated headers with ", " before we see them, so `X-Forwarded-Groups: a` twice would
 * read as one list; only the raw header list tells a repeat from one value with a comma.
 */
export function repeatedHeader(rawHeaders: readonly string[], names: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    if (!names.includes(name)) continue;
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

/**
 * Identity asserted by an authenticating reverse proxy (oauth2-proxy, an ingress).
 * Trusted only from configured addresses and only with the shared secret: anyone who
 * can reach us directly could otherwise type `X-Forwarded-User: ceo`.
 */
export function createHeaderSource(cfg: HeaderIdentityConfig, env: NodeJS.ProcessEnv): RequestSource {
  const { secret, trusted } = settledOrThrow('identity.header', readHeaderSettings(cfg, env));
  const h = (name: string) => name.toLowerCase();
  const identityHeaders = [cfg.userHeader, cfg.secretHeader, cfg.groupsHeader, cfg.emailHeader, cfg.nameHeader]
    .filter((n): n is string => n !== undefined)
    .map(h);

  const fromTrustedPeer = (request: FastifyRequest): boolean => {
    // The socket peer, not request.ip: X-Forwarded-For is the very thing a forger writes.
    const peer = request.raw.socket.remoteAddress ?? '';
    const addr = peer.startsWith('::ffff:') ? peer.slice(7) : peer;
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    return isIP(addr) !== 0 && trusted.check(addr, family);
  };

  return {
    kind: 'header',
    type: 'request',
    label: cfg.label,
    identify(request): Identified {
      const user = first(request.headers[h(cfg.userHeader)]);
      if (user === undefined) return undefined;
      if (!fromTrustedPeer(request)) return { rejected: 'untrusted-source' };
      // Any identity header twice: the proxy did not write this request alone (or forwards a client's header).
      if (repeatedHeader(request.raw.rawHeaders, identityHeaders) !== undefined) return { rejected: 'duplicate-header' };
      if (!constantTimeEqual(first(request.headers[h(cfg.secretHeader)]) ?? '', secret)) return { rejected: 'bad-proxy-secret' };
      if (!/^[^\s\u0000-\u001f]{1,256}$/.test(user)) return { rejected: 'malformed-user' };
      const groupsRaw = first(request.headers[h(cfg.groupsHeader)]) ?? '';
      const groups = groupsRaw
        .split(cfg.groupsSeparator)
        .map((g) => g.trim())
        .filter((g) => g.length > 0 && g.length <= 256);
      const email = first(request.headers[h(cfg.emailHeader)]);
      const name = cfg.nameHeader ? first(request.headers[h(cfg.nameHeader)]) : undefined;
      return { user: { id: user, username: user, displayName: name ?? user, email, groups, source: 'header' } };
    },
    async ready() {
      return { ok: true };
    },
    async close() {},
  };
}
