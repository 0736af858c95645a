import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import type { Session } from '../session.js';
import type { SecondFactor } from '../../identity/user.js';
import { hasSecondFactor } from '../../mfa/enrolments.js';
import { asRegistrationResponse } from '../../mfa/webauthn.js';
import { constantTimeEqual } from '../../crypto/constant-time.js';
import { createFlowCookie } from '../../crypto/flow-cookie.js';
import { recoveryCodesPage, securityPage, totpSetupPage } from '../mfa-views.js';
import { newNonce, safeReturnTo, sendHtml, sendMessage } from '../pages.js';

// /account/security: a signed-in local or LDAP user enrols an authenticator app or a
// passkey and gets recovery codes. The first factor may be added on the password alone
// (there is nothing else to ask for: trust on first use, see docs/mfa.md); once a user
// has a factor, changes need a session that proved one. Enrolling proves possession, so
// the session is upgraded to a multi-factor one.

const CSRF = { type: 'string', minLength: 1, maxLength: 128 } as const;
const RETURN_TO = { type: 'string', maxLength: 1024 } as const;

interface TotpSetup {
  readonly secret: string;
  readonly returnTo: string;
}

export const accountSecurityRoutes: FastifyPluginAsync<GatewayDeps> = async (app, deps) => {
  const service = app.mfa.service;
  if (!service) return;
  const totpCookie = createFlowCookie<TotpSetup>({
    name: `${deps.config.session.cookieName}_totp`,
    sealer: deps.completion.sealer('mfa-totp-setup'),
    ttlSeconds: 600,
    isShape: (v) => typeof v['secret'] === 'string' && typeof v['returnTo'] === 'string',
    attributes: {
      httpOnly: true,
      sameSite: 'lax',
      secure: new URL(deps.config.server.baseUrl).protocol === 'https:',
      path: '/account/security',
    },
    now: deps.now,
  });

  const page = async (
    reply: FastifyReply,
    session: Session,
    opts: { status?: number; notice?: string; error?: string; returnTo?: string | undefined } = {},
  ) => {
    const nonce = newNonce();
    const managed = app.mfa.usesGatewayFactor(session.user);
    const e = managed ? await service.enrolment(session.user) : undefined;
    const canChange = managed && (!hasSecondFactor(e) || !!session.mfa);
    const returnTo = opts.returnTo !== undefined ? safeReturnTo(opts.returnTo) : undefined;
    return sendHtml(
      reply,
      opts.status ?? 200,
      nonce,
      securityPage(nonce, {
        displayName: session.user.displayName,
        csrf: session.csrf,
        managed,
        canChange,
        totp: !!e?.totp,
        passkeys: (e?.passkeys ?? []).map((p) => ({ label: p.label, createdAt: new Date(p.createdAt).toISOString().slice(0, 10) })),
        recoveryLeft: e?.recovery.length ?? 0,
        registrationOptions: canChange ? await service.passkeyRegistrationOptions(session.user) : undefined,
        notice: opts.notice,
        error: opts.error,
        returnTo,
      }),
    );
  };

  /** A signed-in local/LDAP session and its form token; with `change`, also the right to change factors. */
  // Wrapped, not the reply itself: a FastifyReply is thenable, so an awaited one never comes back.
  const allowed = async (
    request: FastifyRequest<{ Body: { csrf: string } }>,
    reply: FastifyReply,
  ): Promise<{ session: Session } | { answered: FastifyReply }> => {
    const session = request.session;
    if (!session) return { answered: reply.redirect('/login?returnTo=%2Faccount%2Fsecurity', 303) };
    if (!constantTimeEqual(session.csrf, request.body.csrf))
      return { answered: sendMessage(reply, 403, 'Form expired', 'The form expired. Go back and try again.') };
    if (!app.mfa.usesGatewayFactor(session.user))
      return { answered: sendMessage(reply, 404, 'Not found', 'There is nothing at this address.') };
    if (hasSecondFactor(await service.enrolment(session.user)) && !session.mfa) {
      app.mfa.audit(request, 'mfa.failed', session.user, 'enrolment', 'change-without-mfa');
      return {
        answered: sendMessage(reply, 403, 'Confirm it is you', 'Changing your second factor needs a sign-in with your current one first.'),
      };
    }
    return { session };
  };

  const enrolled = async (
    request: FastifyRequest,
    reply: FastifyReply,
    session: Session,
    method: SecondFactor,
    recoveryCodes: readonly string[] | undefined,
    returnTo: string,
  ) => {
    app.mfa.audit(request, 'mfa.enrolled', session.user, method);
    const upgraded = session.mfa ? session : await app.mfa.upgrade(reply, session, method);
    request.session = upgraded;
    if (!recoveryCodes) return page(reply, upgraded, { notice: 'Saved.', returnTo });
    const nonce = newNonce();
    return sendHtml(
      reply,
      200,
      nonce,
      recoveryCodesPage(nonce, {
        codes: recoveryCodes,
        continueTo: returnTo,
        intro: 'Your second factor is on. From now on you sign in with your password and it.',
      }),
    );
  };

  app.get<{ Querystring: { returnTo?: string } }>(
    '/account/security',
    { schema: { querystring: { type: 'object', properties: { returnTo: RETURN_TO }, additionalProperties: false } } },
    async (request, reply) => {
      const session = request.session;
      if (!session) return reply.redirect(`/login?returnTo=${encodeURIComponent(request.url)}`, 302);
      return page(reply, session, { returnTo: request.query.returnTo });
    },
  );

  app.post<{ Body: { csrf: string; returnTo?: string } }>(
    '/account/security/totp/begin',
    {
      schema: {
        body: { type: 'object', required: ['csrf'], properties: { csrf: CSRF, returnTo: RETURN_TO }, additionalProperties: false },
      },
    },
    async (request, reply) => {
      const checked = await allowed(request, reply);
      if ('answered' in checked) return checked.answered;
      const { session } = checked;
      const { secret, uri } = service.newTotp(session.user);
      totpCookie.begin(reply, { secret, returnTo: safeReturnTo(request.body.returnTo) });
      const nonce = newNonce();
      return sendHtml(reply, 200, nonce, totpSetupPage(nonce, { csrf: session.csrf, secret, uri }));
    },
  );

  app.post<{ Body: { csrf: string; code: string } }>(
    '/account/security/totp',
    {
      schema: {
        body: {
          type: 'object',
          required: ['csrf', 'code'],
          properties: { csrf: CSRF, code: { type: 'string', minLength: 1, maxLength: 16 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const checked = await allowed(request, reply);
      if ('answered' in checked) return checked.answered;
      const { session } = checked;
      const setup = totpCookie.read(request);
      if (!setup) return page(reply, session, { status: 400, error: 'The set-up expired. Start again.' });
      const result = await service.confirmTotp(session.user, setup.secret, request.body.code);
      if (!result.ok) {
        app.mfa.audit(request, 'mfa.failed', session.user, 'totp-enrolment', result.reason);
        const { secret, uri } = { secret: setup.secret, uri: service.newTotpUri(session.user, setup.secret) };
        const nonce = newNonce();
        return sendHtml(
          reply,
          400,
          nonce,
          totpSetupPage(nonce, { csrf: session.csrf, secret, uri, error: 'That code did not match. Check the key and try the next code.' }),
        );
      }
      totpCookie.end(reply);
      return enrolled(request, reply, session, 'totp', result.recoveryCodes, setup.returnTo);
    },
  );

  app.post<{ Body: { csrf: string; credential: string; label?: string; returnTo?: string } }>(
    '/account/security/passkey',
    {
      schema: {
        body: {
          type: 'object',
          required: ['csrf', 'credential'],
          properties: {
            csrf: CSRF,
            credential: { type: 'string', minLength: 2, maxLength: 16384 },
            label: { type: 'string', maxLength: 64 },
            returnTo: RETURN_TO,
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const checked = await allowed(request, reply);
      if ('answered' in checked) return checked.answered;
      const { session } = checked;
      let parsed: unknown;
      try {
        parsed = JSON.parse(request.body.credential);
      } catch {
        parsed = undefined;
      }
      const response = asRegistrationResponse(parsed);
      const label = (request.body.label ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim() || 'Passkey';
      const result = response
        ? await service.registerPasskey(session.user, response, label)
        : { ok: false as const, reason: 'malformed-credential' };
      if (!result.ok) {
        app.mfa.audit(request, 'mfa.failed', session.user, 'webauthn-enrolment', result.reason);
        return page(reply, session, { status: 400, error: 'The passkey could not be added. Try again.' });
      }
      return enrolled(request, reply, session, 'webauthn', result.recoveryCodes, safeReturnTo(request.body.returnTo));
    },
  );

  app.post<{ Body: { csrf: string } }>(
    '/account/security/recovery',
    { schema: { body: { type: 'object', required: ['csrf'], properties: { csrf: CSRF }, additionalProperties: false } } },
    async (request, reply) => {
      const checked = await allowed(request, reply);
      if ('answered' in checked) return checked.answered;
      const { session } = checked;
      if (!hasSecondFactor(await service.enrolment(session.user)))
        return page(reply, session, { status: 400, error: 'Set up a second factor first.' });
      const codes = await service.newRecoveryCodes(session.user);
      app.mfa.audit(request, 'mfa.enrolled', session.user, 'recovery-codes');
      const nonce = newNonce();
      return sendHtml(
        reply,
        200,
        nonce,
        recoveryCodesPage(nonce, { codes, continueTo: '/account/security', intro: 'Your old recovery codes no longer work.' }),
      );
    },
  );
};
