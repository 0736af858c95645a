/**
 * Distinguished names parsed per RFC 4514 and compared RDN by RDN, never as strings:
 * `cn=x,ou=selfservice\,ou=groups,dc=corp` is one RDN (`ou` = `selfservice,ou=groups`)
 * under `dc=corp`, not something under `ou=groups,dc=corp`. Pure.
 *
 * Accepted: the RFC 4514 grammar (escaped specials, `\XX` UTF-8 hex escapes, `#` BER hex
 * values, multi-valued RDNs joined by `+`, attribute types by name or OID), plus spaces
 * around `,` `+` `=` as people write them in config. Refused (undefined): anything else,
 * such as an unescaped `"` `;` `<` `>` or NUL, a dangling `\`, or invalid UTF-8 in escapes:
 * a DN we cannot read is never "under" anything.
 */

/** One attribute=value of an RDN. */
export interface Ava {
  /** Lower-case name (`cn`), with the common OIDs replaced by their names. */
  readonly type: string;
  /** The value as the directory holds it (escapes undone); `#hex` stays as written, lower-case. */
  readonly value: string;
}

/** The AVAs of one RDN, sorted, so `cn=a+uid=b` equals `uid=b+cn=a`. */
export type Rdn = readonly Ava[];

// X.520 and RFC 4519 names of the OIDs directories put in DNs.
const OID_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'cn',
  '2.5.4.6': 'c',
  '2.5.4.7': 'l',
  '2.5.4.8': 'st',
  '2.5.4.9': 'street',
  '2.5.4.10': 'o',
  '2.5.4.11': 'ou',
  '0.9.2342.19200300.100.1.1': 'uid',
  '0.9.2342.19200300.100.1.25': 'dc',
};

const DESCR = /^[A-Za-z][A-Za-z0-9-]*$/;
const NUMERICOID = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;
/** Characters RFC 4514 requires escaped inside a value (besides `,` `+` `\` handled by the parser). */
const MUST_ESCAPE = new Set(['"', ';', '<', '>', '\u0000']);

function attributeType(raw: string): string | undefined {
  const t = raw.trim();
  if (NUMERICOID.test(t)) return OID_NAMES[t] ?? t;
  return DESCR.test(t) ? t.toLowerCase() : undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads one value starting at `i`, up to an unescaped `,` or `+` or the end. Returns the
 * value and the index of the character that ended it.
 */
function readValue(dn: string, start: number): { value: string; end: number } | undefined {
  let i = start;
  while (dn[i] === ' ') i++;
  if (dn[i] === '#') {
    // hexstring: the BER encoding, compared as written.
    let j = i + 1;
    while (j < dn.length && /[0-9A-Fa-f]/.test(dn[j] as string)) j++;
    const hex = dn.slice(i + 1, j);
    let k = j;
    while (dn[k] === ' ') k++;
    if (hex.length === 0 || hex.length % 2 !== 0 || (k < dn.length && dn[k] !== ',' && dn[k] !== '+')) return undefined;
    return { value: `#${hex.toLowerCase()}`, end: k };
  }
  // Collected as UTF-8 bytes: `\C3\A9` is two escapes of one character.
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  /** Bytes up to here that were written escaped: trailing spaces before this index are kept. */
  let keptUpTo = 0;
  for (; i < dn.length; i++) {
    const c = dn[i] as string;
    if (c === ',' || c === '+') break;
    if (c === '\\') {
      const next = dn[i + 1];
      if (next === undefined) return undefined;
      if (/^[0-9A-Fa-f]{2}$/.test(dn.slice(i + 1, i + 3))) {
        bytes.push(parseInt(dn.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (' "#+,;<=>\\'.includes(next)) {
        bytes.push(next.charCodeAt(0));
        i += 1;
      } else {
        return undefined;
      }
      keptUpTo = bytes.length;
      continue;
    }
    if (MUST_ESCAPE.has(c)) return undefined;
    bytes.push(...encoder.encode(c));
  }
  // Unescaped trailing spaces are not part of the value.
  let end = bytes.length;
  while (end > keptUpTo && bytes[end - 1] === 0x20) end--;
  try {
    return { value: utf8.decode(new Uint8Array(bytes.slice(0, end))), end: i };
  } catch {
    return undefined;
  }
}

/** The RDNs of `dn`, most specific first, or undefined when it is not a DN we can read. */
export function parseDn(dn: string): Rdn[] | undefined {
  if (dn.trim() === '') return [];
  const rdns: Rdn[] = [];
  let avas: Ava[] = [];
  let i = 0;
  for (;;) {
    const eq = dn.indexOf('=', i);
    if (eq < 0) return undefined;
    const type = attributeType(dn.slice(i, eq));
    if (type === undefined) return undefined;
    const read = readValue(dn, eq + 1);
    if (!read) return undefined;
    avas.push({ type, value: read.value });
    i = read.end;
    if (dn[i] === '+') {
      i++;
      continue;
    }
    rdns.push([...avas].sort((a, b) => (a.type === b.type ? (a.value < b.value ? -1 : 1) : a.type < b.type ? -1 : 1)));
    avas = [];
    if (i >= dn.length) return rdns;
    i++; // the ','
  }
}

/**
 * How a directory compares values of the attributes found in DNs (caseIgnoreMatch after
 * RFC 4518 preparation, approximately): NFKC, case-folded, inner spaces collapsed.
 */
const valueKey = (v: string): string => (v.startsWith('#') ? v : v.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim());

const rdnKey = (rdn: Rdn): string =>
  rdn
    .map((a) => `${a.type}=${valueKey(a.value)}`)
    .sort()
    .join('+');

/** One string per DN for sets and maps, equal exactly when the DNs are; undefined for a non-DN. */
export function dnKey(dn: string): string | undefined {
  const rdns = parseDn(dn);
  // JSON: no RDN content can fake a separator.
  return rdns ? JSON.stringify(rdns.map(rdnKey)) : undefined;
}

/** How many RDNs `dn` has below `base` (0: the same entry), or undefined when it is not under it. */
export function depthBelow(dn: string, base: string): number | undefined {
  const d = parseDn(dn);
  const b = parseDn(base);
  if (!d || !b || d.length < b.length) return undefined;
  const offset = d.length - b.length;
  for (let k = 0; k < b.length; k++) if (rdnKey(d[offset + k] as Rdn) !== rdnKey(b[k] as Rdn)) return undefined;
  return offset;
}

export const isUnderDn = (dn: string, base: string): boolean => depthBelow(dn, base) !== undefined;

/** A DN with at least one RDN, as RFC 4514 writes it. */
export function looksLikeDn(s: string): boolean {
  return (parseDn(s)?.length ?? 0) > 0;
}
