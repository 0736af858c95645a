import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError, type Entry } from 'ldapts';
import type { LdapDirectoryType, LdapIdentityConfig } from '../config/identity-ldap-schema.js';
import { adNestedGroupsFilter, anyOf, fillFilter, firstRdnValue, formatObjectGuid, isUnderDn, looksLikeDn, normalizeDn } from './ldap-filter.js';
import type { SourceStatus, User } from './user.js';
import type { PasswordSource } from './source.js';

export class LdapSourceError extends Error {
  override readonly name = 'LdapSourceError';
}

/** The defaults that differ between a plain LDAP directory and Active Directory: one table, one place. */
export const LDAP_DEFAULTS: Readonly<Record<LdapDirectoryType, {
  readonly userFilter: string;
  readonly usernameAttribute: string;
  readonly idAttribute: string;
  readonly displayNameAttribute: string;
  readonly groupFilter: string;
}>> = {
  openldap: {
    userFilter: '(&(objectClass=inetOrgPerson)(uid={username}))',
    usernameAttribute: 'uid',
    idAttribute: 'entryUUID',
    displayNameAttribute: 'cn',
    groupFilter: '(&(objectClass=groupOfNames)(member={dn}))',
  },
  ad: {
    userFilter: '(&(objectClass=user)(sAMAccountName={username}))',
    usernameAttribute: 'sAMAccountName',
    idAttribute: 'objectGUID',
    displayNameAttribute: 'displayName',
    groupFilter: '(&(objectClass=group)(member={dn}))',
  },
};

/** Result codes a user's own bind can earn: wrong password, locked or expired account. */
const REFUSED_BIND_CODES = new Set([
  49, // invalidCredentials (AD adds the reason as data 52e/530/532/533/701/773/775)
  19, // constraintViolation: ppolicy lockout
  50, // insufficientAccessRights: account not allowed to bind
  53, // unwillingToPerform: e.g. a disabled account on some servers
]);

/** Groups followed at most, over all levels: a membership graph is not a reason to hang a login. */
const MAX_GROUPS = 2000;
/** Group DNs ORed into one search filter. */
const GROUP_BATCH = 50;

export interface LdapSettings {
  readonly label: string;
  readonly url: string;
  readonly secure: boolean;
  readonly startTLS: boolean;
  readonly tls: ConnectionOptions;
  readonly bindDN: string | undefined;
  readonly userBase: string;
  readonly userFilter: string;
  readonly usernameAttribute: string;
  readonly idAttribute: string;
  readonly displayNameAttribute: string;
  readonly emailAttribute: string;
  readonly groups: {
    readonly from: 'memberOf' | 'search';
    readonly base: string | undefined;
    readonly filter: string;
    readonly nameAttribute: string;
    readonly nested: boolean;
    readonly maxDepth: number;
  };
  readonly timeoutMs: number;
  readonly directoryType: LdapDirectoryType;
}

/** Fills type-dependent defaults and checks what the schema cannot (files, combinations). */
export function resolveLdapSettings(cfg: LdapIdentityConfig): LdapSettings {
  const d = LDAP_DEFAULTS[cfg.directoryType];
  const url = new URL(cfg.url);
  const secure = url.protocol === 'ldaps:';
  if (secure && cfg.startTLS) throw new LdapSourceError('identity.ldap: startTLS is for ldap:// URLs; ldaps:// is already TLS');
  const userFilter = cfg.userFilter ?? d.userFilter;
  if (!userFilter.includes('{username}')) throw new LdapSourceError('identity.ldap.userFilter: must contain {username}');
  const groupFilter = cfg.groups.filter ?? d.groupFilter;
  if (!groupFilter.includes('{dn}')) throw new LdapSourceError('identity.ldap.groups.filter: must contain {dn}');
  if ((cfg.groups.from === 'search' || cfg.groups.nested) && !cfg.groups.base) {
    throw new LdapSourceError('identity.ldap.groups.base: is required with groups.from: search or groups.nested: true');
  }
  let ca: string | undefined;
  if (cfg.caFile !== undefined) {
    try {
      ca = readFileSync(cfg.caFile, 'utf8');
    } catch (err) {
      throw new LdapSourceError(`identity.ldap.caFile: cannot read ${cfg.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  // Brackets off an IPv6 literal. StartTLS hands Node a bare socket, so without `host`
  // the certificate would be checked against "localhost" instead of the directory's name.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const tls: ConnectionOptions = {
    host,
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ...(ca !== undefined ? { ca } : {}),
    minVersion: 'TLSv1.2',
  };
  return {
    label: cfg.label,
    url: cfg.url,
    secure,
    startTLS: cfg.startTLS,
    tls,
    bindDN: cfg.bindDN,
    userBase: cfg.userBase,
    userFilter,
    usernameAttribute: cfg.usernameAttribute ?? d.usernameAttribute,
    idAttribute: cfg.idAttribute ?? d.idAttribute,
    displayNameAttribute: cfg.displayNameAttribute ?? d.displayNameAttribute,
    emailAttribute: cfg.emailAttribute,
    groups: { from: cfg.groups.from, base: cfg.groups.base, filter: groupFilter, nameAttribute: cfg.groups.nameAttribute, nested: cfg.groups.nested, maxDepth: cfg.groups.maxDepth },
    timeoutMs: cfg.timeoutMs,
    directoryType: cfg.directoryType,
  };
}

const first = (v: Entry[string] | undefined): string | undefined => {
  const one = Array.isArray(v) ? v[0] : v;
  if (one === undefined) return undefined;
  return typeof one === 'string' ? one : one.toString('utf8');
};

const all = (v: Entry[string] | undefined): string[] =>
  v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'string' ? x : x.toString('utf8')));

/** A stable id as text: AD's objectGUID arrives as 16 raw bytes. */
function idOf(v: Entry[string] | undefined): string | undefined {
  const one = Array.isArray(v) ? v[0] : v;
  if (one === undefined) return undefined;
  if (typeof one === 'string') return one === '' ? undefined : one;
  return one.length === 0 ? undefined : formatObjectGuid(one);
}

/** Usernames we refuse before asking the directory: empty, padded, control characters, absurd length. */
const acceptableUsername = (u: string): boolean => u.length > 0 && u.length <= 256 && u.trim() === u && !/[\u0000-\u001f\u007f]/.test(u);

/** Failures a login cannot fix: the caller answers 503 and /readyz says why. */
function unavailable(settings: LdapSettings, what: string, err: unknown): LdapSourceError {
  const e = err as NodeJS.ErrnoException;
  const detail = e instanceof ResultCodeError ? `${e.name} (${e.code})${e.message ? `: ${e.message}` : ''}` : (e.code ?? e.message ?? String(err));
  return new LdapSourceError(`LDAP ${settings.url}: ${what} failed: ${detail}`);
}

export interface LdapSourceOptions {
  /** How long a /readyz answer is reused, so probes cannot hammer the directory. */
  readonly readyCacheMs?: number;
  readonly now?: () => number;
}

/**
 * Users from an LDAP directory or Active Directory through the gateway's own form:
 * find the entry with the service account, bind as it with the typed password, read
 * its groups. One short-lived connection per step; nothing is pooled or cached, so a
 * restarted or failed-over directory needs nothing from us.
 */
export function createLdapSource(cfg: LdapIdentityConfig, env: NodeJS.ProcessEnv, opts: LdapSourceOptions = {}): PasswordSource {
  const s = resolveLdapSettings(cfg);
  const bindPassword = s.bindDN === undefined ? undefined : env[cfg.bindPasswordEnv];
  if (s.bindDN !== undefined && !bindPassword) {
    throw new LdapSourceError(`identity.ldap: environment variable ${cfg.bindPasswordEnv} must hold the password of ${s.bindDN}`);
  }
  const now = opts.now ?? Date.now;
  // objectGUID is 16 raw bytes; decoded as UTF-8 it would be mangled, and no longer stable.
  const binaryAttributes = s.idAttribute.toLowerCase() === 'objectguid' ? [s.idAttribute] : [];
  const readyCacheMs = opts.readyCacheMs ?? 5000;

  const connect = async (what: string, timeoutMs = s.timeoutMs): Promise<Client> => {
    // tlsOptions on the client would make ldapts speak TLS from the first byte: only for ldaps://.
    const client = new Client({ url: s.url, timeout: timeoutMs, connectTimeout: timeoutMs, ...(s.secure ? { tlsOptions: { ...s.tls } } : {}) });
    if (s.startTLS) {
      try {
        // A fresh object: ldapts writes the plain socket into it.
        await client.startTLS({ ...s.tls });
      } catch (err) {
        await close(client);
        throw unavailable(s, `${what}: StartTLS`, err);
      }
    }
    return client;
  };

  const serviceClient = async (timeoutMs?: number): Promise<Client> => {
    const client = await connect('service bind', timeoutMs);
    try {
      if (s.bindDN !== undefined) await client.bind(s.bindDN, bindPassword);
    } catch (err) {
      await close(client);
      throw unavailable(s, `service bind as ${s.bindDN}`, err);
    }
    return client;
  };

  /** true: the password is right; false: the directory refused it. Throws when the directory is down. */
  const checkPassword = async (dn: string, password: string): Promise<boolean> => {
    const client = await connect('user bind');
    try {
      await client.bind(dn, password);
      return true;
    } catch (err) {
      if (err instanceof ResultCodeError && REFUSED_BIND_CODES.has(err.code)) return false;
      throw unavailable(s, 'user bind', err);
    } finally {
      await close(client);
    }
  };

  const search = async (client: Client, base: string, filter: string, attributes: string[], what: string, sizeLimit = 0): Promise<Entry[]> => {
    try {
      const { searchEntries } = await client.search(base, {
        scope: 'sub',
        filter,
        attributes,
        sizeLimit,
        timeLimit: Math.ceil(s.timeoutMs / 1000),
        explicitBufferAttributes: binaryAttributes,
      });
      return searchEntries;
    } catch (err) {
      throw unavailable(s, what, err);
    }
  };

  const nameOf = (dn: string, entry?: Entry): string => {
    const fromEntry = entry ? first(entry[s.groups.nameAttribute]) : undefined;
    return fromEntry ?? firstRdnValue(dn)?.value ?? dn;
  };

  /** Direct groups, then (when nested) their groups level by level, never revisiting one. */
  const groupsOf = async (client: Client, userDn: string, memberOf: readonly string[]): Promise<Map<string, string>> => {
    const found = new Map<string, string>(); // DN -> display name, in discovery order
    const seen = new Set<string>();
    const add = (dn: string, entry?: Entry): boolean => {
      const key = normalizeDn(dn);
      if (seen.has(key) || found.size >= MAX_GROUPS) return false;
      seen.add(key);
      found.set(dn, nameOf(dn, entry));
      return true;
    };
    const base = s.groups.base;

    if (s.groups.nested && s.directoryType === 'ad' && base !== undefined) {
      // AD walks the chain itself, server-side, in one search.
      for (const e of await search(client, base, adNestedGroupsFilter(userDn), [s.groups.nameAttribute], 'nested group search')) add(e.dn, e);
      return found;
    }

    let frontier: string[] = [];
    if (s.groups.from === 'memberOf') {
      // With groups.base set, memberOf values outside it are ignored: mappings may name a
      // group by its cn, and a same-named group in an OU where people can create groups
      // must not grant a role.
      for (const dn of memberOf) if ((base === undefined || isUnderDn(dn, base)) && add(dn)) frontier.push(dn);
    } else if (base !== undefined) {
      for (const e of await search(client, base, fillFilter(s.groups.filter, { dn: userDn }), [s.groups.nameAttribute], 'group search')) if (add(e.dn, e)) frontier.push(e.dn);
    }
    if (!s.groups.nested || base === undefined) return found;

    // Depth 1 is the direct groups above; each further level is one search per batch.
    for (let depth = 2; depth <= s.groups.maxDepth && frontier.length > 0; depth++) {
      const next: string[] = [];
      for (let i = 0; i < frontier.length; i += GROUP_BATCH) {
        const filter = anyOf(s.groups.filter, 'dn', frontier.slice(i, i + GROUP_BATCH));
        for (const e of await search(client, base, filter, [s.groups.nameAttribute], 'nested group search')) if (add(e.dn, e)) next.push(e.dn);
      }
      frontier = next;
    }
    return found;
  };

  let readyCache: { at: number; status: Promise<SourceStatus> } | undefined;
  const probe = async (): Promise<SourceStatus> => {
    let client: Client | undefined;
    try {
      // Short: /readyz must answer before the orchestrator's probe gives up.
      client = await serviceClient(Math.min(s.timeoutMs, 2000));
      // A wrong userBase would fail every login; say so here rather than per login.
      await search(client, s.userBase, '(objectClass=*)', ['1.1'], `reading userBase ${s.userBase}`, 1);
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    } finally {
      if (client) await close(client);
    }
  };

  return {
    kind: 'ldap',
    type: 'password',
    label: s.label,
    async authenticate(username, password): Promise<User | undefined> {
      // A simple bind with an empty password is an unauthenticated bind, which many
      // directories answer with success: never let one stand for a login.
      if (password.trim() === '' || !acceptableUsername(username)) return undefined;

      const service = await serviceClient();
      try {
        const attributes = [s.usernameAttribute, s.idAttribute, s.displayNameAttribute, s.emailAttribute, ...(s.groups.from === 'memberOf' ? ['memberOf'] : [])];
        const entries = await search(service, s.userBase, fillFilter(s.userFilter, { username }), attributes, 'user search', 2);
        const entry = entries.length === 1 ? entries[0] : undefined;
        if (!entry) {
          // The same round trips as a wrong password, so timing does not tell who exists.
          // Two matches is a directory problem, but still no login.
          await checkPassword(`${s.usernameAttribute}=pai-sso-decoy-${randomBytes(8).toString('hex')},${s.userBase}`, password);
          return undefined;
        }
        if (!(await checkPassword(entry.dn, password))) return undefined;

        const id = idOf(entry[s.idAttribute]);
        // Without a stable id the NameID would drift; refuse rather than invent one.
        if (id === undefined) throw new LdapSourceError(`LDAP ${s.url}: ${entry.dn} has no ${s.idAttribute} (identity.ldap.idAttribute)`);
        const groups = await groupsOf(service, entry.dn, all(entry['memberOf']));
        const name = first(entry[s.usernameAttribute]) ?? username;
        return {
          id,
          username: name,
          displayName: first(entry[s.displayNameAttribute]) ?? name,
          email: first(entry[s.emailAttribute]),
          groups: [...groups.keys()],
          groupNames: Object.fromEntries(groups),
          source: 'ldap',
        };
      } finally {
        await close(service);
      }
    },
    ready() {
      const t = now();
      if (!readyCache || t - readyCache.at >= readyCacheMs) readyCache = { at: t, status: probe() };
      return readyCache.status;
    },
    checkMappingGroup(group) {
      if (!looksLikeDn(group)) return undefined; // a group name: matched against the cn
      const base = s.groups.base;
      if (base !== undefined && !isUnderDn(group, base)) return `ldap emits group DNs under groups.base "${base}"; this DN is not under it`;
      if (/,\s/.test(group)) return 'ldap group DNs are matched as the directory writes them, without spaces after commas';
      return undefined;
    },
    async close() {},
  };
}

async function close(client: Client): Promise<void> {
  await client.unbind().catch(() => {});
}
