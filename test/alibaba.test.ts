import { describe, expect, it } from 'vitest';
import * as src from '../src/alibaba.js';
import { validateConfig } from '../src/config/validate.js';
import { minimalConfig } from './helpers/fixture.js';
import {
  ATTRIBUTE,
  CN,
  INTL,
  RELAY_STATE_DOMAINS,
  ROLE_SESSION_NAME,
  SESSION_DURATION,
  SITE_SPECS,
  acceptedByBothRoleSessionNameRules,
  rolePair,
} from './spec/alibaba-facts.js';

// src/alibaba.ts against Alibaba's documentation as typed out in test/spec/alibaba-facts.ts.
// A typo in either file fails here, without a browser and without node-saml.

describe('src/alibaba.ts agrees with Alibaba documentation', () => {
  it('has exactly the two documented sites with their ACS, audience, SP metadata, PAI console and domain', () => {
    expect(src.SITE_IDS).toEqual(['cn', 'intl']);
    expect(src.SITES).toEqual(SITE_SPECS);
    expect(src.siteFacts('cn')).toEqual(CN);
    expect(src.siteFacts('intl')).toEqual(INTL);
  });

  it('uses the documented attribute names', () => {
    expect(src.ATTR_ROLE).toBe(ATTRIBUTE.role);
    expect(src.ATTR_ROLE_SESSION_NAME).toBe(ATTRIBUTE.roleSessionName);
    expect(src.ATTR_SESSION_DURATION).toBe(ATTRIBUTE.sessionDuration);
  });

  it('builds role and provider ARNs in the documented shape', () => {
    expect(`${src.roleArn('1234567890123456', 'pai-dev')},${src.samlProviderArn('1234567890123456', 'corp-idp')}`).toBe(
      rolePair('1234567890123456', 'pai-dev', 'corp-idp'),
    );
  });

  it('has the documented session-duration bounds', () => {
    expect(src.SESSION_DURATION_MIN).toBe(SESSION_DURATION.min);
    expect(src.SESSION_DURATION_MAX).toBe(SESSION_DURATION.roleMaxSessionDuration.max);
    expect(src.MAX_SESSION_DURATION_MIN).toBe(SESSION_DURATION.roleMaxSessionDuration.min);
    expect(src.DEFAULT_SESSION_DURATION).toBe(SESSION_DURATION.roleMaxSessionDuration.default);
  });

  it('accepts a configured sessionDuration exactly within the documented bounds', () => {
    const withDuration = (sessionDuration: number) =>
      validateConfig({ ...minimalConfig(), roles: { dev: { account: 'prod', roleName: 'pai-developer', sessionDuration } } }).ok;
    expect(withDuration(SESSION_DURATION.min)).toBe(true);
    expect(withDuration(SESSION_DURATION.min - 1)).toBe(false);
    expect(withDuration(SESSION_DURATION.roleMaxSessionDuration.max)).toBe(true);
    expect(withDuration(SESSION_DURATION.roleMaxSessionDuration.max + 1)).toBe(false);
  });

  it('lists the documented RelayState domains and accepts https URLs under exactly those', () => {
    expect([...src.RELAY_STATE_DOMAINS].sort()).toEqual([...RELAY_STATE_DOMAINS].sort());
    for (const d of RELAY_STATE_DOMAINS) {
      expect(src.isAllowedRelayState(`https://x.${d}/p`)).toBe(true);
      expect(src.isAllowedRelayState(`https://${d}/`)).toBe(true);
      expect(src.isAllowedRelayState(`http://x.${d}/`)).toBe(false);
      expect(src.isAllowedRelayState(`https://x.${d}.evil.example/`)).toBe(false);
      expect(src.isAllowedRelayState(`https://evil${d}/`)).toBe(false);
    }
    expect(src.isAllowedRelayState(CN.paiConsole)).toBe(true);
    expect(src.isAllowedRelayState(INTL.paiConsole)).toBe(true);
    expect(src.isAllowedRelayState('https://user@pai.console.aliyun.com/')).toBe(false);
    expect(src.isAllowedRelayState('https://pai.console.aliyun.com:8443/')).toBe(false);
    expect(src.isAllowedRelayState('not a url')).toBe(false);
  });
});

describe('RoleSessionName', () => {
  it('the pattern accepts exactly what both documented rules accept', () => {
    const samples = [
      'a',
      'ab',
      'a'.repeat(32),
      'a'.repeat(33),
      'a'.repeat(64),
      'zhang.san@example.com',
      'x_y-z=1',
      'a,b',
      'a+b',
      'a b',
      'a#b',
      '张三',
      'é1',
    ];
    for (const s of samples) expect([s, src.ROLE_SESSION_NAME_PATTERN.test(s)]).toEqual([s, acceptedByBothRoleSessionNameRules(s)]);
  });

  it('roleSessionName always emits a name both rules accept, readable prefix first, distinct per (source, id)', () => {
    const inputs = ['alice', 'a', '', ' ', '张三', 'zhang san', 'Zoë O’Brien', 'a'.repeat(200), '-.-', 'x,y+z', '#'.repeat(40), 'é'];
    for (const v of inputs) {
      const name = src.roleSessionName(v, { source: 'local', id: v });
      expect([v, acceptedByBothRoleSessionNameRules(name)]).toEqual([v, true]);
    }
    expect(src.roleSessionName('alice', { source: 'local', id: 'u1' })).toMatch(/^alice-/);
    expect(src.roleSessionName('a'.repeat(200), { source: 'local', id: 'u1' }).length).toBeLessThanOrEqual(ROLE_SESSION_NAME.older.max);
    // Names that read alike, and one literally spelling another's output, stay distinct.
    const zs = src.roleSessionName('zhang san', { source: 'local', id: 'u1' });
    expect(src.roleSessionName('zhang#san', { source: 'local', id: 'u2' })).not.toBe(zs);
    expect(src.roleSessionName(zs, { source: 'local', id: 'u3' })).not.toBe(zs);
    // The same person from two sources is two people to ActionTrail.
    expect(src.roleSessionName('alice', { source: 'ldap', id: 'u1' })).not.toBe(
      src.roleSessionName('alice', { source: 'local', id: 'u1' }),
    );
  });
});
