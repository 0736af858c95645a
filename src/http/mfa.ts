import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayDeps } from './deps.js';
import type { Session } from './session.js';
import type { SecondFactor, User } from '../identity/user.js';
import { createFlowCookie, type FlowCookie } from '../crypto/flow-cookie.js';
import { createEnrolmentStore } from '../mfa/enrolments.js';
import { createSecondFactorService, type SecondFactorService } from '../mfa/second-factor.js';
import { AUTHN_CONTEXT_MFA, AUTHN_CONTEXT_PASSWORD } from '../saml/assertion.js';
import { sendMessage } from './pages.js';
import { peerOf } from './peer.js';

// The second factor's hooks into the login and the hand-off: after a correct password
// (ask for the second factor when the user has one), before an assertion (a role with
// requireMfa, or identity.mfa: required, needs a session that proved one), and the
// AuthnContextClassRef that says which happened. The pages are in routes/mfa-login.ts
// and routes/account-security.ts; the rules in src/mfa/.

/** Between a correct password and the second factor: who, where to, and the form token. */
export interface PendingSecondFactor {
  readonly user: User;
  readonly returnTo: string;
  readonly csrf: string;
}

export interface MfaHooks {
  /** undefined when identity.mfa is off. */
  readonly service: SecondFactorService | undefined;
  readonly pending: FlowCookie<PendingSecondFactor>;
  /** Whether this user signs in with a password here (local, LDAP) and so can use the gateway's second factor. */
  usesGatewayFactor(user: User): boolean;
  /**
   * After a correct password: true when it answered (a redirect to the second factor), false to finish the sign-in.
   * A boolean, not the reply: a FastifyReply is thenable, so an awaited one never comes back.
   */
  afterPassword(request: FastifyRequest, reply: FastifyReply, user: User, returnTo: string): Promise<boolean>;
  /** Before an assertion for these roles: a reply (step-up, enrolment, refusal) when the session lacks a needed second factor. */
  guard(request: FastifyRequest, reply: FastifyReply, session: Session, roleKeys: readonly string[]): FastifyReply | undefined;
  /** The AuthnContextClassRef for an assertion from this session. */
  classRef(session: Session): string;
  /** Replaces the session with one that proved `mfa` (the old one is revoked). */
  upgrade(reply: FastifyReply, session: Session, mfa: SecondFactor): Promise<Session>;
  audit(
    request: FastifyRequest,
    event: 'mfa.verified' | 'mfa.failed' | 'mfa.enrolled' | 'mfa.step-up',
    user: User,
    method: string,
    reason?: string,
  ): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    mfa: MfaHooks;
  }
}

const isPending = (p: Readonly<Record<string, unknown>>): boolean => {
  const u = p['user'] as Record<string, unknown> | undefined;
  return (
    typeof p['returnTo'] === 'string' &&
    typeof p['csrf'] === 'string' &&
    !!u &&
    typeof u['id'] === 'string' &&
    typeof u['username'] === 'string' &&
    typeof u['source'] === 'string' &&
    Array.isArray(u['groups'])
  );
};

export const mfaPlugin = fp<GatewayDeps & { sessionSecret: Buffer }>(
  async (app, deps) => {
    const { config } = deps;
    const cfg = config.identity.secondFactor;
    const base = new URL(config.server.baseUrl);
    const service =
      config.identity.mfa === 'off'
        ? undefined
        : createSecondFactorService({
            settings: {
              mode: config.identity.mfa,
              totpIssuer: cfg.totpIssuer,
              totpSkewSteps: cfg.totpSkewSteps,
              recoveryCodes: cfg.recoveryCodes,
              rp: { id: cfg.webauthnRpId ?? base.hostname, name: cfg.webauthnRpName, origin: base.origin },
            },
            enrolments: createEnrolmentStore(
              cfg.dir ?? join(dirname(config.identity.local.usersFile), 'mfa'),
              deps.sessionSecret,
              deps.now,
            ),
            store: deps.store,
            sessionSecret: deps.sessionSecret,
            now: deps.now,
          });
    const passwordKinds = new Set<string>(deps.sources.password.map((s) => s.kind));
    const pending = createFlowCookie<PendingSecondFactor>({
      name: `${config.session.cookieName}_mfa`,
      sealer: deps.completion.sealer('mfa-pending'),
      ttlSeconds: cfg.pendingSeconds,
      isShape: isPending,
      attributes: { httpOnly: true, sameSite: 'lax', secure: base.protocol === 'https:', path: '/login/mfa' },
      now: deps.now,
    });

    const audit: MfaHooks['audit'] = (request, event, user, method, reason) =>
      deps.audit({
        event,
        user: user.username,
        source: user.source,
        method,
        ...(reason ? { reason } : {}),
        ip: request.ip,
        peer: peerOf(request),
        reqId: request.id,
      });
    const usesGatewayFactor = (user: User) => service !== undefined && passwordKinds.has(user.source);

    const hooks: MfaHooks = {
      service,
      pending,
      usesGatewayFactor,
      audit,
      async afterPassword(_request, reply, user, returnTo) {
        if (!service || !usesGatewayFactor(user)) return false;
        // A store that cannot be read throws (503): never a sign-in on the password alone for someone who may have a factor.
        if (!(await service.hasSecondFactor(user))) return false;
        pending.begin(reply, { user: deps.slimUser(user), returnTo, csrf: randomBytes(24).toString('base64url') });
        void reply.redirect('/login/mfa', 303);
        return true;
      },
      guard(request, reply, session, roleKeys) {
        const byRole = roleKeys.some((k) => Object.hasOwn(config.roles, k) && config.roles[k]?.requireMfa === true);
        const user = session.user;
        const gateway = usesGatewayFactor(user);
        const needed = byRole || (gateway && config.identity.mfa === 'required');
        if (!needed || session.mfa) return undefined;
        const here = encodeURIComponent(request.url);
        audit(request, 'mfa.step-up', user, gateway ? 'gateway' : user.source, byRole ? 'role-requires-mfa' : 'mfa-required');
        if (gateway) return reply.redirect(`/login/mfa?returnTo=${here}`, 302);
        const upstream = deps.sources.redirect.find((s) => s.kind === user.source);
        if (upstream) {
          app.sessions.beginLogin(reply, request.url);
          return reply.redirect(`${upstream.startPath}?mfa=1`, 302);
        }
        deps.audit({
          event: 'assertion.denied',
          reason: 'mfa-required',
          user: user.username,
          ip: request.ip,
          peer: peerOf(request),
          reqId: request.id,
        });
        app.metrics.assertionsDenied.inc({ reason: 'mfa-required' });
        return sendMessage(
          reply,
          403,
          'Second factor required',
          'This role needs a second factor, and the way you signed in cannot provide one. Ask your administrator.',
        );
      },
      classRef: (session) => (session.mfa ? AUTHN_CONTEXT_MFA : AUTHN_CONTEXT_PASSWORD),
      async upgrade(reply, session, mfa) {
        await app.sessions.end(reply, session);
        return app.sessions.start(reply, session.user, { mfa });
      },
    };
    app.decorate('mfa', hooks);
  },
  { name: 'pai-sso-mfa', dependencies: ['pai-sso-session', 'pai-sso-metrics'] },
);
