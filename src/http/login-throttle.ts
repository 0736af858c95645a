import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayDeps } from './deps.js';
import { messagePage } from './views.js';
import { newNonce, sendHtml } from './pages.js';
import { peerOf } from './peer.js';
import { clip } from '../audit/audit.js';
import { StoreUnavailableError } from '../state/store.js';
import { createLoginThrottle, type Blocked, type LockStarted, type LoginThrottle } from '../security/login-throttle.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Failed sign-in counts and lockouts, shared through the StateStore. */
    loginThrottle: LoginThrottle & {
      /** Audit line and metric for a refused try; the caller sends the page (with Retry-After). */
      refused(request: FastifyRequest, blocked: Blocked, user: string): void;
      /** Audit lines for lockouts a failure started. */
      locked(request: FastifyRequest, started: readonly LockStarted[], user: string): void;
    };
  }
}

/** "about 15 minutes", "30 seconds": the same words for everyone refused for the same time. */
export function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  if (seconds < 5400) return `about ${Math.round(seconds / 60)} minutes`;
  return `about ${Math.round(seconds / 3600)} hours`;
}

export const TOO_MANY = (seconds: number) => `Too many sign-in attempts. Try again in ${waitText(seconds)}.`;

/** A 429 with Retry-After: the page depends only on the wait, never on whether the user exists. */
export function sendThrottled(reply: FastifyReply, blocked: Blocked): FastifyReply {
  reply.header('retry-after', String(blocked.retryAfterSeconds));
  const nonce = newNonce();
  return sendHtml(reply, 429, nonce, messagePage(nonce, 'Too many attempts', TOO_MANY(blocked.retryAfterSeconds)));
}

/** Fail closed: with the store down nobody is let past the throttle. */
export function sendThrottleUnavailable(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  request.log.error(
    { err: { message: (err as Error).message, code: (err as { code?: unknown }).code } },
    'login throttle: state store unavailable',
  );
  const nonce = newNonce();
  return sendHtml(reply, 503, nonce, messagePage(nonce, 'Sign-in unavailable', 'Sign-in is unavailable right now. Try again shortly.'));
}

const path = (request: FastifyRequest) => request.routeOptions.url ?? request.url.split('?')[0] ?? '';

/**
 * The throttle for POST /login (called from the route, which knows the username) and,
 * per client address, for the upstream callbacks (OIDC redirect URI, SAML ACS): capped per
 * minute and checked before the body is read, and every 4xx they answer counts as a failure.
 */
export const loginThrottlePlugin = fp<GatewayDeps>(
  async (app, deps) => {
    const throttle = createLoginThrottle(deps.store, deps.config.server.loginThrottle, {
      attemptsPerMinute: deps.config.server.loginAttemptsPerMinute,
    });
    app.decorate('loginThrottle', {
      ...throttle,
      refused(request, blocked, user) {
        deps.audit({
          event: 'login.throttled',
          user: clip(user),
          scope: blocked.scope,
          locked: blocked.locked,
          retryAfter: blocked.retryAfterSeconds,
          path: path(request),
          ip: request.ip,
          peer: peerOf(request),
          reqId: request.id,
        });
        app.metrics.logins.inc({ result: 'throttled' });
      },
      locked(request, started, user) {
        for (const s of started) {
          deps.audit({
            event: 'login.locked',
            user: s.scope === 'username' ? clip(user) : '-',
            scope: s.scope,
            seconds: s.seconds,
            failures: s.failures,
            path: path(request),
            ip: request.ip,
            peer: peerOf(request),
            reqId: request.id,
          });
        }
      },
    });

    const callbacks = new Set(deps.sources.redirect.map((s) => s.callbackPath));
    if (callbacks.size === 0) return;

    app.addHook('onRequest', async (request, reply) => {
      if (!callbacks.has(request.routeOptions.url ?? '')) return;
      let blocked: Blocked | undefined;
      try {
        blocked = await throttle.admitCallback(request.ip);
      } catch (err) {
        if (err instanceof StoreUnavailableError) return sendThrottleUnavailable(request, reply, err);
        throw err;
      }
      if (!blocked) return;
      app.loginThrottle.refused(request, blocked, '-');
      return sendThrottled(reply, blocked);
    });

    // Counted before the answer leaves, so the next request already sees it.
    app.addHook('onSend', async (request, reply, payload) => {
      const status = reply.statusCode;
      if (status < 400 || status >= 500 || status === 429 || !callbacks.has(request.routeOptions.url ?? '')) return payload;
      try {
        app.loginThrottle.locked(request, await throttle.failedAddress(request.ip), '-');
      } catch (err) {
        // The request is already refused; only the count is lost.
        request.log.error({ err: { message: (err as Error).message } }, 'login throttle: failure not counted');
      }
      return payload;
    });
  },
  { name: 'pai-sso-login-throttle', dependencies: ['pai-sso-metrics'] },
);
