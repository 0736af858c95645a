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
 * Resolves to a reply when it answered (503: the directory is down; never the old
 * groups instead), otherwise undefined with request.session fresh, or cleared when the
 * user has to sign in again (the route then sends them to the login).
 */
export async function refreshStaleGroups(
  app: FastifyInstance,
  deps: GatewayDeps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  const session = request.session;
  if (!session) return undefined;
  if (deps.now() - (session.groupsAt ?? session.authTime) <= deps.config.session.groupsMaxAgeSeconds * 1000) return undefined;

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
    app.sessions.end(reply);
    request.session = undefined;
    return undefined;
  };

  if (kind === 'header') {
    const found = deps.sources.request?.kind === 'header' ? deps.sources.request.identify(request) : undefined;
    found && 'user' in found && found.user.id === session.user.id ? undefined : signInAgain('sign-in-again'); return;
  }

  const source = deps.sources.password.find((s) => s.kind === kind);
  if (!source?.refresh) { signInAgain('sign-in-again'); return; }

  let user;
  try {
    user = await source.refresh(session.user);
  } catch (err) {
    request.log.error({ err: { message: (err as Error).message }, source: kind }, 'group refresh failed');
    audit('unavailable');
    const nonce = newNonce();
    return sendHtml(
      reply,
      503,
      nonce,
      messagePage(nonce, 'Sign-in unavailable', 'The user directory cannot be reached. Try again shortly.'),
    );
  }
  if (!user || user.id !== session.user.id) { signInAgain('user-gone'); return; }
  request.session = app.sessions.withFreshUser(reply, session, user);
  audit('updated', request.session);
  return undefined;
}
