import { randomBytes } from 'node:crypto';
import type { Entry } from 'ldapts';
import { LdapSourceError } from './errors.js';
import { formatObjectGuid } from './ldap-filter.js';
import type { LdapSettings } from './ldap-settings.js';
import type { User } from './user.js';

export const firstValue = (v: Entry[string] | undefined): string | undefined => {
  const one = Array.isArray(v) ? v[0] : v;
  if (one === undefined) return undefined;
  return typeof one === 'string' ? one : one.toString('utf8');
};

export const allValues = (v: Entry[string] | undefined): string[] =>
  v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'string' ? x : x.toString('utf8')));

/** A stable id as text: AD's objectGUID arrives as 16 raw bytes. */
function idOf(v: Entry[string] | undefined): string | undefined {
  const one = Array.isArray(v) ? v[0] : v;
  if (one === undefined) return undefined;
  if (typeof one === 'string') return one === '' ? undefined : one;
  return one.length === 0 ? undefined : formatObjectGuid(one);
}

/** Usernames we refuse before asking the directory: empty, padded, control characters, absurd length. */
export const acceptableUsername = (u: string): boolean =>
  u.length > 0 && u.length <= 256 && u.trim() === u && !/[\u0000-\u001f\u007f]/.test(u);

/** The attributes read from a user entry. */
export function userAttributes(s: LdapSettings): string[] {
  return [
    s.usernameAttribute,
    s.idAttribute,
    s.displayNameAttribute,
    s.emailAttribute,
    ...(s.groups.from === 'memberOf' ? ['memberOf'] : []),
  ];
}

/** A DN no entry has: binding to it costs the same round trips as a wrong password. */
export function decoyDn(s: LdapSettings): string {
  return `${s.usernameAttribute}=pai-sso-decoy-${randomBytes(8).toString('hex')},${s.userBase}`;
}

/** The entry's stable id (the NameID). Throws rather than invent one: the NameID would drift. */
export function stableIdOf(s: LdapSettings, entry: Entry): string {
  const id = idOf(entry[s.idAttribute]);
  if (id === undefined)
    throw new LdapSourceError('PAI_SSO_LDAP_NO_USER_ID', `LDAP ${s.url}: ${entry.dn} has no ${s.idAttribute} (identity.ldap.idAttribute)`);
  return id;
}

/** The common User shape from a user entry, its id and its groups (DN -> display name where it is unique). */
export function ldapUser(
  s: LdapSettings,
  entry: Entry,
  id: string,
  typedUsername: string,
  groups: ReadonlyMap<string, string | undefined>,
): User {
  const name = firstValue(entry[s.usernameAttribute]) ?? typedUsername;
  return {
    id,
    username: name,
    displayName: firstValue(entry[s.displayNameAttribute]) ?? name,
    email: firstValue(entry[s.emailAttribute]),
    groups: [...groups.keys()],
    groupNames: Object.fromEntries([...groups].filter((g): g is [string, string] => g[1] !== undefined)),
    source: 'ldap',
  };
}
