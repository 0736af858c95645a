import type { Config } from '../config/schema.js';
import { roleArn, samlProviderArn } from '../saml/alibaba.js';

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
  /** The user's groups that produced at least one role. */
  readonly matchedGroups: readonly string[];
  /** Which of the user's groups granted each role key, for the audit trail. */
  readonly grantedBy: ReadonlyMap<string, readonly string[]>;
}

/** The groups behind a set of roles: what the audit line of an assertion names. */
export function groupsFor(grant: Grant, roles: readonly GrantedRole[]): string[] {
  return [...new Set(roles.flatMap((r) => grant.grantedBy.get(r.key) ?? []))];
}

export type RoleMapper = (groups: readonly string[]) => Grant;

/** Precomputes ARNs and the group index once per config; the mapper is pure. */
export function createRoleMapper(config: Pick<Config, 'accounts' | 'roles' | 'mappings'>): RoleMapper {
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
  for (const m of config.mappings) byGroup.set(m.group, [...(byGroup.get(m.group) ?? []), ...m.roles]);
  const order = [...granted.keys()];

  return (groups) => {
    const grantedBy = new Map<string, string[]>();
    const matched: string[] = [];
    for (const g of new Set(groups)) {
      const roles = byGroup.get(g);
      if (!roles) continue;
      matched.push(g);
      for (const r of roles) grantedBy.set(r, [...(grantedBy.get(r) ?? []), g]);
    }
    // Config order, not group order, so the picker and the assertion are stable.
    const roles = order.filter((k) => grantedBy.has(k)).map((k) => granted.get(k) as GrantedRole);
    return { roles, matchedGroups: matched, grantedBy };
  };
}

/** The groups config cares about; the session keeps only these to stay small. */
export function mappedGroups(config: Pick<Config, 'mappings'>): ReadonlySet<string> {
  return new Set(config.mappings.map((m) => m.group));
}
