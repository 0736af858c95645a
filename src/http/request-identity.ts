import fp from 'fastify-plugin';
import type { GatewayDeps } from './deps.js';
import { messagePage } from './views.js';
import { newNonce, sendHtml } from './pages.js';
import { peerOf } from './peer.js';

const sameGroups = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

// Only the pages a person opens; probes, metadata and metrics never look at identity.
const USER_FACING = new Set(['/', '/sso/pai', '/login']);

/**
 * With a trusted proxy in front, every user-facing request says who the user is. The
 * proxy wins over an older cookie: when it names someone else, the session follows it.
 */
export const requestIdentityPlugin = fp<GatewayDeps>(
  async (app, deps) => {
    const source = deps.sources.request;
    if (!source) return;
    app.addHook('preHandler', async (request, reply) => {
      if (!USER_FACING.has(request.routeOptions.url ?? '')) return;
      const found = source.identify(request);
      if (found === undefined) return;
      if ('rejected' in found) {
        deps.audit({
          event: 'login.failed',
          reason: found.rejected,
          source: source.kind,
          user: '-',
          ip: request.ip,
          peer: peerOf(request),
          reqId: request.id,
        });
        app.metrics.logins.inc({ result: 'failed' });
        const nonce = newNonce();
        return sendHtml(
          reply,
          403,
          nonce,
          messagePage(nonce, 'Identity not accepted', 'This request carried an identity from a source the gateway does not trust.', false),
        );
      }
      // The proxy's groups on this request are the truth: a group removed upstream must
      // take its role away now, not when the cookie expires.
      const current = request.session;
      const slim = deps.slimUser(found.user);
      if (current && current.user.id === slim.id && current.user.source === slim.source && sameGroups(current.user.groups, slim.groups))
        return;
      const started = await app.sessions.start(reply, found.user);
      request.session = started;
      deps.audit({
        event: 'login.succeeded',
        user: found.user.username,
        userId: found.user.id,
        source: source.kind,
        groups: started.user.groups,
        ip: request.ip,
        peer: peerOf(request),
        reqId: request.id,
      });
      app.metrics.logins.inc({ result: 'succeeded' });
      return undefined;
    });
  },
  { name: 'pai-sso-request-identity', dependencies: ['pai-sso-session', 'pai-sso-metrics'] },
);
