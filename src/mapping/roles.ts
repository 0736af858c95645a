import type { Config } from '../config/schema.js';
import type { User } from '../identity/user.js';
import { roleArn, samlProviderArn } from '../alibaba.js';

export interface GrantedRole {
  /** The role's key in config; what the picker sends back. */
  readonly key: string;
  readonly roleArn: string;
  readonly providerArn: string;
  readonly label: string;
  readonly accountId: string;
  readonly accountLabel: string;
  readonly sessionDuration?: number | undefined;
}

export interface Grant {
  readonly roles: readonly GrantedRole[];
  /** The user's groups (as the source emits them) that produced at least one role. */
  readonly matchedGroups: readonly string[];
  /** Which of the user's groups granted each role key, for the audit trail. */
  readonly grantedBy: ReadonlyMap<string, readonly string[]>;
}

export type UserGroups = Pick<User, 'groups' | 'groupNames'>;
export type RoleMapper = (user: UserGroups) => Grant;

type MappingConfig = Pick<Config, 'accounts' | 'roles' | 'mappings'> & { identity?: { caseInsensitiveGroups?: boolean } };

/** The groups behind a set of roles: what the audit line of an assertion names. */
export function groupsFor(grant: Grant, roles: readonly GrantedRole[]): string[] {
  return [...new Set(roles.flatMap((r) => grant.grantedBy.get(r.key) ?? []))];
}

/**
 * ASCII letters only: `toLowerCase()` also folds look-alikes onto ASCII (U+212A KELVIN SIGN
 * becomes `k`, U+0130 becomes `i` plus a dot), so a group named with one would match a
 * mapping written in plain ASCII. Other characters must match exactly (docs/identity.md).
 */
export const foldAsciiCase = (s: string): string => s.replace(/[A-Z]+/g, (c) => c.toLowerCase());

function folder(config: MappingConfig): (s: string) => string {
  return config.identity?.caseInsensitiveGroups ? foldAsciiCase : (s) => s;
}

/**
 * A mapping's `group` matches a user's group by its stable id or by its display name,
 * so configs can say `cn=ml,ou=groups,dc=corp` or `ml`, a GUID or a name.
 */
function namesOf(user: UserGroups, group: string): string[] {
  const name = user.groupNames?.[group];
  return name !== undefined && name !== group ? [group, name] : [group];
}

/** Precomputes ARNs and the group index once per config; the mapper is pure. */
export function createRoleMapper(config: MappingConfig): RoleMapper {
  const fold = folder(config);
  const granted = new Map<string, GrantedRole>();
  for (const [key, r] of Object.entries(config.roles)) {
    const account = config.accounts[r.account];
    if (!account) throw new Error(`role ${key} refers to unknown account ${r.account}`);
    granted.set(key, {
      key,
      roleArn: roleArn(account.accountId, r.roleName),
      providerArn: samlProviderArn(account.accountId, account.samlProvider),
      label: r.label ?? r.roleName,
      accountId: account.accountId,
      accountLabel: account.label ?? account.accountId,
      sessionDuration: r.sessionDuration,
    });
  }
  const byGroup = new Map<string, string[]>();
  for (const m of config.mappings) byGroup.set(fold(m.group), [...(byGroup.get(fold(m.group)) ?? []), ...m.roles]);
  const order = [...granted.keys()];

  return (user) => {
    const grantedBy = new Map<string, string[]>();
    const matched: string[] = [];
    for (const g of new Set(user.groups)) {
      const roles = namesOf(user, g).flatMap((n) => byGroup.get(fold(n)) ?? []);
      if (roles.length === 0) continue;
      matched.push(g);
      for (const r of new Set(roles)) grantedBy.set(r, [...(grantedBy.get(r) ?? []), g]);
    }
    // Config order, not group order, so the picker and the assertion are stable.
    const roles = order.filter((k) => grantedBy.has(k)).map((k) => granted.get(k) as GrantedRole);
    return { roles, matchedGroups: matched, grantedBy };
  };
}

/**
 * Keeps only the groups (and their names) that some mapping mentions: an AD user can be
 * in hundreds of groups, and the session cookie must stay under 4 KB.
 */
export function createGroupFilter(config: MappingConfig): <U extends UserGroups>(user: U) => U {
  const fold = folder(config);
  const wanted = new Set(config.mappings.map((m) => fold(m.group)));
  return (user) => {
    const groups = user.groups.filter((g) => namesOf(user, g).some((n) => wanted.has(fold(n))));
    const names = user.groupNames
      ? Object.fromEntries(groups.filter((g) => user.groupNames?.[g] !== undefined).map((g) => [g, user.groupNames?.[g] as string]))
      : undefined;
    return { ...user, groups, groupNames: names };
  };
}
