/** The one shape every identity source hands to the rest of the gateway. */
export interface User {
  /** Stable, never reused; the default NameID. */
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly email?: string | undefined;
  readonly groups: readonly string[];
}

export interface IdentitySource {
  readonly kind: string;
  /** Resolves to the user, or undefined for any failure a user could cause. */
  authenticate(username: string, password: string): Promise<User | undefined>;
  /** For /readyz: can this source answer logins right now? */
  ready(): Promise<{ ok: boolean; reason?: string }>;
  close(): Promise<void>;
}
