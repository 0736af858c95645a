import type { Sealer } from './sealer.js';

/**
 * One-time, sealed, short-lived cookies that carry a login between two requests: the
 * login form's CSRF token, the OIDC state/nonce/PKCE verifier, the upstream SAML request
 * ID. Each holds a small record plus an expiry; this module alone writes the expiry and
 * refuses a record past it or of the wrong shape, so no caller can forget either check.
 *
 * The request and reply are described structurally (what @fastify/cookie adds), so
 * identity sources and the HTTP layer both use this without importing each other.
 */

export interface CookieAttributes {
  readonly path: string;
  readonly httpOnly: boolean;
  readonly secure: boolean;
  readonly sameSite: 'lax' | 'strict' | 'none';
}

export interface CookieReply {
  setCookie(name: string, value: string, options: CookieAttributes & { maxAge: number }): unknown;
  clearCookie(name: string, options: CookieAttributes): unknown;
}

export interface CookieRequest {
  readonly cookies: { readonly [name: string]: string | undefined };
}

/** A flow record as read back: what was stored, and when it stops being accepted (ms). */
export type Flow<T> = T & { readonly exp: number };

export interface FlowCookieSpec {
  readonly name: string;
  /** Bound to one purpose: a value sealed for another cookie does not open here. */
  readonly sealer: Sealer;
  readonly ttlSeconds: number;
  /** True when an opened record has the caller's fields (`exp` is checked here). */
  readonly isShape: (value: Readonly<Record<string, unknown>>) => boolean;
  readonly attributes: CookieAttributes;
  readonly now?: () => number;
}

export interface FlowCookie<T extends object> {
  /** Seals `value` with an expiry `ttlSeconds` from now and sets the cookie. */
  begin(reply: CookieReply, value: T): Flow<T>;
  /** The record, or undefined when absent, tampered with, of the wrong shape or expired. */
  read(request: CookieRequest): Flow<T> | undefined;
  end(reply: CookieReply): void;
}

export function createFlowCookie<T extends object>(spec: FlowCookieSpec): FlowCookie<T> {
  const now = spec.now ?? Date.now;
  return {
    begin(reply, value) {
      const flow: Flow<T> = { ...value, exp: now() + spec.ttlSeconds * 1000 };
      reply.setCookie(spec.name, spec.sealer.seal(flow), { ...spec.attributes, maxAge: spec.ttlSeconds });
      return flow;
    },
    read(request) {
      const raw = request.cookies[spec.name];
      const opened = raw ? spec.sealer.open(raw) : undefined;
      if (!opened || typeof opened !== 'object' || Array.isArray(opened)) return undefined;
      const record = opened as Readonly<Record<string, unknown>>;
      const exp = record['exp'];
      if (typeof exp !== 'number' || exp <= now() || !spec.isShape(record)) return undefined;
      return record as Flow<T>;
    },
    end(reply) {
      reply.clearCookie(spec.name, spec.attributes);
    },
  };
}
