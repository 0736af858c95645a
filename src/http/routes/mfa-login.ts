import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import type { SecondFactor } from '../../identity/user.js';
import type { PendingSecondFactor } from '../mfa.js';
import type { Verdict } from '../../mfa/second-factor.js';
import { asAuthenticationResponse } from '../../mfa/webauthn.js';
import { constantTimeEqual } from '../../crypto/constant-time.js';
import { challengePage } from '../mfa-views.js';
import { newNonce, safeReturnTo, sendHtml, sendMessage } from '../pages.js';
import { StoreUnavailableError } from '../../state/store.js';
import { sendThrottleUnavailable, TOO_MANY } from '../login-throttle.js';

// The second step of a sign-in: after a correct password (the pending cookie) or, for a
// signed-in user whose role needs a second factor, as a step-up. Every try goes through the
// login throttle under the username, so wrong codes count toward the same lockout as wrong
// passwords; a success clears it.

const CODE = { type: 'string', minLength: 1, maxLength: 64 } as const;
const CSRF = { type: 'string', minLength: 1, maxLength: 128 } as const;

export const mfaLoginRoutes: FastifyPluginAsync<GatewayDeps> = async (app, deps) => {
  const service = app.mfa.service;
  if (!service) return;
  const { pending } = app.mfa;

  const render = async (reply: FastifyReply, status: number, p: PendingSecondFactor, error?: string) => {
    const e = await service.enrolment(p.user);
    const passkeyOptions = e && e.passkeys.length > 0 ? await service.passkeyAuthenticationOptions(p.user) : undefined;
    const nonce = newNonce();
    return sendHtml(
      reply,
      status,
      nonce,
      challengePage(nonce, { csrf: p.csrf, totp: !!e?.totp, passkeyOptions, recoveryLeft: e?.recovery.length ?? 0, error }),
    );
  };

  app.get<{ Querystring: { returnTo?: string } }>(
    '/login/mfa',
    {
      schema: {
        querystring: { type: 'object', properties: { returnTo: { type: 'string', maxLength: 1024 } }, additionalProperties: false },
      },
    },
    async (request, reply) => {
      let p = pending.read(request);
      const session = request.session;
      // A step-up: the signed-in user proves their second factor now.
      if (!p && session && !session.mfa && app.mfa.usesGatewayFactor(session.user)) {
        const returnTo = safeReturnTo(request.query.returnTo);
        if (!(await service.hasSecondFactor(session.user)))
          return reply.redirect(`/account/security?returnTo=${encodeURIComponent(returnTo)}`, 302);
        p = pending.begin(reply, { user: session.user, returnTo, csrf: randomBytes(24).toString('base64url') });
      }
      if (!p) return reply.redirect('/login', 302);
      return render(reply, 200, p);
    },
  );

  /** The common path of every factor: the pending sign-in, the throttle, the check, the outcome. */
  const verify = async (
    request: FastifyRequest<{ Body: { csrf: string } }>,
    reply: FastifyReply,
    method: SecondFactor,
    check: (p: PendingSecondFactor) => Promise<Verdict>,
  ): Promise<FastifyReply> => {
    const p = pending.read(request);
    if (!p || !constantTimeEqual(p.csrf, request.body.csrf)) {
      if (p) app.mfa.audit(request, 'mfa.failed', p.user, method, 'csrf');
      return sendMessage(reply, 403, 'Sign-in expired', 'The sign-in took too long or the form expired. Please sign in again.');
    }
    const user = p.user;
    try {
      const verdict = await app.loginThrottle.admit(user.username, request.ip);
      if ('blocked' in verdict) {
        app.loginThrottle.refused(request, verdict.blocked, user.username);
        reply.header('retry-after', String(verdict.blocked.retryAfterSeconds));
        return await render(reply, 429, p, TOO_MANY(verdict.blocked.retryAfterSeconds));
      }
      const result = await check(p);
      if (!result.ok) {
        app.mfa.audit(request, 'mfa.failed', user, method, result.reason);
        app.metrics.logins.inc({ result: 'failed' });
        app.loginThrottle.locked(request, await app.loginThrottle.failed(verdict.admitted), user.username);
        return await render(reply, 401, p, 'That did not work. Try again.');
      }
      await app.loginThrottle.succeeded(verdict.admitted);
    } catch (err) {
      if (err instanceof StoreUnavailableError) return sendThrottleUnavailable(request, reply, err);
      throw err;
    }
    app.mfa.audit(request, 'mfa.verified', user, method);
    pending.end(reply);
    // A step-up replaces the signed-in session: the old one (password only) is revoked.
    if (request.session && request.session.user.id === user.id) await app.sessions.end(reply, request.session);
    return deps.completion.succeed(request, reply, user, p.returnTo, { mfa: method });
  };

  const form = (extra: Record<string, unknown>) => ({
    body: {
      type: 'object',
      required: ['csrf', ...Object.keys(extra)],
      properties: { csrf: CSRF, ...extra },
      additionalProperties: false,
    },
  });

  app.post<{ Body: { csrf: string; code: string } }>('/login/mfa/totp', { schema: form({ code: CODE }) }, async (request, reply) =>
    verify(request, reply, 'totp', (p) => service.verifyTotp(p.user, request.body.code)),
  );

  app.post<{ Body: { csrf: string; code: string } }>('/login/mfa/recovery', { schema: form({ code: CODE }) }, async (request, reply) =>
    verify(request, reply, 'recovery', (p) => service.verifyRecovery(p.user, request.body.code)),
  );

  app.post<{ Body: { csrf: string; credential: string } }>(
    '/login/mfa/passkey',
    { schema: form({ credential: { type: 'string', minLength: 2, maxLength: 16384 } }) },
    async (request, reply) =>
      verify(request, reply, 'webauthn', async (p) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(request.body.credential);
        } catch {
          return { ok: false, reason: 'malformed-credential' };
        }
        const response = asAuthenticationResponse(parsed);
        if (!response) return { ok: false, reason: 'malformed-credential' };
        return service.verifyPasskey(p.user, response);
      }),
  );
};
