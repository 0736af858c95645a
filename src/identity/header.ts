import { BlockList, isIP } from 'node:net';
import { constantTimeEqual } from '../crypto/constant-time.js';
import type { FastifyRequest } from 'fastify';
import type { HeaderIdentityConfig } from '../config/schema.js';
import type { Identified, RequestSource } from './source.js';

export class HeaderSourceError extends Error {
  override readonly name = 'HeaderSourceError';
}

function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const [addr = '', bits] = e.split('/');
    const family = isIP(addr) === 6 ? 'ipv6' : isIP(addr) === 4 ? 'ipv4' : undefined;
    if (!family) throw new HeaderSourceError(`identity.header.trustedSources: "${e}" is not an IP address or CIDR`);
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  }
  return list;
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * Identity asserted by an authenticating reverse proxy (oauth2-proxy, an ingress).
 * Trusted only from configured addresses and only with the shared secret: anyone who
 * can reach us directly could otherwise type `X-Forwarded-User: ceo`.
 */
export function createHeaderSource(cfg: HeaderIdentityConfig, env: NodeJS.ProcessEnv): RequestSource {
  const secret = env[cfg.secretEnv];
  if (!secret || secret.length < 16) {
    throw new HeaderSourceError(`identity.header: environment variable ${cfg.secretEnv} must hold the proxy's shared secret (16+ characters)`);
  }
  const trusted = blockListOf(cfg.trustedSources);
  const h = (name: string) => name.toLowerCase();

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
      if (!constantTimeEqual(first(request.headers[h(cfg.secretHeader)]) ?? '', secret)) return { rejected: 'bad-proxy-secret' };
      if (!/^[^\s\u0000-\u001f]{1,256}$/.test(user)) return { rejected: 'malformed-user' };
      const groupsRaw = first(request.headers[h(cfg.groupsHeader)]) ?? '';
      const groups = groupsRaw.split(cfg.groupsSeparator).map((g) => g.trim()).filter((g) => g.length > 0 && g.length <= 256);
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
