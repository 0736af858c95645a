import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import { loginPage, messagePage } from '../views.js';
import { newNonce, safeReturnTo, sendHtml } from '../pages.js';
import { clip } from '../../audit/audit.js';

interface LoginBody {
  username: string;
  password: string;
  csrf: string;
}

const tokensEqual = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const GENERIC_FAILURE = 'Wrong username or password.';

export const loginRoutes: FastifyPluginAsync<GatewayDeps> = async (app, deps) => {
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
      const nonce = newNonce();
      return sendHtml(reply, 200, nonce, loginPage(nonce, { csrf: flow.csrf }));
    },
  );

  app.post<{ Body: LoginBody }>(
    '/login',
    {
      config: { rateLimit: { max: deps.config.server.loginAttemptsPerMinute, timeWindow: 60_000 } },
      schema: {
        body: {
          type: 'object',
          required: ['username', 'password', 'csrf'],
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 256 },
            password: { type: 'string', minLength: 1, maxLength: 1024 },
            csrf: { type: 'string', minLength: 1, maxLength: 128 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { username, password, csrf } = request.body;
      const nonce = newNonce();
      const flow = app.sessions.loginFlow(request);
      if (!flow || !tokensEqual(flow.csrf, csrf)) {
        deps.audit({ event: 'login.failed', reason: 'csrf', user: clip(username), ip: request.ip, reqId: request.id });
        app.metrics.logins.inc({ result: 'csrf' });
        const fresh = app.sessions.beginLogin(reply, flow?.returnTo ?? '/');
        return sendHtml(reply, 403, nonce, loginPage(nonce, { csrf: fresh.csrf, error: 'The sign-in form expired. Please try again.' }));
      }
      let user;
      try {
        user = await deps.identity.authenticate(username, password);
      } catch (err) {
        request.log.error({ err: { message: (err as Error).message } }, 'identity source failed');
        deps.audit({ event: 'login.failed', reason: 'source-unavailable', user: clip(username), ip: request.ip, reqId: request.id });
        app.metrics.logins.inc({ result: 'error' });
        return sendHtml(reply, 503, nonce, messagePage(nonce, 'Sign-in unavailable', 'The user directory cannot be reached. Try again shortly.'));
      }
      if (!user) {
        deps.audit({ event: 'login.failed', reason: 'bad-credentials', user: clip(username), ip: request.ip, reqId: request.id });
        app.metrics.logins.inc({ result: 'failed' });
        // Same status, page and timing whether or not the user exists.
        return sendHtml(reply, 401, nonce, loginPage(nonce, { csrf: flow.csrf, error: GENERIC_FAILURE, username }));
      }
      app.sessions.endLogin(reply);
      const session = app.sessions.start(reply, user);
      deps.audit({ event: 'login.succeeded', user: user.username, userId: user.id, groups: session.user.groups, ip: request.ip, reqId: request.id });
      app.metrics.logins.inc({ result: 'succeeded' });
      return reply.redirect(safeReturnTo(flow.returnTo), 303);
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
    async (request, reply) => {
      const s = request.session;
      if (s && !tokensEqual(s.csrf, request.body.csrf)) {
        const nonce = newNonce();
        return sendHtml(reply, 403, nonce, messagePage(nonce, 'Not signed out', 'The sign-out form expired. Go back and try again.'));
      }
      if (s) deps.audit({ event: 'logout', user: s.user.username, ip: request.ip, reqId: request.id });
      app.sessions.end(reply);
      return reply.redirect('/login', 303);
    },
  );
};
