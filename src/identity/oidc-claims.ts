import type { OidcIdentityConfig } from '../config/identity-oidc-schema.js';
import type { User } from './user.js';

/** Claims as openid-client hands them over: decoded JSON, already verified where they came from a token. */
export type Claims = Readonly<Record<string, unknown>>;

export type ClaimsOutcome = { readonly user: User } | { readonly rejected: string; readonly who: string };

type ClaimsConfig = Pick<
  OidcIdentityConfig,
  'idClaim' | 'usernameClaim' | 'groupsClaim' | 'groupsFromUserinfo' | 'allowedDomains' | 'requireVerifiedEmail'
>;

const MAX_GROUPS = 1000;
const MAX_TEXT = 256;
const printable = (s: string) => s.length > 0 && s.length <= MAX_TEXT && !/[\u0000-\u001f\u007f]/.test(s);

/**
 * The exact claim name first: Auth0-style namespaced claims (`https://corp/groups`)
 * contain dots. Then a dotted path, for nested claims such as Keycloak's `realm_access.roles`.
 */
export function claimAt(claims: Claims, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let at: unknown = claims;
  for (const part of name.split('.')) {
    if (!at || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && printable(v) ? v : undefined);

/** A list of strings, or one string (some IdPs send a lone group unwrapped); anything else is no groups. */
export function groupsOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  const out = new Set<string>();
  for (const g of list) {
    if (typeof g === 'string' && printable(g)) out.add(g);
    if (out.size >= MAX_GROUPS) break;
  }
  return [...out];
}

// Some IdPs (older Cognito, a few SaaS) send the boolean as a string.
const isVerified = (v: unknown) => v === true || v === 'true';

/**
 * Turns verified ID token claims (and userinfo, when configured) into our User, or a
 * refusal reason for the audit line. The id comes only from the signed ID token.
 */
export function userFromClaims(cfg: ClaimsConfig, idToken: Claims, userinfo?: Claims): ClaimsOutcome {
  const id = text(idToken[cfg.idClaim]);
  const extra = userinfo ?? {};
  const pick = (name: string): unknown => claimAt(idToken, name) ?? claimAt(extra, name);
  const rawEmail = text(pick('email'));
  const emailOk =
    rawEmail !== undefined && /^[^@\s]+@[^@\s]+$/.test(rawEmail) && (!cfg.requireVerifiedEmail || isVerified(pick('email_verified')));
  const email = emailOk ? rawEmail : undefined;
  const username = text(pick(cfg.usernameClaim)) ?? email ?? id;
  if (id === undefined || username === undefined) return { rejected: 'missing-id-claim', who: username ?? text(idToken['sub']) ?? '-' };

  if (cfg.allowedDomains.length > 0) {
    if (!email) return { rejected: rawEmail ? 'email-unverified' : 'email-missing', who: username };
    const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
    if (!cfg.allowedDomains.some((d) => d.toLowerCase() === domain)) return { rejected: 'domain-not-allowed', who: username };
  }

  const groupSource = cfg.groupsFromUserinfo ? extra : idToken;
  return {
    user: {
      id,
      username,
      displayName: text(pick('name')) ?? username,
      email,
      groups: groupsOf(claimAt(groupSource, cfg.groupsClaim)),
      source: 'oidc',
    },
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Entra ID sends group object IDs, not names: a mapping on "ml-engineers" would never match. */
export function mappingGroupHint(groupsAre: OidcIdentityConfig['groupsAre'], group: string): string | undefined {
  if (groupsAre === 'ids' && !GUID.test(group))
    return "identity.oidc sends group object IDs (groupsAre: ids); this looks like a name — use the group's object ID";
  return undefined;
}
