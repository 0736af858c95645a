import fp from 'fastify-plugin';
import cookie from '@fastify/cookie';
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { Audit } from '../audit/audit.js';
import { peerOf } from './peer.js';
import { createSealer } from '../crypto/sealer.js';
import { createFlowCookie } from '../crypto/flow-cookie.js';
import type { Authn, SecondFactor, User } from '../identity/user.js';
import type { SessionRecords } from '../state/sessions.js';

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
  /** The second factor this sign-in proved; absent: the password (or the upstream IdP) alone. */
  readonly mfa?: SecondFactor | undefined;
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
  /** Server-side records: every request with a session cookie checks its record (revocation). */
  readonly records: SessionRecords;
  /**
   * The user as the directory knows them now (the local source re-reads its file), or
   * undefined when they no longer exist; sources that cannot answer per request return the user unchanged.
   */
  readonly currentUser?: (user: User) => User | undefined;
  /** A refused session (revoked, user gone) is a decision: it gets an audit line. */
  readonly audit?: Audit;
  readonly now?: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in session, or undefined. Expired or tampered cookies read as undefined. */
    session: Session | undefined;
  }
  interface FastifyInstance {
    sessions: {
      /** Writes the server-side record, then the cookie; throws StoreUnavailableError when the store is down. */
      start(reply: FastifyReply, user: User, authn?: Authn): Promise<Session>;
      /** The same session with the user as the source has them now (group freshness). */
      withFreshUser(reply: FastifyReply, session: Session, user: User): Session;
      /** Revokes the session's record (when given) and clears the cookie. */
      end(reply: FastifyReply, session?: Session): Promise<void>;
      beginLogin(reply: FastifyReply, returnTo: string): LoginFlow;
      loginFlow(request: FastifyRequest): LoginFlow | undefined;
      endLogin(reply: FastifyReply): void;
    };
  }
}

const LOGIN_FLOW_SECONDS = 600;
// Rewriting the cookie on every request would be a Set-Cookie per response for no gain.
const TOUCH_AFTER_MS = 60_000;
// Probes and metadata never read a session: they answer without a store round trip, and
// while the store is down (a probe with a stale cookie must still see /readyz's reason).
const NO_SESSION = new Set(['/healthz', '/readyz', '/metrics', '/saml/metadata']);

const randomToken = () => randomBytes(24).toString('base64url');

function isSession(v: unknown): v is Session {
  if (!v || typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  const u = s['user'] as Record<string, unknown> | undefined;
  return (
    typeof s['sid'] === 'string' &&
    typeof s['authTime'] === 'number' &&
    typeof s['lastSeen'] === 'number' &&
    typeof s['csrf'] === 'string' &&
    !!u &&
    typeof u['id'] === 'string' &&
    typeof u['username'] === 'string' &&
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
      async start(reply, user, authn) {
        const t = now();
        const s: Session = {
          sid: randomToken(),
          user: opts.slimUser(user),
          authTime: t,
          groupsAt: t,
          lastSeen: t,
          csrf: randomToken(),
          ...(authn?.mfa ? { mfa: authn.mfa } : {}),
        };
        await opts.records.create(s.sid, s.user, t, t + opts.absoluteTimeoutSeconds * 1000);
        write(reply, s);
        return s;
      },
      withFreshUser(reply, session, user) {
        const t = now();
        const s: Session = { ...session, user: opts.slimUser(user), groupsAt: t, lastSeen: t };
        write(reply, s);
        return s;
      },
      async end(reply, session) {
        reply.clearCookie(opts.cookieName, base);
        if (session) await opts.records.revoke(session.sid);
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
      if (!raw || NO_SESSION.has(request.routeOptions.url ?? '')) return;
      const opened = sessionSealer.open(raw);
      const t = now();
      if (
        !isSession(opened) ||
        t - opened.authTime > opts.absoluteTimeoutSeconds * 1000 ||
        t - opened.lastSeen > opts.idleTimeoutSeconds * 1000 ||
        opened.lastSeen > t + 60_000
      ) {
        reply.clearCookie(opts.cookieName, base);
        return;
      }
      // The record (one store round trip; a StoreUnavailableError ends as a 503 page), then the
      // directory: a removed user or changed groups count from this request on, not the cookie's.
      let s: Session = opened;
      const check = await opts.records.check(s.sid, s.user);
      const current = check.ok ? (opts.currentUser ? opts.currentUser(s.user) : s.user) : undefined;
      if (!current) {
        opts.audit?.({
          event: 'session.refused',
          user: s.user.username,
          sid: s.sid,
          reason: check.ok ? 'user-gone' : check.reason,
          ip: request.ip,
          peer: peerOf(request),
          reqId: request.id,
        });
        reply.clearCookie(opts.cookieName, base);
        return;
      }
      if (current !== s.user) s = { ...s, user: opts.slimUser(current) };
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
