import fp from 'fastify-plugin';
import cookie from '@fastify/cookie';
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createSealer } from './sealed-cookie.js';
import { createFlowCookie } from '../crypto/flow-cookie.js';
import type { User } from '../identity/user.js';

export interface Session {
  readonly sid: string;
  readonly user: User;
  /** When the user proved who they are (ms); AuthnInstant. */
  readonly authTime: number;
  /** When the user's groups were read from the source (ms); absent in older cookies: authTime. */
  readonly groupsAt?: number;
  readonly lastSeen: number;
  /** Per-session token for state-changing forms (logout). */
  readonly csrf: string;
}

export interface LoginFlow {
  readonly csrf: string;
  readonly returnTo: string;
  readonly exp: number;
}

export interface SessionOptions {
  readonly secret: Buffer;
  readonly cookieName: string;
  readonly idleTimeoutSeconds: number;
  readonly absoluteTimeoutSeconds: number;
  readonly secure: boolean;
  /** Keeps cookies small: only groups the mappings mention are stored. */
  readonly slimUser: (user: User) => User;
  readonly now?: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in session, or undefined. Expired or tampered cookies read as undefined. */
    session: Session | undefined;
  }
  interface FastifyInstance {
    sessions: {
      start(reply: FastifyReply, user: User): Session;
      /** The same session with the user as the source has them now (group freshness). */
      withFreshUser(reply: FastifyReply, session: Session, user: User): Session;
      end(reply: FastifyReply): void;
      beginLogin(reply: FastifyReply, returnTo: string): LoginFlow;
      loginFlow(request: FastifyRequest): LoginFlow | undefined;
      endLogin(reply: FastifyReply): void;
    };
  }
}

const LOGIN_FLOW_SECONDS = 600;
// Rewriting the cookie on every request would be a Set-Cookie per response for no gain.
const TOUCH_AFTER_MS = 60_000;

const randomToken = () => randomBytes(24).toString('base64url');

function isSession(v: unknown): v is Session {
  if (!v || typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  const u = s['user'] as Record<string, unknown> | undefined;
  return (
    typeof s['sid'] === 'string' && typeof s['authTime'] === 'number' && typeof s['lastSeen'] === 'number' &&
    typeof s['csrf'] === 'string' && !!u && typeof u['id'] === 'string' && typeof u['username'] === 'string' &&
    Array.isArray(u['groups'])
  );
}

const isLoginFlow = (f: Readonly<Record<string, unknown>>): boolean => typeof f['csrf'] === 'string' && typeof f['returnTo'] === 'string';

export const sessionPlugin = fp<SessionOptions>(
  async (app, opts) => {
    await app.register(cookie);
    const now = opts.now ?? Date.now;
    const sessionSealer = createSealer(opts.secret, `session:${opts.cookieName}`);
    const base = { httpOnly: true, sameSite: 'lax' as const, secure: opts.secure, path: '/' };
    const loginFlow = createFlowCookie<Omit<LoginFlow, 'exp'>>({
      name: `${opts.cookieName}_login`,
      sealer: createSealer(opts.secret, `login:${opts.cookieName}`),
      ttlSeconds: LOGIN_FLOW_SECONDS,
      isShape: isLoginFlow,
      attributes: base,
      now,
    });

    const write = (reply: FastifyReply, s: Session) => {
      reply.setCookie(opts.cookieName, sessionSealer.seal(s), {
        ...base,
        maxAge: Math.max(0, Math.floor((s.authTime + opts.absoluteTimeoutSeconds * 1000 - now()) / 1000)),
      });
    };

    app.decorateRequest('session', undefined);
    app.decorate('sessions', {
      start(reply, user) {
        const t = now();
        const s: Session = {
          sid: randomToken(),
          user: opts.slimUser(user),
          authTime: t,
          groupsAt: t,
          lastSeen: t,
          csrf: randomToken(),
        };
        write(reply, s);
        return s;
      },
      withFreshUser(reply, session, user) {
        const t = now();
        const s: Session = { ...session, user: opts.slimUser(user), groupsAt: t, lastSeen: t };
        write(reply, s);
        return s;
      },
      end(reply) {
        reply.clearCookie(opts.cookieName, base);
      },
      beginLogin(reply, returnTo) {
        return loginFlow.begin(reply, { csrf: randomToken(), returnTo });
      },
      loginFlow(request) {
        return loginFlow.read(request);
      },
      endLogin(reply) {
        loginFlow.end(reply);
      },
    });

    app.addHook('onRequest', async (request, reply) => {
      const raw = request.cookies[opts.cookieName];
      if (!raw) return;
      const s = sessionSealer.open(raw);
      const t = now();
      if (
        !isSession(s) ||
        t - s.authTime > opts.absoluteTimeoutSeconds * 1000 ||
        t - s.lastSeen > opts.idleTimeoutSeconds * 1000 ||
        s.lastSeen > t + 60_000
      ) {
        reply.clearCookie(opts.cookieName, base);
        return;
      }
      if (t - s.lastSeen > TOUCH_AFTER_MS) {
        const touched = { ...s, lastSeen: t };
        write(reply, touched);
        request.session = touched;
      } else {
        request.session = s;
      }
    });
  },
  { name: 'pai-sso-session', fastify: '5.x' },
);
