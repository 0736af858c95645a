import { describe, expect, it } from 'vitest';
import { createGroupFilter, createRoleMapper, foldAsciiCase, groupsFor } from '../../src/mapping/roles.js';

const config = {
  accounts: {
    a: { accountId: '1111111111111111', samlProvider: 'idp-a', label: 'Prod' },
    b: { accountId: '2222222222222222', samlProvider: 'idp-b' },
  },
  roles: {
    dev: { account: 'a', roleName: 'dev', label: 'Developer', sessionDuration: 3600 },
    ops: { account: 'b', roleName: 'ops' },
  },
  mappings: [
    { group: 'eng', roles: ['dev'] },
    { group: 'sre', roles: ['ops', 'dev'] },
  ],
};

describe('role mapping', () => {
  const map = createRoleMapper(config);

  it('maps groups to role and provider ARNs of the right account', () => {
    const g = map({ groups: ['eng'] });
    expect(g.roles).toEqual([
      {
        key: 'dev',
        roleArn: 'acs:ram::1111111111111111:role/dev',
        providerArn: 'acs:ram::1111111111111111:saml-provider/idp-a',
        label: 'Developer',
        accountId: '1111111111111111',
        accountLabel: 'Prod',
        sessionDuration: 3600,
      },
    ]);
  });

  it('takes the union over groups in config order and remembers which group granted what', () => {
    const g = map({ groups: ['sre', 'eng', 'eng', 'unrelated'] });
    expect(g.roles.map((r) => r.key)).toEqual(['dev', 'ops']);
    expect(g.roles[1]?.roleArn).toBe('acs:ram::2222222222222222:role/ops');
    expect(g.matchedGroups).toEqual(['sre', 'eng']);
    expect(groupsFor(g, [g.roles[1]!])).toEqual(['sre']);
    expect(groupsFor(g, g.roles)).toEqual(['sre', 'eng']);
    // Exactly the granted role keys, each with the groups that granted it.
    expect([...g.grantedBy]).toEqual([
      ['ops', ['sre']],
      ['dev', ['sre', 'eng']],
    ]);
    const other = g.roles.find((r) => r.key === 'ops')!;
    expect(groupsFor(map({ groups: ['eng'] }), [other])).toEqual([]);
  });

  it('refuses a role whose account is not configured', () => {
    expect(() => createRoleMapper({ ...config, roles: { x: { account: 'nope', roleName: 'x' } } })).toThrow(
      'role x refers to unknown account nope',
    );
  });

  it('grants nothing to unmapped groups, and matches case-sensitively', () => {
    expect(map({ groups: ['ENG', 'sales'] }).roles).toEqual([]);
    expect(map({ groups: [] }).roles).toEqual([]);
  });
});

describe('group names and case', () => {
  it('matches a mapping by the group display name when the source sends ids', () => {
    const map = createRoleMapper({ ...config, mappings: [{ group: 'eng', roles: ['dev'] }] });
    const g = map({ groups: ['cn=eng,ou=groups,dc=corp', 'cn=x,ou=groups,dc=corp'], groupNames: { 'cn=eng,ou=groups,dc=corp': 'eng' } });
    expect(g.roles.map((r) => r.key)).toEqual(['dev']);
    expect(g.matchedGroups).toEqual(['cn=eng,ou=groups,dc=corp']);
  });

  it('ignores case only when configured to', () => {
    expect(createRoleMapper(config)({ groups: ['ENG'] }).roles).toEqual([]);
    const folded = createRoleMapper({ ...config, identity: { caseInsensitiveGroups: true } });
    expect(folded({ groups: ['ENG'] }).roles.map((r) => r.key)).toEqual(['dev']);
  });

  it('folds ASCII letters only: a look-alike (Kelvin sign, dotted I) does not become a mapped group', () => {
    const foldedConfig = {
      ...config,
      mappings: [
        { group: 'kube-admins', roles: ['ops'] },
        { group: 'it', roles: ['dev'] },
      ],
      identity: { caseInsensitiveGroups: true },
    };
    const folded = createRoleMapper(foldedConfig);
    expect(folded({ groups: ['Kube-Admins'] }).roles.map((r) => r.key)).toEqual(['ops']);
    expect(folded({ groups: ['\u212Aube-admins'] }).roles).toEqual([]);
    expect(folded({ groups: ['\u0130T'] }).roles).toEqual([]);
    expect(folded({ groups: ['cn=x'], groupNames: { 'cn=x': '\u212Aube-admins' } }).roles).toEqual([]);
    expect(createGroupFilter(foldedConfig)({ groups: ['\u212Aube-admins', 'KUBE-admins'] }).groups).toEqual(['KUBE-admins']);
    expect(foldAsciiCase('ÄB\u212A')).toBe('Äb\u212A');
  });

  it('keeps only mapped groups (by id or name) in the session', () => {
    const slim = createGroupFilter(config);
    const user = { groups: ['g1', 'g2', 'eng'], groupNames: { g1: 'sre', g2: 'marketing' } };
    // Strictly: no key for a group without a display name.
    expect(slim(user)).toStrictEqual({ groups: ['g1', 'eng'], groupNames: { g1: 'sre' } });
    expect(slim({ groups: ['eng', 'x'] })).toStrictEqual({ groups: ['eng'], groupNames: undefined });
  });
});
