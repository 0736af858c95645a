import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { StateStore } from '../state/store.js';
import type { Authn, SourceKind, SourceStatus, User } from './user.js';

// The contracts between the HTTP layer and the identity sources. They name Fastify types
// (a redirect source brings its own routes), so they live here and not beside `User`.

interface SourceBase {
  readonly kind: SourceKind;
  /** Shown on the login chooser. */
  readonly label: string;
  /** For /readyz: can this source sign anyone in right now? */
  ready(): Promise<SourceStatus>;
  close(): Promise<void>;
  /**
   * Config-load hint: a warning when a mapping names a group in a form this source
   * never emits (a name where it sends GUIDs), or undefined.
   */
  checkMappingGroup?(group: string): string | undefined;
}

/** Username and password through our own form (local directory, LDAP). */
export interface PasswordSource extends SourceBase {
  readonly type: 'password';
  /** Resolves to the user, or undefined for any failure a user could cause. Throws when the source is down. */
  authenticate(username: string, password: string): Promise<User | undefined>;
  /**
   * Re-reads a signed-in user's groups without their password (group freshness). Resolves to
   * the user as the directory has them now, or undefined when they no longer exist. Throws when the source is down.
   */
  refresh?(user: User): Promise<User | undefined>;
}

/** What the gateway offers a redirect source's routes to finish or refuse a login. */
export interface LoginCompletion {
  /** Starts the session and redirects to where the user was going; `authn` says what else was proven (a second factor). */
  succeed(request: FastifyRequest, reply: FastifyReply, user: User, returnTo: string, authn?: Authn): Promise<FastifyReply>;
  /** A 4xx page and a `login.failed` audit line; never an assertion. */
  fail(request: FastifyRequest, reply: FastifyReply, status: number, reason: string, user?: string): FastifyReply;
  /** Where the user was going (the login flow cookie), or '/'. */
  returnTo(request: FastifyRequest): string;
  /** AES-GCM sealed cookie helpers bound to the session secret, one purpose each. */
  sealer(purpose: string): { seal(value: unknown): string; open(token: string): unknown };
}

/** The user is sent to an upstream IdP and comes back (OIDC, SAML). */
export interface RedirectSource extends SourceBase {
  readonly type: 'redirect';
  /** GET path that starts the upstream login; `?returnTo=` is passed through the login flow. */
  readonly startPath: string;
  /** Where the upstream IdP sends the browser back: throttled per client address. */
  readonly callbackPath: string;
  /** The routes (start, callback, metadata) registered under the gateway; `store` is the shared state. */
  readonly routes: FastifyPluginAsync<{ completion: LoginCompletion; store: StateStore }>;
}

export type Identified = { readonly user: User } | { readonly rejected: string } | undefined;

/** Identity taken from each request (a trusted authenticating proxy). */
export interface RequestSource extends SourceBase {
  readonly type: 'request';
  /** undefined: the request carries no identity; rejected: it carries one we refuse. */
  identify(request: FastifyRequest): Identified;
}

export type IdentitySource = PasswordSource | RedirectSource | RequestSource;
