import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import type { User } from '../../identity/user.js';
import type { LoginCompletion, PasswordSource } from '../../identity/source.js';
import { constantTimeEqual } from '../../crypto/constant-time.js';
import { loginPage, type LoginChoices } from '../views.js';
import { newNonce, safeReturnTo, sendHtml, sendMessage } from '../pages.js';
import { clip, type Audit } from '../../audit/audit.js';
import { createSealer } from '../../crypto/sealer.js';
import { peerOf } from '../peer.js';
import { StoreUnavailableError } from '../../state/store.js';
import { sendThrottleUnavailable, TOO_MANY } from '../login-throttle.js';
import type { Admitted, Blocked } from '../../security/login-throttle.js';

interface LoginBody {
  username: string;
  password: string;
  csrf: string;
  source?: string;
}

const GENERIC_FAILURE = 'Wrong username or password.';

/** The one way any source turns a proven identity into a session (or refuses to). */
export function createCompletion(app: FastifyInstance, audit: Audit, secret: Buffer): LoginCompletion {
  return {
    async succeed(request, reply, user: User, returnTo, authn) {
      const session = await app.sessions.start(reply, user, authn);
      app.sessions.endLogin(reply);
      audit({
        event: 'login.succeeded',
        user: user.username,
        userId: user.id,
        source: user.source,
        groups: session.user.groups,
        ...(session.mfa ? { mfa: session.mfa } : {}),
        ip: request.ip,
        peer: peerOf(request),
        reqId: request.id,
      });
      app.metrics.logins.inc({ result: 'succeeded' });
      return reply.redirect(safeReturnTo(returnTo), 303);
    },
    fail(request, reply, status, reason, user) {
      audit({ event: 'login.failed', reason, user: clip(user ?? '-'), ip: request.ip, peer: peerOf(request), reqId: request.id });
      app.metrics.logins.inc({ result: 'failed' });
      return sendMessage(reply, status, 'Sign-in refused', 'The sign-in could not be completed. Start again from the portal.');
    },
    returnTo(request) {
      return app.sessions.loginFlow(request)?.returnTo ?? '/';
    },
    sealer(purpose) {
      return createSealer(secret, `upstream:${purpose}`);
    },
  };
}

export const loginRoutes: FastifyPluginAsync<GatewayDeps> = async (app, deps) => {
  const { password: passwordSources, redirect: redirectSources } = deps.sources;
  const choices: LoginChoices = {
    passwordSources: passwordSources.map((s) => ({ kind: s.kind, label: s.label })),
    redirects: redirectSources.map((s) => ({ label: s.label, href: s.startPath })),
  };
  const renderLogin = (reply: FastifyReply, status: number, csrf: string, extra: { error?: string; username?: string } = {}) => {
    const nonce = newNonce();
    return sendHtml(reply, status, nonce, loginPage(nonce, { csrf, choices, ...extra }));
  };
  const pickSource = (kind: string | undefined): PasswordSource | undefined =>
    kind === undefined ? passwordSources[0] : passwordSources.find((s) => s.kind === kind);

  app.get<{ Querystring: { returnTo?: string } }>(
    '/login',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { returnTo: { type: 'string', maxLength: 1024 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const returnTo = safeReturnTo(request.query.returnTo);
      if (request.session) return reply.redirect(returnTo, 303);
      const flow = app.sessions.beginLogin(reply, returnTo);
      const only = redirectSources[0];
      // Nothing to choose: straight to the upstream IdP.
      if (passwordSources.length === 0 && redirectSources.length === 1 && only) return reply.redirect(only.startPath, 302);
      if (passwordSources.length === 0 && redirectSources.length === 0) {
        return sendMessage(
          reply,
          401,
          'Sign in through the company portal',
          'This gateway takes your identity from the company proxy. Open it through the portal.',
          false,
        );
      }
      return renderLogin(reply, 200, flow.csrf);
    },
  );

  app.post<{ Body: LoginBody }>(
    '/login',
    {
      schema: {
        body: {
          type: 'object',
          required: ['username', 'password', 'csrf'],
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 256 },
            password: { type: 'string', minLength: 1, maxLength: 1024 },
            csrf: { type: 'string', minLength: 1, maxLength: 128 },
            source: { type: 'string', enum: passwordSources.length ? passwordSources.map((s) => s.kind) : ['-'] },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { username, password, csrf } = request.body;
      const flow = app.sessions.loginFlow(request);
      if (!flow || !constantTimeEqual(flow.csrf, csrf)) {
        deps.audit({
          event: 'login.failed',
          reason: 'csrf',
          user: clip(username),
          ip: request.ip,
          peer: peerOf(request),
          reqId: request.id,
        });
        app.metrics.logins.inc({ result: 'csrf' });
        const fresh = app.sessions.beginLogin(reply, flow?.returnTo ?? '/');
        return renderLogin(reply, 403, fresh.csrf, { error: 'The sign-in form expired. Please try again.' });
      }
      const source = pickSource(request.body.source);
      if (!source) return renderLogin(reply, 400, flow.csrf, { error: 'Choose a directory.' });
      // The throttle (per username and per address, shared through the store) decides before the password is looked at.
      let verdict: { admitted: Admitted } | { blocked: Blocked };
      try {
        verdict = await app.loginThrottle.admit(username, request.ip);
      } catch (err) {
        if (err instanceof StoreUnavailableError) return sendThrottleUnavailable(request, reply, err);
        throw err;
      }
      if ('blocked' in verdict) {
        app.loginThrottle.refused(request, verdict.blocked, username);
        reply.header('retry-after', String(verdict.blocked.retryAfterSeconds));
        return renderLogin(reply, 429, flow.csrf, { error: TOO_MANY(verdict.blocked.retryAfterSeconds), username });
      }
      const admitted = verdict.admitted;
      let user: User | undefined;
      try {
        user = await source.authenticate(username, password);
      } catch (err) {
        request.log.error({ err: { message: (err as Error).message }, source: source.kind }, 'identity source failed');
        deps.audit({
          event: 'login.failed',
          reason: 'source-unavailable',
          source: source.kind,
          user: clip(username),
          ip: request.ip,
          peer: peerOf(request),
          reqId: request.id,
        });
        app.metrics.logins.inc({ result: 'error' });
        return sendMessage(reply, 503, 'Sign-in unavailable', 'The user directory cannot be reached. Try again shortly.');
      }
      if (!user) {
        deps.audit({
          event: 'login.failed',
          reason: 'bad-credentials',
          source: source.kind,
          user: clip(username),
          ip: request.ip,
          peer: peerOf(request),
          reqId: request.id,
        });
        app.metrics.logins.inc({ result: 'failed' });
        app.loginThrottle.locked(request, await app.loginThrottle.failed(admitted), username);
        // Same status, page and timing whether or not the user exists.
        return renderLogin(reply, 401, flow.csrf, { error: GENERIC_FAILURE, username });
      }
      // With a second factor enrolled the try stays counted until that factor is right too.
      if (await app.mfa.afterPassword(request, reply, user, flow.returnTo)) return reply;
      await app.loginThrottle.succeeded(admitted);
      return deps.completion.succeed(request, reply, user, flow.returnTo);
    },
  );

  app.post<{ Body: { csrf: string } }>(
    '/logout',
    {
      schema: {
        body: {
          type: 'object',
          required: ['csrf'],
          properties: { csrf: { type: 'string', minLength: 1, maxLength: 128 } },
          additionalProperties: false,
        },
      },
    },
    async (request: FastifyRequest<{ Body: { csrf: string } }>, reply) => {
      const s = request.session;
      if (s && !constantTimeEqual(s.csrf, request.body.csrf)) {
        return sendMessage(reply, 403, 'Not signed out', 'The sign-out form expired. Go back and try again.');
      }
      // Revoked in the store before the answer: the same cookie is refused by every replica.
      await app.sessions.end(reply, s);
      if (s) deps.audit({ event: 'logout', user: s.user.username, sid: s.sid, ip: request.ip, peer: peerOf(request), reqId: request.id });
      return reply.redirect('/login', 303);
    },
  );
};
