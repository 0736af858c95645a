import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayDeps } from './deps.js';
import type { Session } from './session.js';
import { messagePage } from './views.js';
import { newNonce, sendHtml } from './pages.js';
import { peerOf } from './peer.js';

/**
 * Group freshness, before anything is issued: a session whose groups were read more than
 * `session.groupsMaxAgeSeconds` ago has them read again from where they came from.
 *
 * - a password source with `refresh` (LDAP: a service-bind lookup; local: the users file
 *   as last reloaded): the session carries the groups as they are now; a user who no
 *   longer exists is signed out;
 * - the header source: the proxy's groups on this very request are current (the
 *   request-identity hook has already compared them); without them, a new sign-in;
 * - OIDC and upstream SAML: the cookie holds no token to ask the IdP with, so a new
 *   sign-in (the IdP's own session usually makes that a pair of redirects).
 *
 * Resolves to true when it answered (503: the directory is down; never the old groups
 * instead), otherwise false with request.session fresh, or cleared when the user has to
 * sign in again (the route then sends them to the login). Not the reply itself: a reply is
 * a thenable, so a promise of one resolves to undefined once it is sent.
 */
export async function refreshStaleGroups(
  app: FastifyInstance,
  deps: GatewayDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<boolean> {
  const session = request.session;
  if (!session) return false;
  if (deps.now() - (session.groupsAt ?? session.authTime) <= deps.config.session.groupsMaxAgeSeconds * 1000) return false;

  const kind = session.user.source;
  const audit = (result: 'updated' | 'user-gone' | 'sign-in-again' | 'unavailable', s: Session = session) =>
    deps.audit({
      event: 'groups.refresh',
      result,
      user: s.user.username,
      source: kind,
      ...(result === 'updated' ? { groups: s.user.groups } : {}),
      ip: request.ip,
      peer: peerOf(request),
      reqId: request.id,
    });
  const signInAgain = (result: 'user-gone' | 'sign-in-again') => {
    audit(result);
    // Without a session to revoke, end() only clears the cookie: there is nothing to wait for.
    void app.sessions.end(reply);
    request.session = undefined;
  };

  if (kind === 'header') {
    const found = deps.sources.request?.kind === 'header' ? deps.sources.request.identify(request) : undefined;
    if (!(found && 'user' in found && found.user.id === session.user.id)) signInAgain('sign-in-again');
    return false;
  }

  const source = deps.sources.password.find((s) => s.kind === kind);
  if (!source?.refresh) {
    signInAgain('sign-in-again');
    return false;
  }

  let user;
  try {
    user = await source.refresh(session.user);
  } catch (err) {
    request.log.error({ err: { message: (err as Error).message }, source: kind }, 'group refresh failed');
    audit('unavailable');
    const nonce = newNonce();
    sendHtml(reply, 503, nonce, messagePage(nonce, 'Sign-in unavailable', 'The user directory cannot be reached. Try again shortly.'));
    return true;
  }
  if (!user || user.id !== session.user.id) {
    signInAgain('user-gone');
    return false;
  }
  request.session = app.sessions.withFreshUser(reply, session, user);
  audit('updated', request.session);
  return false;
}
