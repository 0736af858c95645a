import type { Client } from 'ldapts';
import type { LdapIdentityConfig } from '../config/identity-ldap-schema.js';
import { fillFilter } from './ldap-filter.js';
import { isUnderDn, looksLikeDn } from './ldap-dn.js';
import { closeClient, ldapDirectory, type LdapDirectory } from './ldap-connect.js';
import { ldapGroupsOf } from './ldap-groups.js';
import { resolveLdapSettings, type LdapSettings } from './ldap-settings.js';
import { acceptableUsername, allValues, decoyDn, ldapUser, stableIdOf, userAttributes } from './ldap-user.js';
import type { SourceStatus, User } from './user.js';
import type { PasswordSource } from './source.js';

export { LdapSourceError } from './errors.js';
export { LDAP_DEFAULTS, readLdapSettings, resolveLdapSettings, type LdapSettings } from './ldap-settings.js';

export interface LdapSourceOptions {
  /** How long a /readyz answer is reused, so probes cannot hammer the directory. */
  readonly readyCacheMs?: number;
  readonly now?: () => number;
}

/**
 * One login: find the entry with the service account, bind as it with the typed
 * password, read its groups. Undefined for anything the user could have caused.
 */
async function authenticate(dir: LdapDirectory, s: LdapSettings, username: string, password: string): Promise<User | undefined> {
  // A simple bind with an empty password is an unauthenticated bind, which many
  // directories answer with success: never let one stand for a login.
  if (password.trim() === '' || !acceptableUsername(username)) return undefined;

  const service = await dir.serviceClient();
  try {
    const entries = await dir.search(service, s.userBase, fillFilter(s.userFilter, { username }), userAttributes(s), 'user search', 2);
    const entry = entries.length === 1 ? entries[0] : undefined;
    if (!entry) {
      // The same round trips as a wrong password, so timing does not tell who exists.
      // Two matches is a directory problem, but still no login.
      await dir.checkPassword(decoyDn(s), password);
      return undefined;
    }
    if (!(await dir.checkPassword(entry.dn, password))) return undefined;
    const id = stableIdOf(s, entry);
    const groups = await ldapGroupsOf(dir, s, service, entry.dn, allValues(entry['memberOf']));
    return ldapUser(s, entry, id, username, groups);
  } finally {
    await closeClient(service);
  }
}

/** Group freshness: the same lookup as a login, with the service account only (no user bind). */
async function refresh(dir: LdapDirectory, s: LdapSettings, user: User): Promise<User | undefined> {
  if (!acceptableUsername(user.username)) return undefined;
  const service = await dir.serviceClient();
  try {
    const entries = await dir.search(
      service,
      s.userBase,
      fillFilter(s.userFilter, { username: user.username }),
      userAttributes(s),
      'user search',
      2,
    );
    const entry = entries.length === 1 ? entries[0] : undefined;
    // Gone, ambiguous, or the name now belongs to someone else: no longer this user.
    if (!entry || stableIdOf(s, entry) !== user.id) return undefined;
    const groups = await ldapGroupsOf(dir, s, service, entry.dn, allValues(entry['memberOf']));
    return ldapUser(s, entry, user.id, user.username, groups);
  } finally {
    await closeClient(service);
  }
}

/** For /readyz: the service account can bind and userBase exists. */
async function probe(dir: LdapDirectory, s: LdapSettings): Promise<SourceStatus> {
  let client: Client | undefined;
  try {
    // Short: /readyz must answer before the orchestrator's probe gives up.
    client = await dir.serviceClient(Math.min(s.timeoutMs, 2000));
    // A wrong userBase would fail every login; say so here rather than per login.
    await dir.search(client, s.userBase, '(objectClass=*)', ['1.1'], `reading userBase ${s.userBase}`, 1);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  } finally {
    if (client) await closeClient(client);
  }
}

/** Mapping hints: group DNs must be written as this directory emits them; names need groups.base. */
function mappingGroupHint(s: LdapSettings, group: string): string | undefined {
  const base = s.groups.base;
  if (!looksLikeDn(group)) {
    // A name: any group of that cn anywhere in the directory could carry it.
    return base === undefined
      ? 'ldap matches a group by name only with groups.base set (a name is unique only directly under it); name the group by its DN'
      : undefined;
  }
  if (base !== undefined && !isUnderDn(group, base)) return `ldap emits group DNs under groups.base "${base}"; this DN is not under it`;
  if (/,\s/.test(group)) return 'ldap group DNs are matched as the directory writes them, without spaces after commas';
  return undefined;
}

/**
 * Users from an LDAP directory or Active Directory through the gateway's own form.
 * Throws a ConfigError listing every settings problem (the same checks `pai-sso check` runs).
 */
export function createLdapSource(cfg: LdapIdentityConfig, env: NodeJS.ProcessEnv, opts: LdapSourceOptions = {}): PasswordSource {
  const s = resolveLdapSettings(cfg, env);
  const dir = ldapDirectory(s);
  const now = opts.now ?? Date.now;
  const readyCacheMs = opts.readyCacheMs ?? 5000;
  let readyCache: { at: number; status: Promise<SourceStatus> } | undefined;

  return {
    kind: 'ldap',
    type: 'password',
    label: s.label,
    authenticate: (username, password) => authenticate(dir, s, username, password),
    refresh: (user) => refresh(dir, s, user),
    ready() {
      const t = now();
      if (!readyCache || t - readyCache.at >= readyCacheMs) readyCache = { at: t, status: probe(dir, s) };
      return readyCache.status;
    },
    checkMappingGroup: (group) => mappingGroupHint(s, group),
    async close() {},
  };
}
