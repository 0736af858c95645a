import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ROLE_SESSION_NAME_PATTERN, roleSessionName } from '../../src/alibaba.js';
import { assertionSubject } from '../../src/mapping/subject.js';
import type { SourceKind } from '../../src/identity/user.js';

const SOURCES: SourceKind[] = ['local', 'ldap', 'oidc', 'saml', 'header'];
const HASH = '[A-Za-z0-9_-]{12}';

describe('RoleSessionName', () => {
  it('reads like the person: the readable value, then a hash of who they are', () => {
    expect(roleSessionName('alice@example.com', { source: 'local', id: 'u1' })).toMatch(new RegExp(`^alice@example\\.com-${HASH}$`));
    expect(roleSessionName('élodie dupont', { source: 'ldap', id: 'x' })).toMatch(new RegExp(`^elodie-dupont-${HASH}$`));
    expect(roleSessionName('張三', { source: 'oidc', id: 'x' })).toMatch(new RegExp(`^u-${HASH}$`));
    expect(roleSessionName('a'.repeat(80), { source: 'saml', id: 'x' })).toMatch(new RegExp(`^a{19}-${HASH}$`));
  });

  it('never gives two users the review’s colliding values', () => {
    // "zhang san" and a user literally named like its old sanitised form; one name in two sources.
    const spaced = roleSessionName('zhang san', { source: 'local', id: 'id-1' });
    const literal = roleSessionName('zhang-san-6ab6d18b', { source: 'local', id: 'id-2' });
    expect(spaced).not.toBe(literal);
    expect(roleSessionName('alice', { source: 'local', id: 'alice' })).not.toBe(
      roleSessionName('alice', { source: 'header', id: 'alice' }),
    );
    // ...and the literal user cannot pick a username that reproduces anyone else's value.
    expect(roleSessionName(spaced, { source: 'local', id: 'id-2' })).not.toBe(spaced);
  });

  it('is stable for a user: the same source and id give the same value, whatever the readable part', () => {
    const who = { source: 'ldap', id: '2f0c-uuid' };
    expect(roleSessionName('bob', who)).toBe(roleSessionName('bob', { ...who }));
    expect(roleSessionName('bob', who).slice(-12)).toBe(roleSessionName('robert', who).slice(-12));
  });

  it('property: every value fits Alibaba’s rule, and distinct (source, id) pairs never share a value', () => {
    const who = fc.record({ source: fc.constantFrom(...SOURCES), id: fc.string({ unit: 'grapheme', maxLength: 80 }) });
    const readable = fc.string({ unit: 'binary', maxLength: 120 });
    fc.assert(
      fc.property(readable, who, (value, w) => ROLE_SESSION_NAME_PATTERN.test(roleSessionName(value, w))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.tuple(readable, who), fc.tuple(readable, who), ([va, a], [vb, b]) => {
        fc.pre(a.source !== b.source || a.id !== b.id);
        return roleSessionName(va, a) !== roleSessionName(vb, b);
      }),
      { numRuns: 2000 },
    );
    // Adversarial: everyone with the same readable value, many ids.
    fc.assert(
      fc.property(
        fc.uniqueArray(who, { minLength: 2, maxLength: 300, selector: (w) => `${w.source}\u0000${w.id}` }),
        fc.string(),
        (users, value) => {
          const names = users.map((u) => roleSessionName(value, u));
          return new Set(names).size === names.length;
        },
      ),
      { numRuns: 100 },
    );
  });

  it('is what assertions carry, from the configured field and the user’s source and id', () => {
    const user = { id: 'id-7', username: 'zhang san', email: 'zs@example.com', source: 'ldap' as const };
    const subject = assertionSubject(user, { nameId: { format: 'persistent', source: 'id' }, roleSessionName: { source: 'email' } });
    expect(subject.roleSessionName).toBe(roleSessionName('zs@example.com', user));
    expect(subject.nameId).toEqual({ format: 'persistent', value: 'id-7' });
  });
});
