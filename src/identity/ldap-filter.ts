/**
 * Strings that go into LDAP filters. Pure, so the escaping that stops `*)(uid=*` from
 * becoming a wildcard is tested without a directory. DNs are parsed in ldap-dn.ts.
 */

/** RFC 4515 §3: the five characters that change a filter's meaning, as \XX escapes. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\u0000]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Replaces each `{name}` in a filter template with its escaped value. A replacer
 * function, not a replacement string: `$&` in a username must stay literal.
 */
export function fillFilter(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? escapeFilterValue(values[name] as string) : whole,
  );
}

/** OR of one template per value, so one search asks about many groups at once. */
export function anyOf(template: string, key: string, values: readonly string[]): string {
  const parts = values.map((v) => fillFilter(template, { [key]: v }));
  return parts.length === 1 ? (parts[0] as string) : `(|${parts.join('')})`;
}

/** AD's LDAP_MATCHING_RULE_IN_CHAIN: groups the DN is a member of at any depth, in one search. */
export const AD_IN_CHAIN = '1.2.840.113556.1.4.1941';

export function adNestedGroupsFilter(memberDn: string): string {
  return `(&(objectClass=group)(member:${AD_IN_CHAIN}:=${escapeFilterValue(memberDn)}))`;
}

/**
 * AD's objectGUID in the form AD tools print: the first three fields are
 * little-endian, so the raw bytes are not simply hex-dumped.
 */
export function formatObjectGuid(bytes: Buffer): string {
  if (bytes.length !== 16) return bytes.toString('hex');
  const h = (from: number, to: number, reverse: boolean) => {
    const part = [...bytes.subarray(from, to)];
    return Buffer.from(reverse ? part.reverse() : part).toString('hex');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`;
}
