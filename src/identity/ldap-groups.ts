import type { Client, Entry } from 'ldapts';
import { adNestedGroupsFilter, anyOf, fillFilter, firstRdnValue, isUnderDn, normalizeDn } from './ldap-filter.js';
import type { LdapDirectory } from './ldap-connect.js';
import type { LdapSettings } from './ldap-settings.js';
import { firstValue } from './ldap-user.js';

/** Groups followed at most, over all levels: a membership graph is not a reason to hang a login. */
const MAX_GROUPS = 2000;
/** Group DNs ORed into one search filter. */
const GROUP_BATCH = 50;

/** DN -> display name, in discovery order, each group once however often it is reached. */
class FoundGroups {
  readonly byDn = new Map<string, string>();
  private readonly seen = new Set<string>();

  constructor(private readonly nameAttribute: string) {}

  /** false when already known or when the cap is reached. */
  add(dn: string, entry?: Entry): boolean {
    const key = normalizeDn(dn);
    if (this.seen.has(key) || this.byDn.size >= MAX_GROUPS) return false;
    this.seen.add(key);
    const fromEntry = entry ? firstValue(entry[this.nameAttribute]) : undefined;
    this.byDn.set(dn, fromEntry ?? firstRdnValue(dn)?.value ?? dn);
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
): Promise<Map<string, string>> {
  const found = new FoundGroups(s.groups.nameAttribute);
  const base = s.groups.base;
  const search = (filter: string, what: string) => dir.search(client, base as string, filter, [s.groups.nameAttribute], what);

  if (s.groups.nested && s.directoryType === 'ad' && base !== undefined) {
    // Server-side, LDAP_MATCHING_RULE_IN_CHAIN.
    for (const e of await search(adNestedGroupsFilter(userDn), 'nested group search')) found.add(e.dn, e);
    return found.byDn;
  }

  let frontier: string[] = [];
  if (s.groups.from === 'memberOf') {
    // With groups.base set, memberOf values outside it are ignored: mappings may name a
    // group by its cn, and a same-named group in an OU where people can create groups
    // must not grant a role.
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
