/**
 * Strings that go into LDAP filters and come out of DNs. Pure, so the escaping that
 * stops `*)(uid=*` from becoming a wildcard is tested without a directory.
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

/** Splits a DN into RDN strings at unescaped commas, keeping escapes as written. */
export function splitDn(dn: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i] as string;
    if (c === '\\' && i + 1 < dn.length) {
      cur += c + (dn[i + 1] as string);
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      cur += c;
    } else if ((c === ',' || c === ';') && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur.trim() !== '' || out.length > 0) out.push(cur.trim());
  return out;
}

function unescapeDnValue(raw: string): string {
  const v = raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1) : raw;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < v.length; i++) {
    const c = v[i] as string;
    if (c === '\\' && /^[0-9A-Fa-f]{2}$/.test(v.slice(i + 1, i + 3))) {
      bytes.push(parseInt(v.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === '\\' && i + 1 < v.length) {
      bytes.push(...enc.encode(v[i + 1]));
      i++;
    } else {
      bytes.push(...enc.encode(c));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** The value of the first RDN (`cn=ML\, Team,ou=groups` -> `ML, Team`), or undefined for a non-DN. */
export function firstRdnValue(dn: string): { attribute: string; value: string } | undefined {
  const first = splitDn(dn)[0];
  if (first === undefined) return undefined;
  // A multi-valued RDN (cn=a+uid=b): the first value names it well enough.
  const single = first.split(/(?<!\\)\+/)[0] ?? first;
  const eq = single.indexOf('=');
  if (eq <= 0) return undefined;
  const attribute = single.slice(0, eq).trim();
  if (!/^[A-Za-z][A-Za-z0-9-]*$|^[0-9]+(\.[0-9]+)*$/.test(attribute)) return undefined;
  return { attribute, value: unescapeDnValue(single.slice(eq + 1).trim()) };
}

/** Case- and space-insensitive form for comparing DNs; good enough for "is X under Y". */
export function normalizeDn(dn: string): string {
  return splitDn(dn)
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      return eq < 0
        ? rdn.toLowerCase()
        : `${rdn.slice(0, eq).trim().toLowerCase()}=${rdn
            .slice(eq + 1)
            .trim()
            .toLowerCase()}`;
    })
    .join(',');
}

export function looksLikeDn(s: string): boolean {
  const rdns = splitDn(s);
  return rdns.length >= 1 && rdns.every((r) => firstRdnValue(r) !== undefined) && s.includes('=');
}

export function isUnderDn(dn: string, base: string): boolean {
  const d = normalizeDn(dn);
  const b = normalizeDn(base);
  return d === b || d.endsWith(`,${b}`);
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
