import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Attribute, Change } from 'ldapts';
import type { StateStore } from '../../src/state/store.js';
import { createMemoryStore } from '../../src/state/memory.js';
import { validateConfig } from '../../src/config/validate.js';
import type { LdapIdentityConfig } from '../../src/config/identity-ldap-schema.js';
import { createLdapSource } from '../../src/identity/ldap.js';
import { Jar, baseConfig, hiddenField, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { SUFFIX, startSlapd, type Slapd } from './slapd.js';

// Group freshness against a real directory: the groups are re-read with the service
// account (no user password at hand) once they are older than session.groupsMaxAgeSeconds.

const SERVICE_DN = `cn=gateway,${SUFFIX}`;
const SERVICE_PASSWORD = 'svc-Secret-51c0ffee';
const env = { TEST_LDAP_BIND: SERVICE_PASSWORD };
const PEOPLE = `ou=people,${SUFFIX}`;
const GROUPS = `ou=groups,${SUFFIX}`;
const ALICE_DN = `uid=alice,${PEOPLE}`;
const BOB_DN = `uid=bob,${PEOPLE}`;
const ALICE_PW = 'alice-Pass-7731';

let slapd: Slapd;
let gw: TestGateway | undefined;

beforeAll(async () => {
  slapd = await startSlapd();
  const c = await slapd.admin();
  const person = (uid: string, password: string) => ({ objectClass: ['inetOrgPerson'], uid, cn: uid, sn: uid, userPassword: password });
  try {
    await c.add(SUFFIX, { objectClass: ['dcObject', 'organization'], dc: 'corp', o: 'Corp' });
    await c.add(SERVICE_DN, { objectClass: ['organizationalRole', 'simpleSecurityObject'], cn: 'gateway', userPassword: SERVICE_PASSWORD });
    await c.add(PEOPLE, { objectClass: ['organizationalUnit'], ou: 'people' });
    await c.add(GROUPS, { objectClass: ['organizationalUnit'], ou: 'groups' });
    await c.add(ALICE_DN, person('alice', ALICE_PW));
    await c.add(BOB_DN, person('bob', 'bob-Pass-1'));
    await c.add(`cn=ml,${GROUPS}`, { objectClass: ['groupOfNames'], cn: 'ml', member: [ALICE_DN, BOB_DN] });
  } finally {
    await c.unbind();
  }
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});
afterAll(async () => {
  // Unset when beforeAll failed: that failure is the one to report.
  await (slapd as Slapd | undefined)?.stop();
});

async function gateway(store?: StateStore): Promise<TestGateway> {
  const ldap = {
    url: slapd.url,
    bindDN: SERVICE_DN,
    bindPasswordEnv: 'TEST_LDAP_BIND',
    userBase: PEOPLE,
    groups: { base: GROUPS },
    timeoutMs: 2000,
  };
  const v = validateConfig(baseConfig({ identity: { source: 'ldap', ldap } }));
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  const cfg = v.config.identity.ldap as LdapIdentityConfig;
  return startGateway({
    config: baseConfig({ identity: { source: ['ldap'], ldap }, session: { groupsMaxAgeSeconds: 300 } }),
    extraSources: [createLdapSource(cfg, env)],
    ...(store ? { store } : {}),
  });
}

async function loginLdap(g: TestGateway): Promise<Jar> {
  const jar = new Jar();
  const page = await request(g, jar, 'GET', '/login');
  const res = await request(g, jar, 'POST', '/login', { username: 'alice', password: ALICE_PW, csrf: hiddenField(page.body, 'csrf') });
  expect(res.statusCode).toBe(303);
  return jar;
}

const membership = async (operation: 'add' | 'delete') => {
  const c = await slapd.admin();
  try {
    await c.modify(`cn=ml,${GROUPS}`, new Change({ operation, modification: new Attribute({ type: 'member', values: [ALICE_DN] }) }));
  } finally {
    await c.unbind();
  }
};

const audits = (g: TestGateway, event: string) => g.logs.filter((l) => l['audit'] === event);

describe('LDAP group freshness', () => {
  it('gives the 403 page, after the maximum age, to a user removed from the group in the directory', async () => {
    gw = await gateway();
    const jar = await loginLdap(gw);
    expect((await request(gw, jar, 'GET', '/sso/pai')).statusCode).toBe(200);
    await membership('delete');
    const userBinds = () => (slapd.log().match(/BIND dn="uid=alice,ou=people,dc=corp,dc=test"/g) ?? []).length;
    const bindsAfterLogin = userBinds();
    expect(bindsAfterLogin).toBeGreaterThan(0);
    try {
      // Within the age the session's groups stand (no directory round trip per click).
      gw.clock.now += 299_000;
      expect((await request(gw, jar, 'GET', '/sso/pai')).statusCode).toBe(200);
      gw.clock.now += 2_000;
      const res = await request(gw, jar, 'GET', '/sso/pai');
      expect(res.statusCode).toBe(403);
      expect(res.body).not.toContain('SAMLResponse');
      expect(audits(gw, 'groups.refresh')).toMatchObject([{ result: 'updated', user: 'alice', source: 'ldap', groups: [] }]);
      expect(audits(gw, 'assertion.denied')).toMatchObject([{ reason: 'no-role', user: 'alice' }]);
      // Read with the service account: the user did not bind again.
      expect(userBinds()).toBe(bindsAfterLogin);
    } finally {
      await membership('add');
    }
    // Back in the group: the next refresh grants the role again.
    gw.clock.now += 301_000;
    expect((await request(gw, jar, 'GET', '/sso/pai')).statusCode).toBe(200);
  });

  it('refuses with 503, never the old groups, when the directory cannot be reached for a refresh', async () => {
    // Two replicas sharing the session records: the second one's directory is gone.
    const store = createMemoryStore();
    gw = await gateway(store);
    const jar = await loginLdap(gw);
    // A second gateway whose directory is gone: same cookie secret, same session.
    const ldap = {
      url: 'ldap://127.0.0.1:9',
      bindDN: SERVICE_DN,
      bindPasswordEnv: 'TEST_LDAP_BIND',
      userBase: PEOPLE,
      groups: { base: GROUPS },
      timeoutMs: 500,
    };
    const v = validateConfig(baseConfig({ identity: { source: 'ldap', ldap } }));
    if (!v.ok) throw new Error(JSON.stringify(v.problems));
    const down = await startGateway({
      config: baseConfig({ identity: { source: ['ldap'], ldap }, session: { groupsMaxAgeSeconds: 300 } }),
      extraSources: [createLdapSource(v.config.identity.ldap as LdapIdentityConfig, env)],
      keysDir: `${gw.dir}/certs`,
      store,
    });
    try {
      down.clock.now = gw.clock.now + 301_000;
      const res = await request(down, jar, 'GET', '/sso/pai');
      expect(res.statusCode).toBe(503);
      expect(res.body).not.toContain('SAMLResponse');
      expect(audits(down, 'groups.refresh')).toMatchObject([{ result: 'unavailable', user: 'alice' }]);
      expect(audits(down, 'assertion.issued')).toEqual([]);
    } finally {
      await down.close();
    }
  });
});
