import type { Client, Entry } from 'ldapts';
import { adNestedGroupsFilter, anyOf, fillFilter } from './ldap-filter.js';
import { depthBelow, dnKey, isUnderDn, parseDn } from './ldap-dn.js';
import type { LdapDirectory } from './ldap-connect.js';
import type { LdapSettings } from './ldap-settings.js';
import { firstValue } from './ldap-user.js';

/** Groups followed at most, over all levels: a membership graph is not a reason to hang a login. */
const MAX_GROUPS = 2000;
/** Group DNs ORed into one search filter. */
const GROUP_BATCH = 50;

/**
 * A group's display name, only where the directory guarantees no other group has it
 * (a mapping may name a group by it, so a same-named group elsewhere must not match):
 * - the value of a single-valued RDN of `groups.nameAttribute` of a group directly under
 *   `groups.base`: siblings never share an RDN;
 * - AD's sAMAccountName (unique in the domain) read from the group entry, under the base.
 * Anything else (no base, deeper OUs, multi-valued RDNs) is matched by its DN only.
 */
export function uniqueGroupName(s: LdapSettings, dn: string, entry?: Entry): string | undefined {
  const base = s.groups.base;
  if (base === undefined) return undefined;
  const depth = depthBelow(dn, base);
  if (depth === undefined || depth === 0) return undefined;
  const nameAttribute = s.groups.nameAttribute.toLowerCase();
  if (s.directoryType === 'ad' && nameAttribute === 'samaccountname') return entry ? firstValue(entry[s.groups.nameAttribute]) : undefined;
  const rdn = parseDn(dn)?.[0];
  if (depth !== 1 || rdn?.length !== 1 || rdn[0]?.type !== nameAttribute) return undefined;
  return rdn[0].value;
}

/** DN -> display name (when unique), in discovery order, each group once however often it is reached. */
class FoundGroups {
  readonly byDn = new Map<string, string | undefined>();
  private readonly seen = new Set<string>();

  constructor(private readonly s: LdapSettings) {}

  /** false when already known, unreadable or when the cap is reached. */
  add(dn: string, entry?: Entry): boolean {
    const key = dnKey(dn);
    if (key === undefined || this.seen.has(key) || this.byDn.size >= MAX_GROUPS) return false;
    this.seen.add(key);
    this.byDn.set(dn, uniqueGroupName(this.s, dn, entry));
    return true;
  }
}

/**
 * A user's groups: direct ones from memberOf or a search, then (when nested) their
 * groups level by level, never revisiting one. AD walks the chain itself in one search.
 */
export async function ldapGroupsOf(
  dir: LdapDirectory,
  s: LdapSettings,
  client: Client,
  userDn: string,
  memberOf: readonly string[],
): Promise<Map<string, string | undefined>> {
  const found = new FoundGroups(s);
  const base = s.groups.base;
  const search = (filter: string, what: string) => dir.search(client, base as string, filter, [s.groups.nameAttribute], what);

  if (s.groups.nested && s.directoryType === 'ad' && base !== undefined) {
    // Server-side, LDAP_MATCHING_RULE_IN_CHAIN.
    for (const e of await search(adNestedGroupsFilter(userDn), 'nested group search')) found.add(e.dn, e);
    return found.byDn;
  }

  let frontier: string[] = [];
  if (s.groups.from === 'memberOf') {
    // With groups.base set, memberOf values outside it are ignored (compared RDN by RDN:
    // an escaped comma in a value does not make a DN look like it sits under the base).
    for (const dn of memberOf) if ((base === undefined || isUnderDn(dn, base)) && found.add(dn)) frontier.push(dn);
  } else if (base !== undefined) {
    for (const e of await search(fillFilter(s.groups.filter, { dn: userDn }), 'group search')) if (found.add(e.dn, e)) frontier.push(e.dn);
  }
  if (!s.groups.nested || base === undefined) return found.byDn;

  // Depth 1 is the direct groups above; each further level is one search per batch.
  for (let depth = 2; depth <= s.groups.maxDepth && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (let i = 0; i < frontier.length; i += GROUP_BATCH) {
      const filter = anyOf(s.groups.filter, 'dn', frontier.slice(i, i + GROUP_BATCH));
      for (const e of await search(filter, 'nested group search')) if (found.add(e.dn, e)) next.push(e.dn);
    }
    frontier = next;
  }
  return found.byDn;
}
