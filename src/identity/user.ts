// Plain data only: the issuing core, mapping and sessions read a User without any framework.

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
  /**
   * Display names of groups, by identifier, only where the source guarantees that no other
   * group has the same name (LDAP: see uniqueGroupName); mappings may use either.
   */
  readonly groupNames?: Readonly<Record<string, string>> | undefined;
  /** Which source vouched for this user. */
  readonly source: SourceKind;
}

/**
 * How the second factor was proven for a session: at the gateway (TOTP, a passkey, a
 * recovery code) or by an upstream IdP whose answer showed it (amr/acr, AuthnContextClassRef).
 */
export type SecondFactor = 'totp' | 'webauthn' | 'recovery' | 'upstream';

/** What a sign-in proved besides who the user is. */
export interface Authn {
  readonly mfa?: SecondFactor | undefined;
}

export interface SourceStatus {
  readonly ok: boolean;
  readonly reason?: string;
}
