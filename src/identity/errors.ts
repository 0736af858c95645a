import { PaiSsoError, type ErrorKind } from '../errors.js';

/**
 * Every error an identity source raises on purpose, with its stable code. The code
 * decides the kind, and the kind alone the exit code and HTTP status (src/errors.ts).
 * Settings a source cannot start with are not here: they are ConfigProblems, reported
 * together as one ConfigError by `pai-sso check` and by the source factories.
 */
const KIND = {
  /** The directory could not be reached, or refused the service account or a search. */
  PAI_SSO_LDAP_UNAVAILABLE: 'unavailable',
  /** A user entry lacks identity.ldap.idAttribute: the setting does not fit the directory. */
  PAI_SSO_LDAP_NO_USER_ID: 'config',
  /** The pinned IdP certificate or metadata is unusable (caught and reported as a config problem). */
  PAI_SSO_SAML_IDP_TRUST: 'config',
  /** node-saml did not hand over the ID of the AuthnRequest it built. */
  PAI_SSO_SAML_REQUEST_ID: 'runtime',
  /** The OpenID Provider's discovery document could not be fetched or used. */
  PAI_SSO_OIDC_DISCOVERY: 'unavailable',
  /** A trusted proxy address is malformed (caught and reported as a config problem). */
  PAI_SSO_HEADER_TRUSTED_SOURCE: 'config',
  /**
   * The local users file cannot be read or holds something that is not a user. Runtime,
   * not config: it is data that `pai-sso user` edits and the gateway reloads, and the CLI
   * has always exited 1 on it.
   */
  PAI_SSO_USERS_FILE_UNREADABLE: 'runtime',
  PAI_SSO_USERS_FILE_INVALID: 'runtime',
} as const satisfies Record<string, ErrorKind>;

type Code = keyof typeof KIND;
type CodeOf<Prefix extends string> = Extract<Code, `${Prefix}${string}`>;

export class LdapSourceError extends PaiSsoError {
  constructor(code: CodeOf<'PAI_SSO_LDAP_'>, message: string, options?: ErrorOptions) {
    super(code, KIND[code], message, options);
  }
}

export class SamlSourceError extends PaiSsoError {
  constructor(code: CodeOf<'PAI_SSO_SAML_'>, message: string, options?: ErrorOptions) {
    super(code, KIND[code], message, options);
  }
}

export class OidcSourceError extends PaiSsoError {
  constructor(code: CodeOf<'PAI_SSO_OIDC_'>, message: string, options?: ErrorOptions) {
    super(code, KIND[code], message, options);
  }
}

export class HeaderSourceError extends PaiSsoError {
  constructor(code: CodeOf<'PAI_SSO_HEADER_'>, message: string, options?: ErrorOptions) {
    super(code, KIND[code], message, options);
  }
}

export class UsersFileError extends PaiSsoError {
  constructor(code: CodeOf<'PAI_SSO_USERS_FILE_'>, message: string, options?: ErrorOptions) {
    super(code, KIND[code], message, options);
  }
}
