import { describe, expect, it } from 'vitest';
import { depthBelow, dnKey, isUnderDn, looksLikeDn, parseDn } from '../../src/identity/ldap-dn.js';

const BASE = 'ou=groups,dc=corp,dc=example';

describe('DNs parsed per RFC 4514', () => {
  it('does not take an escaped comma for an RDN boundary: the review DN is not under ou=groups', () => {
    const forged = 'cn=ml-platform-admins,ou=selfservice\\,ou=groups,dc=corp,dc=example';
    expect(parseDn(forged)).toEqual([
      [{ type: 'cn', value: 'ml-platform-admins' }],
      [{ type: 'ou', value: 'selfservice,ou=groups' }],
      [{ type: 'dc', value: 'corp' }],
      [{ type: 'dc', value: 'example' }],
    ]);
    expect(isUnderDn(forged, BASE)).toBe(false);
    // The same comma as a hex escape, and hidden in a multi-valued RDN.
    expect(isUnderDn('cn=x,ou=selfservice\\2Cou=groups,dc=corp,dc=example', BASE)).toBe(false);
    expect(isUnderDn('cn=x,ou=a+description=b\\,ou=groups,dc=corp,dc=example', BASE)).toBe(false);
  });

  it('undoes escapes: specials, UTF-8 hex pairs, escaped leading and trailing spaces', () => {
    expect(parseDn('cn=Doe\\, Jane (ops)*,ou=people')?.[0]).toEqual([{ type: 'cn', value: 'Doe, Jane (ops)*' }]);
    expect(parseDn('CN=caf\\C3\\A9,DC=x')?.[0]).toEqual([{ type: 'cn', value: 'café' }]);
    expect(parseDn('cn=\\ lead\\ ,dc=x')?.[0]).toEqual([{ type: 'cn', value: ' lead ' }]);
    expect(parseDn('cn=\\#1\\+\\;\\<\\>\\"\\=\\\\,dc=x')?.[0]).toEqual([{ type: 'cn', value: '#1+;<>"=\\' }]);
    expect(parseDn('cn=#04024869,dc=x')?.[0]).toEqual([{ type: 'cn', value: '#04024869' }]);
  });

  it('compares attribute types ignoring case, OIDs as their names, values as the directory does', () => {
    expect(isUnderDn('CN=ML, OU=Groups,DC=Corp,DC=Example', BASE)).toBe(true);
    expect(isUnderDn('cn=ml,2.5.4.11=groups,0.9.2342.19200300.100.1.25=corp,DC=example', BASE)).toBe(true);
    expect(isUnderDn('cn=ml,ou=Gr\\6Fups,dc=corp,dc=example', BASE)).toBe(true);
    expect(isUnderDn('cn=ml,ou=groupsx,dc=corp,dc=example', BASE)).toBe(false);
    expect(isUnderDn('cn=ml,xou=groups,dc=corp,dc=example', BASE)).toBe(false);
    expect(isUnderDn('dc=example', BASE)).toBe(false);
    expect(dnKey('cn=a+uid=b,dc=x')).toBe(dnKey('UID=b + CN=a , DC=x'));
    expect(dnKey('cn=a+uid=b,dc=x')).not.toBe(dnKey('cn=a,uid=b,dc=x'));
    expect(dnKey('cn=a\\,b,dc=x')).not.toBe(dnKey('cn=a,cn=b,dc=x'));
  });

  it('counts the levels below a base', () => {
    expect(depthBelow(BASE, BASE)).toBe(0);
    expect(depthBelow(`cn=ml,${BASE}`, BASE)).toBe(1);
    expect(depthBelow(`cn=ml,ou=team,${BASE}`, BASE)).toBe(2);
    expect(depthBelow('cn=ml,ou=people,dc=corp,dc=example', BASE)).toBeUndefined();
  });

  it.each([
    'ml-admins',
    'cn=a;dc=x',
    'cn="quoted",dc=x',
    'cn=a<b,dc=x',
    'cn=a\\',
    'cn=a\\zz,dc=x',
    'cn=\\ff\\fe,dc=x',
    'cn=#abc,dc=x',
    'c n=a,dc=x',
    '1cn=a',
    'cn=a,,dc=x',
    'cn=a\u0000,dc=x',
  ])('refuses %j: unreadable DNs are never under anything', (dn) => {
    expect(parseDn(dn)).toBeUndefined();
    expect(isUnderDn(dn, BASE)).toBe(false);
    expect(looksLikeDn(dn)).toBe(false);
  });

  it('tells DNs from group names', () => {
    expect(looksLikeDn(`cn=ml,${BASE}`)).toBe(true);
    expect(looksLikeDn('ml')).toBe(false);
    expect(looksLikeDn('')).toBe(false);
  });
});
