import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

export type SourceKind = 'local' | 'ldap' | 'oidc' | 'saml' | 'header';

/** The one shape every identity source hands to the rest of the gateway. */
export interface User {
  /** Stable, never reused; the default NameID. */
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly email?: string | undefined;
  /** Stable group identifiers as the source emits them (a DN, a GUID, a name). */
  readonly groups: readonly string[];
  /** Display names of groups, by identifier, where the source has them; mappings may use either. */
  readonly groupNames?: Readonly<Record<string, string>> | undefined;
  /** Which source vouched for this user. */
  readonly source: SourceKind;
}

export interface SourceStatus {
  readonly ok: boolean;
  readonly reason?: string;
}

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
}

/** What the gateway offers a redirect source's routes to finish or refuse a login. */
export interface LoginCompletion {
  /** Starts the session and redirects to where the user was going. */
  succeed(request: FastifyRequest, reply: FastifyReply, user: User, returnTo: string): Promise<FastifyReply>;
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
  /** The routes (start, callback, metadata) registered under the gateway. */
  readonly routes: FastifyPluginAsync<{ completion: LoginCompletion }>;
}

export type Identified = { readonly user: User } | { readonly rejected: string } | undefined;

/** Identity taken from each request (a trusted authenticating proxy). */
export interface RequestSource extends SourceBase {
  readonly type: 'request';
  /** undefined: the request carries no identity; rejected: it carries one we refuse. */
  identify(request: FastifyRequest): Identified;
}

export type IdentitySource = PasswordSource | RedirectSource | RequestSource;
