import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { ConfigProblem } from '../config/errors.js';
import type { LdapDirectoryType, LdapIdentityConfig } from '../config/identity-ldap-schema.js';
import { settle, settledOrThrow, type Settled } from './settings.js';

/** The defaults that differ between a plain LDAP directory and Active Directory: one table, one place. */
export const LDAP_DEFAULTS: Readonly<
  Record<
    LdapDirectoryType,
    {
      readonly userFilter: string;
      readonly usernameAttribute: string;
      readonly idAttribute: string;
      readonly displayNameAttribute: string;
      readonly groupFilter: string;
    }
  >
> = {
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

export interface LdapSettings {
  readonly label: string;
  readonly url: string;
  readonly secure: boolean;
  readonly startTLS: boolean;
  readonly tls: ConnectionOptions;
  readonly bindDN: string | undefined;
  /** From the environment variable `bindPasswordEnv`; undefined for an anonymous search. */
  readonly bindPassword: string | undefined;
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

const P = 'identity.ldap';

/**
 * Fills type-dependent defaults and checks what the schema cannot: combinations, the CA
 * file, the service account's password variable. Reads the CA file; no network.
 */
export function readLdapSettings(cfg: LdapIdentityConfig, env: NodeJS.ProcessEnv): Settled<LdapSettings> {
  const problems: ConfigProblem[] = [];
  const d = LDAP_DEFAULTS[cfg.directoryType];
  let url: URL | undefined;
  try {
    url = new URL(cfg.url);
  } catch {
    problems.push({ path: `${P}.url`, reason: 'is not a valid URL' });
  }
  const secure = url?.protocol === 'ldaps:';
  if (secure && cfg.startTLS) problems.push({ path: `${P}.startTLS`, reason: 'is for ldap:// URLs; ldaps:// is already TLS' });
  const userFilter = cfg.userFilter ?? d.userFilter;
  if (!userFilter.includes('{username}')) problems.push({ path: `${P}.userFilter`, reason: 'must contain {username}' });
  const groupFilter = cfg.groups.filter ?? d.groupFilter;
  if (!groupFilter.includes('{dn}')) problems.push({ path: `${P}.groups.filter`, reason: 'must contain {dn}' });
  if ((cfg.groups.from === 'search' || cfg.groups.nested) && !cfg.groups.base) {
    problems.push({ path: `${P}.groups.base`, reason: 'is required with groups.from: search or groups.nested: true' });
  }
  let ca: string | undefined;
  if (cfg.caFile !== undefined) {
    try {
      ca = readFileSync(cfg.caFile, 'utf8');
    } catch (err) {
      problems.push({
        path: `${P}.caFile`,
        reason: `cannot read ${cfg.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      });
    }
  }
  const bindPassword = cfg.bindDN === undefined ? undefined : env[cfg.bindPasswordEnv];
  if (cfg.bindDN !== undefined && !bindPassword) {
    problems.push({
      path: `${P}.bindPasswordEnv`,
      reason: `environment variable ${cfg.bindPasswordEnv} must hold the password of ${cfg.bindDN}`,
    });
  }

  return settle(problems, (): LdapSettings => {
    // Brackets off an IPv6 literal. StartTLS hands Node a bare socket, so without `host`
    // the certificate would be checked against "localhost" instead of the directory's name.
    const host = (url as URL).hostname.replace(/^\[|\]$/g, '');
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
      bindPassword,
      userBase: cfg.userBase,
      userFilter,
      usernameAttribute: cfg.usernameAttribute ?? d.usernameAttribute,
      idAttribute: cfg.idAttribute ?? d.idAttribute,
      displayNameAttribute: cfg.displayNameAttribute ?? d.displayNameAttribute,
      emailAttribute: cfg.emailAttribute,
      groups: {
        from: cfg.groups.from,
        base: cfg.groups.base,
        filter: groupFilter,
        nameAttribute: cfg.groups.nameAttribute,
        nested: cfg.groups.nested,
        maxDepth: cfg.groups.maxDepth,
      },
      timeoutMs: cfg.timeoutMs,
      directoryType: cfg.directoryType,
    };
  });
}

/** The settings, or a ConfigError listing every problem. */
export function resolveLdapSettings(cfg: LdapIdentityConfig, env: NodeJS.ProcessEnv): LdapSettings {
  return settledOrThrow(P, readLdapSettings(cfg, env));
}
