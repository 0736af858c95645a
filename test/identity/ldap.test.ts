import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Attribute, Change, Client, FilterParser } from 'ldapts';
import { validateConfig } from '../../src/config/validate.js';
import type { LdapIdentityConfig } from '../../src/config/identity-ldap-schema.js';
import { createLdapSource, LdapSourceError, resolveLdapSettings } from '../../src/identity/ldap.js';
import { adNestedGroupsFilter, escapeFilterValue, fillFilter, formatObjectGuid } from '../../src/identity/ldap-filter.js';
import { createSources, mappingWarnings } from '../../src/identity/sources.js';
import { createRoleMapper } from '../../src/mapping/roles.js';
import { uniqueGroupName } from '../../src/identity/ldap-groups.js';
import { ConfigError } from '../../src/config/errors.js';
import { exitCodeFor, httpStatusFor } from '../../src/errors.js';
import { ASADMIN, ACCOUNT, Jar, baseConfig, hiddenField, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { alibabaSp, extractForm } from '../helpers/saml-sp.js';
import { ATTR_ROLE, ATTR_ROLE_SESSION_NAME } from '../spec/alibaba-facts.js';
import { ROOT_DN, SUFFIX, freePort, startSlapd, type Slapd } from './slapd.js';

const SERVICE_DN = `cn=gateway,${SUFFIX}`;
const SERVICE_PASSWORD = 'svc-Secret-9f3b1c77';
const env = { TEST_LDAP_BIND: SERVICE_PASSWORD };
const PEOPLE = `ou=people,${SUFFIX}`;
const GROUPS = `ou=groups,${SUFFIX}`;
const ALICE_PW = 'alice-Pass-4417';
const BOB_PW = 'bob-Pass-8812';
const JANE_PW = 'jane-Pass-2290';
const JANE_UID = 'jane(ops)*\\';
const JANE_DN = `cn=Doe\\, Jane (ops)*,${PEOPLE}`;
const ERIN_PW = 'erin-Pass-5521';
const SELFSERVICE = `ou=selfservice\\,ou=groups,${SUFFIX}`;
const TEAMS = `ou=teams,${GROUPS}`;
const g = (cn: string) => `cn=${cn},${GROUPS}`;
const DEV = `acs:ram::${ACCOUNT}:role/pai-developer,acs:ram::${ACCOUNT}:saml-provider/corp-idp`;

let slapd: Slapd;

async function seed(dir: Slapd): Promise<void> {
  const c = await dir.admin();
  const person = (uid: string, cn: string, password: string, extra: Record<string, string> = {}) => ({
    objectClass: ['inetOrgPerson'],
    uid,
    cn,
    sn: cn.split(' ').pop() ?? cn,
    mail: `${uid.replace(/[^a-z]/g, '')}@corp.test`,
    userPassword: password,
    ...extra,
  });
  try {
    await c.add(SUFFIX, { objectClass: ['dcObject', 'organization'], dc: 'corp', o: 'Corp' });
    await c.add(SERVICE_DN, { objectClass: ['organizationalRole', 'simpleSecurityObject'], cn: 'gateway', userPassword: SERVICE_PASSWORD });
    await c.add(PEOPLE, { objectClass: ['organizationalUnit'], ou: 'people' });
    await c.add(`ou=contractors,${PEOPLE}`, { objectClass: ['organizationalUnit'], ou: 'contractors' });
    await c.add(GROUPS, { objectClass: ['organizationalUnit'], ou: 'groups' });
    await c.add(`uid=alice,${PEOPLE}`, person('alice', 'Alice Liddell', ALICE_PW, { displayName: 'Alice L.' }));
    await c.add(`uid=bob,${PEOPLE}`, person('bob', 'Bob Builder', BOB_PW));
    await c.add(`uid=carol,${PEOPLE}`, person('carol', 'Carol Ring', 'carol-Pass-1'));
    await c.add(`uid=erin,${PEOPLE}`, person('erin', 'Erin Self', ERIN_PW));
    await c.add(JANE_DN, person(JANE_UID, 'Doe, Jane (ops)*', JANE_PW));
    // Two entries answer to "dave": the directory is ambiguous, so nobody gets in as dave.
    await c.add(`uid=dave,${PEOPLE}`, person('dave', 'Dave One', 'dave-Pass-1'));
    await c.add(`uid=dave,ou=contractors,${PEOPLE}`, person('dave', 'Dave Two', 'dave-Pass-1'));
    // Groups after their members, so the memberof overlay writes memberOf on them.
    await c.add(g('ml-admins'), { objectClass: ['groupOfNames'], cn: 'ml-admins', member: [`uid=alice,${PEOPLE}`] });
    await c.add(g('interns'), { objectClass: ['groupOfNames'], cn: 'interns', member: [`uid=bob,${PEOPLE}`] });
    await c.add(g('researchers'), { objectClass: ['groupOfNames'], cn: 'researchers', member: [g('interns')] });
    await c.add(g('ml'), { objectClass: ['groupOfNames'], cn: 'ml', member: [g('researchers'), JANE_DN] });
    // A same-named group outside ou=groups, e.g. in an OU where people may create groups.
    await c.add(`cn=ml-admins,${PEOPLE}`, { objectClass: ['groupOfNames'], cn: 'ml-admins', member: [`uid=carol,${PEOPLE}`] });
    // The review's DN: one RDN whose value is "selfservice,ou=groups", directly under the suffix.
    await c.add(SELFSERVICE, { objectClass: ['organizationalUnit'], ou: 'selfservice,ou=groups' });
    await c.add(`cn=ml-admins,${SELFSERVICE}`, { objectClass: ['groupOfNames'], cn: 'ml-admins', member: [`uid=erin,${PEOPLE}`] });
    // A sub-OU of the base: its groups count, by DN only (a cn there need not be unique).
    await c.add(TEAMS, { objectClass: ['organizationalUnit'], ou: 'teams' });
    await c.add(`cn=ml-admins,${TEAMS}`, { objectClass: ['groupOfNames'], cn: 'ml-admins', member: [`uid=erin,${PEOPLE}`] });
    await c.add(g('loop-a'), { objectClass: ['groupOfNames'], cn: 'loop-a', member: [`uid=carol,${PEOPLE}`] });
    await c.add(g('loop-b'), { objectClass: ['groupOfNames'], cn: 'loop-b', member: [g('loop-a')] });
    await c.modify(g('loop-a'), new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [g('loop-b')] }) }));
  } finally {
    await c.unbind();
  }
}

beforeAll(async () => {
  slapd = await startSlapd({ tls: true });
  await seed(slapd);
});
afterAll(async () => {
  // Unset when beforeAll failed: that failure is the one to report.
  await (slapd as Slapd | undefined)?.stop();
});

/** The role mapper of a config whose one mapping grants `admin` to `group`. */
function mapperFor(group: string) {
  const v = validateConfig(baseConfig({ mappings: [{ group, roles: ['admin'] }] }));
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return createRoleMapper(v.config);
}

/** An `identity.ldap` section as the config loader would hand it over, defaults filled. */
function ldapConfig(over: Record<string, unknown> = {}): LdapIdentityConfig {
  const ldap = {
    // Unset for configs built before beforeAll ran (or when it failed); those never connect.
    url: (slapd as Slapd | undefined)?.url ?? 'ldap://127.0.0.1:1',
    bindDN: SERVICE_DN,
    bindPasswordEnv: 'TEST_LDAP_BIND',
    userBase: PEOPLE,
    groups: { base: GROUPS, nested: true },
    timeoutMs: 2000,
    ...over,
  };
  const v = validateConfig(baseConfig({ identity: { source: 'ldap', ldap } }));
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.config.identity.ldap as LdapIdentityConfig;
}

describe('LDAP filter and DN text', () => {
  it('escapes the five RFC 4515 characters so a username cannot become a wildcard or a clause', () => {
    expect(escapeFilterValue('*)(uid=*')).toBe('\\2a\\29\\28uid=\\2a');
    expect(escapeFilterValue('a\\b\u0000c')).toBe('a\\5cb\\00c');
    expect(escapeFilterValue('plain.name-1@corp')).toBe('plain.name-1@corp');
    expect(fillFilter('(&(objectClass=user)(uid={username}))', { username: '*)(|(uid=*' })).toBe(
      '(&(objectClass=user)(uid=\\2a\\29\\28|\\28uid=\\2a))',
    );
  });

  it('keeps $& and $1 in a username literal and leaves unknown placeholders alone', () => {
    expect(fillFilter('(uid={username})(x={other})', { username: "$&$1$'" })).toBe("(uid=$&$1$')(x={other})");
  });

  it("builds AD's in-chain filter with the member DN escaped, and ldapts parses it as an extensible match", () => {
    const f = adNestedGroupsFilter('CN=Doe\\, Jane (x)*,OU=Staff,DC=corp,DC=example');
    expect(f).toBe('(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=CN=Doe\\5c, Jane \\28x\\29\\2a,OU=Staff,DC=corp,DC=example))');
    const parsed = FilterParser.parseString(f);
    expect(parsed.toString()).toContain('member:1.2.840.113556.1.4.1941:=');
  });

  it("prints AD's objectGUID the way AD tools do (first three fields little-endian)", () => {
    const raw = Buffer.from('10325476981badcfdeadbeef00112233', 'hex');
    expect(formatObjectGuid(raw)).toBe('76543210-1b98-cfad-dead-beef00112233');
  });
});

describe('which group names count as unique', () => {
  const at = (groups: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    resolveLdapSettings(ldapConfig({ groups, ...extra }), env);

  it('a single-valued RDN of nameAttribute directly under groups.base, and nothing deeper or multi-valued', () => {
    const s = at({ base: GROUPS });
    expect(uniqueGroupName(s, g('ml'))).toBe('ml');
    expect(uniqueGroupName(s, `CN=ML\\2C Team,${GROUPS.toUpperCase()}`)).toBe('ML, Team');
    expect(uniqueGroupName(s, `cn=ml,${TEAMS}`)).toBeUndefined();
    expect(uniqueGroupName(s, `cn=ml+ou=x,${GROUPS}`)).toBeUndefined();
    expect(uniqueGroupName(s, `ou=ml,${GROUPS}`)).toBeUndefined();
    expect(uniqueGroupName(s, `cn=ml,${SELFSERVICE}`)).toBeUndefined();
    expect(uniqueGroupName(s, GROUPS)).toBeUndefined();
    expect(uniqueGroupName(at({}), g('ml'))).toBeUndefined();
  });

  it("AD's sAMAccountName from the group entry, anywhere under the base (unique in the domain)", () => {
    const s = at({ base: SUFFIX, nameAttribute: 'sAMAccountName' }, { directoryType: 'ad' });
    const dn = `CN=ML Admins,OU=Deep,OU=Groups,${SUFFIX}`;
    expect(uniqueGroupName(s, dn, { dn, sAMAccountName: 'ml-admins' })).toBe('ml-admins');
    // Not from a memberOf value alone (no entry), and not outside the base.
    expect(uniqueGroupName(s, dn)).toBeUndefined();
    expect(uniqueGroupName(s, 'CN=x,DC=other', { dn: 'CN=x,DC=other', sAMAccountName: 'x' })).toBeUndefined();
    // Any other directory: sAMAccountName is just an attribute there.
    const plain = at({ base: SUFFIX, nameAttribute: 'sAMAccountName' });
    expect(uniqueGroupName(plain, dn, { dn, sAMAccountName: 'ml-admins' })).toBeUndefined();
  });
});

describe('LDAP configuration', () => {
  it('fills Active Directory defaults from directoryType', () => {
    const s = resolveLdapSettings(ldapConfig({ url: 'ldaps://dc1.corp.example:636', directoryType: 'ad' }), env);
    expect(s).toMatchObject({
      userFilter: '(&(objectClass=user)(sAMAccountName={username}))',
      usernameAttribute: 'sAMAccountName',
      idAttribute: 'objectGUID',
      displayNameAttribute: 'displayName',
      secure: true,
      groups: { filter: '(&(objectClass=group)(member={dn}))' },
    });
    expect(s.tls).toMatchObject({ host: 'dc1.corp.example', servername: 'dc1.corp.example', minVersion: 'TLSv1.2' });
  });

  it.each([
    ['a URL with credentials', { url: 'ldap://admin:pw@127.0.0.1' }, 'identity.ldap.url'],
    ['an http URL', { url: 'http://127.0.0.1' }, 'identity.ldap.url'],
    ['a password in place of its variable name', { bindPasswordEnv: 'hunter2 hunter2' }, 'identity.ldap.bindPasswordEnv'],
    ['an unknown key', { bindPassword: 'x' }, 'identity.ldap.bindPassword'],
  ])('refuses %s at config load', (_label, over, path) => {
    const v = validateConfig(baseConfig({ identity: { source: 'ldap', ldap: { url: 'ldap://127.0.0.1', userBase: PEOPLE, ...over } } }));
    expect(v.ok).toBe(false);
    expect(!v.ok && v.problems.map((p) => p.path)).toContain(path);
  });

  it.each([
    ['startTLS on ldaps://', { url: 'ldaps://127.0.0.1', startTLS: true }, /identity\.ldap\.startTLS: is for ldap:\/\//],
    ['nested groups without groups.base', { groups: { nested: true } }, /groups\.base: is required/],
    ['a user filter without {username}', { userFilter: '(uid=alice)' }, /must contain \{username\}/],
    ['an unreadable caFile', { caFile: '/nonexistent/ca.pem' }, /caFile: cannot read \/nonexistent\/ca.pem: ENOENT/],
  ])('refuses %s when the source is built', (_label, over, message) => {
    expect(() => createLdapSource(ldapConfig(over), env)).toThrow(ConfigError);
    expect(() => createLdapSource(ldapConfig(over), env)).toThrow(message);
  });

  it('lists every settings problem at once, as a config error (exit 2)', () => {
    const build = () =>
      createLdapSource(ldapConfig({ userFilter: '(uid=alice)', groups: { filter: '(member=x)' }, caFile: '/nonexistent/ca.pem' }), {});
    expect(build).toThrow(ConfigError);
    try {
      build();
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.path)).toEqual([
        'identity.ldap.userFilter',
        'identity.ldap.groups.filter',
        'identity.ldap.caFile',
        'identity.ldap.bindPasswordEnv',
      ]);
      expect(exitCodeFor(err)).toBe(2);
    }
  });

  it('names the missing environment variable, never a value', () => {
    expect(() => createLdapSource(ldapConfig(), {})).toThrow(
      `identity.ldap.bindPasswordEnv: environment variable TEST_LDAP_BIND must hold the password of ${SERVICE_DN}`,
    );
  });

  it('warns about a mapping DN outside groups.base or written with spaces, and about names without groups.base', () => {
    const src = createLdapSource(ldapConfig(), env);
    expect(src.checkMappingGroup?.('ml')).toBeUndefined();
    expect(createLdapSource(ldapConfig({ groups: {} }), env).checkMappingGroup?.('ml')).toMatch(/by name only with groups\.base set/);
    expect(src.checkMappingGroup?.(`cn=ml,ou=selfservice\\,${GROUPS}`)).toMatch(/not under it/);
    expect(src.checkMappingGroup?.(g('ml'))).toBeUndefined();
    expect(src.checkMappingGroup?.('cn=ml,ou=teams,dc=corp,dc=test')).toMatch(/not under it/);
    expect(src.checkMappingGroup?.('cn=ml, ou=groups, dc=corp, dc=test')).toMatch(/without spaces after commas/);
  });

  it('is built by createSources from identity.source: ldap, and feeds mapping warnings', async () => {
    const v = validateConfig(
      baseConfig({
        identity: {
          source: 'ldap',
          ldap: { url: slapd.url, bindDN: SERVICE_DN, bindPasswordEnv: 'TEST_LDAP_BIND', userBase: PEOPLE, groups: { base: GROUPS } },
        },
        mappings: [
          { group: 'ml', roles: ['dev'] },
          { group: 'cn=ml,ou=elsewhere,dc=corp,dc=test', roles: ['admin'] },
        ],
      }),
    );
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    const sources = await createSources(v.config, { env });
    expect(sources.password.map((s) => s.kind)).toEqual(['ldap']);
    expect(mappingWarnings(v.config, sources)).toEqual([expect.stringMatching(/^mappings\.1\.group .*not under it/)]);
    expect(await sources.password[0]?.authenticate('alice', ALICE_PW)).toMatchObject({ username: 'alice', source: 'ldap' });
  });
});

describe('LDAP against slapd', () => {
  it('signs in with the right password: entryUUID id, profile attributes, group DNs and their cn', async () => {
    const user = await createLdapSource(ldapConfig(), env).authenticate('alice', ALICE_PW);
    expect(user).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      username: 'alice',
      displayName: 'Alice Liddell',
      email: 'alice@corp.test',
      groups: [g('ml-admins')],
      groupNames: { [g('ml-admins')]: 'ml-admins' },
      source: 'ldap',
    });
    // Stable: the same entry gives the same id on the next login.
    expect((await createLdapSource(ldapConfig(), env).authenticate('alice', ALICE_PW))?.id).toBe(user?.id);
  });

  it('answers a wrong password and an unknown user the same way: undefined', async () => {
    const src = createLdapSource(ldapConfig(), env);
    expect(await src.authenticate('alice', 'wrong-password')).toBeUndefined();
    expect(await src.authenticate('alice', ALICE_PW.toUpperCase())).toBeUndefined();
    expect(await src.authenticate('mallory', ALICE_PW)).toBeUndefined();
  });

  it('never treats an empty or blank password as a login, though this slapd accepts it as an anonymous bind', async () => {
    const raw = new Client({ url: slapd.url, timeout: 2000 });
    await expect(raw.bind(`uid=alice,${PEOPLE}`, '')).resolves.toBeUndefined();
    await raw.unbind();
    const src = createLdapSource(ldapConfig(), env);
    for (const pw of ['', ' ', '\t\n ']) expect(await src.authenticate('alice', pw)).toBeUndefined();
  });

  it.each([
    ['*)(uid=*', ALICE_PW],
    ['*', ALICE_PW],
    ['al*', ALICE_PW],
    ['alice)(|(uid=*', ALICE_PW],
    ['alice\u0000', ALICE_PW],
    [' alice', ALICE_PW],
  ])('does not let the username %j widen the search', async (username, password) => {
    expect(await createLdapSource(ldapConfig(), env).authenticate(username, password)).toBeUndefined();
  });

  it('signs in a user whose uid and DN contain filter and DN specials, and finds her groups by search too', async () => {
    for (const from of ['memberOf', 'search'] as const) {
      const user = await createLdapSource(ldapConfig({ groups: { base: GROUPS, from } }), env).authenticate(JANE_UID, JANE_PW);
      expect(user).toMatchObject({
        username: JANE_UID,
        displayName: 'Doe, Jane (ops)*',
        groups: [g('ml')],
        groupNames: { [g('ml')]: 'ml' },
      });
    }
  });

  it('ignores memberOf groups outside groups.base, so a same-named rogue group grants nothing', async () => {
    const scoped = await createLdapSource(ldapConfig({ groups: { base: GROUPS } }), env).authenticate('carol', 'carol-Pass-1');
    expect(scoped?.groups).not.toContain(`cn=ml-admins,${PEOPLE}`);
    expect(Object.values(scoped?.groupNames ?? {})).not.toContain('ml-admins');
  });

  it.each(['memberOf', 'search'] as const)(
    'compares DNs by RDN: a group in "ou=selfservice\\,ou=groups" is not under ou=groups (groups from %s)',
    async (from) => {
      const erin = await createLdapSource(ldapConfig({ groups: { base: GROUPS, from } }), env).authenticate('erin', ERIN_PW);
      expect(erin?.groups).toEqual([`cn=ml-admins,${TEAMS}`]);
      // Under the base but one OU down: a cn there is not unique, so it is no display name.
      expect(erin?.groupNames).toEqual({});
      const map = mapperFor('ml-admins');
      expect(map(erin!).roles).toEqual([]);
      const byDn = mapperFor(`cn=ml-admins,${TEAMS}`);
      expect(byDn(erin!).roles.map((r) => r.key)).toEqual(['admin']);
    },
  );

  it('without groups.base keeps memberOf groups by DN and gives them no display name', async () => {
    const user = await createLdapSource(ldapConfig({ groups: {} }), env).authenticate('alice', ALICE_PW);
    expect(user?.groups).toEqual([g('ml-admins')]);
    expect(user?.groupNames).toEqual({});
    const carol = await createLdapSource(ldapConfig({ groups: {} }), env).authenticate('carol', 'carol-Pass-1');
    const map = mapperFor('ml-admins');
    expect(map(carol!).roles).toEqual([]);
  });

  it('refuses a username that matches two entries, even with the right password', async () => {
    expect(await createLdapSource(ldapConfig(), env).authenticate('dave', 'dave-Pass-1')).toBeUndefined();
  });

  it.each(['memberOf', 'search'] as const)('follows nested groups breadth-first (groups from %s), bounded by maxDepth', async (from) => {
    const nested = await createLdapSource(ldapConfig({ groups: { base: GROUPS, from, nested: true } }), env).authenticate('bob', BOB_PW);
    expect(nested?.groups).toEqual([g('interns'), g('researchers'), g('ml')]);
    expect(nested?.groupNames).toEqual({ [g('interns')]: 'interns', [g('researchers')]: 'researchers', [g('ml')]: 'ml' });
    const shallow = await createLdapSource(ldapConfig({ groups: { base: GROUPS, from, nested: true, maxDepth: 2 } }), env).authenticate(
      'bob',
      BOB_PW,
    );
    expect(shallow?.groups).toEqual([g('interns'), g('researchers')]);
    const direct = await createLdapSource(ldapConfig({ groups: { base: GROUPS, from, nested: false } }), env).authenticate('bob', BOB_PW);
    expect(direct?.groups).toEqual([g('interns')]);
  });

  it('stops on a group cycle', async () => {
    const user = await createLdapSource(ldapConfig({ groups: { base: GROUPS, nested: true, maxDepth: 20 } }), env).authenticate(
      'carol',
      'carol-Pass-1',
    );
    expect(user?.groups).toEqual([g('loop-a'), g('loop-b')]);
  });

  it('reports ready after a service bind, and not ready with the reason when the service password is wrong', async () => {
    expect(await createLdapSource(ldapConfig(), env).ready()).toEqual({ ok: true });
    const bad = createLdapSource(ldapConfig(), { TEST_LDAP_BIND: 'not-the-password' });
    const status = await bad.ready();
    expect(status.ok).toBe(false);
    expect(status.reason).toMatch(new RegExp(`service bind as ${SERVICE_DN} failed: InvalidCredentialsError \\(49\\)`));
    expect(status.reason).not.toContain('not-the-password');
    await expect(bad.authenticate('alice', ALICE_PW)).rejects.toThrow(LdapSourceError);
    const err: unknown = await bad.authenticate('alice', ALICE_PW).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PAI_SSO_LDAP_UNAVAILABLE', kind: 'unavailable' });
    expect(httpStatusFor(err)).toBe(503);
    const wrongBase = await createLdapSource(ldapConfig({ userBase: `ou=nobody,${SUFFIX}` }), env).ready();
    expect(wrongBase).toMatchObject({ ok: false, reason: expect.stringMatching(/reading userBase ou=nobody.*NoSuchObjectError/) });
  });
});

describe('LDAP when the directory is down', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('throws a clear error from authenticate and is not ready when nothing listens', async () => {
    const port = await freePort();
    const src = createLdapSource(ldapConfig({ url: `ldap://127.0.0.1:${port}` }), env);
    await expect(src.authenticate('alice', ALICE_PW)).rejects.toThrow(
      `LDAP ldap://127.0.0.1:${port}: service bind as ${SERVICE_DN} failed: ECONNREFUSED`,
    );
    expect(await src.ready()).toEqual({
      ok: false,
      reason: `LDAP ldap://127.0.0.1:${port}: service bind as ${SERVICE_DN} failed: ECONNREFUSED`,
    });
  });

  it('gives up on a directory that accepts connections but never answers, within timeoutMs', async () => {
    const srv = createServer((s) => sockets.push(s)).listen(0, '127.0.0.1');
    servers.push(srv);
    await new Promise((r) => srv.once('listening', r));
    const port = (srv.address() as { port: number }).port;
    const src = createLdapSource(ldapConfig({ url: `ldap://127.0.0.1:${port}`, timeoutMs: 300 }), env);
    const t0 = Date.now();
    await expect(src.authenticate('alice', ALICE_PW)).rejects.toThrow(/service bind .* failed: .*timed out/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('reuses a readiness answer for a few seconds so /readyz cannot hammer the directory', async () => {
    let connections = 0;
    const srv = createServer((s) => {
      connections++;
      s.destroy();
    }).listen(0, '127.0.0.1');
    servers.push(srv);
    await new Promise((r) => srv.once('listening', r));
    const port = (srv.address() as { port: number }).port;
    const clock = { now: 1_000_000 };
    const src = createLdapSource(ldapConfig({ url: `ldap://127.0.0.1:${port}` }), env, { now: () => clock.now });
    const statuses = await Promise.all([src.ready(), src.ready(), src.ready()]);
    expect(statuses.every((s) => !s.ok)).toBe(true);
    clock.now += 4000;
    await src.ready();
    expect(connections).toBe(1);
    clock.now += 1500;
    await src.ready();
    expect(connections).toBe(2);
  });
});

describe('LDAP over TLS', () => {
  it('signs in over StartTLS and over ldaps:// trusting the CA file', async () => {
    const startTls = createLdapSource(ldapConfig({ startTLS: true, caFile: slapd.caFile }), env);
    expect(await startTls.ready()).toEqual({ ok: true });
    expect(await startTls.authenticate('bob', BOB_PW)).toMatchObject({
      username: 'bob',
      groups: [g('interns'), g('researchers'), g('ml')],
    });
    const ldaps = createLdapSource(ldapConfig({ url: slapd.ldapsUrl, caFile: slapd.caFile }), env);
    expect(await ldaps.authenticate('alice', ALICE_PW)).toMatchObject({ username: 'alice' });
    expect(await ldaps.authenticate('alice', 'wrong')).toBeUndefined();
  });

  it('refuses a server certificate it cannot verify, before sending any password', async () => {
    for (const over of [{ startTLS: true }, { url: slapd.ldapsUrl }]) {
      const src = createLdapSource(ldapConfig(over), env);
      await expect(src.authenticate('alice', ALICE_PW)).rejects.toThrow(
        /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|self.signed/i,
      );
      const status = await src.ready();
      expect(status.ok).toBe(false);
    }
  });

  it('checks the certificate against the host in the URL, also for StartTLS', async () => {
    // The certificate names 127.0.0.1 and localhost; slapd also listens on 127.0.0.2 for this.
    const url = slapd.url.replace('127.0.0.1', '127.0.0.2');
    const src = createLdapSource(ldapConfig({ url, startTLS: true, caFile: slapd.caFile }), env);
    await expect(src.authenticate('alice', ALICE_PW)).rejects.toThrow(/ERR_TLS_CERT_ALTNAME_INVALID/);
  });
});

describe('LDAP through the gateway', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  async function gateway(over: Record<string, unknown> = {}, environment: NodeJS.ProcessEnv = env) {
    const cfg = ldapConfig(over);
    return startGateway({
      config: baseConfig({
        identity: { source: ['local', 'ldap'], ldap: cfg },
        mappings: [
          { group: 'ml', roles: ['dev'] },
          { group: g('ml-admins'), roles: ['dev', 'admin'] },
        ],
      }),
      extraSources: [createLdapSource(cfg, environment)],
    });
  }

  async function loginLdap(target: TestGateway, username: string, password: string, returnTo = '/') {
    const jar = new Jar();
    const page = await request(target, jar, 'GET', `/login?returnTo=${encodeURIComponent(returnTo)}`);
    const res = await request(target, jar, 'POST', '/login', { username, password, csrf: hiddenField(page.body, 'csrf'), source: 'ldap' });
    return { jar, page, res };
  }

  it('offers the directory on the login form; a nested-group user gets the mapped role in a valid assertion', async () => {
    gw = await gateway();
    const { jar, page, res } = await loginLdap(gw, 'bob', BOB_PW, '/sso/pai');
    expect(page.body).toMatch(/<select id="source" name="source">.*<option value="ldap">Company directory<\/option>/s);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/sso/pai');
    const handoff = await request(gw, jar, 'GET', '/sso/pai');
    expect(handoff.statusCode).toBe(200);
    const { profile } = await alibabaSp('cn', gw.keys.current.pem).validatePostResponseAsync({
      SAMLResponse: extractForm(handoff.body).samlResponse,
    });
    expect(profile?.[ATTR_ROLE]).toBe(DEV);
    expect(profile?.[ATTR_ROLE_SESSION_NAME]).toMatch(/^bob-[A-Za-z0-9_-]{12}$/);
    expect(profile?.nameID).toMatch(/^[0-9a-f-]{36}$/);
    expect(gw.logs.find((l) => l['audit'] === 'login.succeeded')).toMatchObject({ user: 'bob', source: 'ldap', groups: [g('ml')] });
  });

  it('maps a group by its DN too', async () => {
    gw = await gateway();
    const { jar, res } = await loginLdap(gw, 'alice', ALICE_PW, '/sso/pai');
    expect(res.statusCode).toBe(303);
    const picker = await request(gw, jar, 'GET', '/sso/pai');
    expect(picker.statusCode).toBe(200);
    expect(picker.body).toContain('PAI admin');
  });

  it('answers a wrong password, an unknown user and an injection attempt with the same 401 and an audit line', async () => {
    gw = await gateway();
    const bodies: string[] = [];
    for (const [u, p] of [
      ['bob', 'wrong-Pass'],
      ['nobody', BOB_PW],
      ['*)(uid=*', BOB_PW],
      ['b*', BOB_PW],
    ] as const) {
      const { res } = await loginLdap(gw, u, p);
      expect(res.statusCode).toBe(401);
      expect(String(res.headers['set-cookie'] ?? '')).not.toContain('pai_sso=');
      bodies.push(res.body.replace(/value="[^"]*"|nonce="[^"]+"/g, ''));
    }
    expect(new Set(bodies).size).toBe(1);
    expect(gw.logs.filter((l) => l['audit'] === 'login.failed').map((l) => [l['reason'], l['source']])).toEqual(
      Array(4).fill(['bad-credentials', 'ldap']),
    );
  });

  it('with the directory down: 503 and a source-unavailable audit line at login, /readyz not ready, no secret in any log', async () => {
    const port = await freePort();
    gw = await gateway({ url: `ldap://127.0.0.1:${port}` });
    const { res } = await loginLdap(gw, 'bob', BOB_PW);
    expect(res.statusCode).toBe(503);
    expect(gw.logs.filter((l) => l['audit'] === 'login.failed')).toMatchObject([
      { reason: 'source-unavailable', source: 'ldap', user: 'bob' },
    ]);
    const ready = await gw.app.inject({ method: 'GET', url: '/readyz', headers: ASADMIN });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({
      status: 'not ready',
      checks: {
        identity: { ok: false, reason: expect.stringMatching(/^ldap: LDAP ldap:\/\/127\.0\.0\.1:\d+: service bind .*ECONNREFUSED/) },
      },
    });
    const text = gw.logText();
    expect(text).toContain('ECONNREFUSED');
    for (const secret of [SERVICE_PASSWORD, BOB_PW, slapd.rootPassword]) expect(text).not.toContain(secret);
    // The gateway binds as the configured service account, never as the directory's root.
    const reason = ready.json<{ checks: { identity: { reason: string } } }>().checks.identity.reason;
    expect(reason).toContain(`service bind as ${SERVICE_DN} failed`);
    expect(`${reason}\n${text}`).not.toContain(ROOT_DN);
  });

  it('keeps passwords out of the logs when a service bind is refused', async () => {
    gw = await gateway({}, { TEST_LDAP_BIND: 'wrong-Service-Secret' });
    const { res } = await loginLdap(gw, 'alice', ALICE_PW);
    expect(res.statusCode).toBe(503);
    const ready = await gw.app.inject({ method: 'GET', url: '/readyz', headers: ASADMIN });
    expect(ready.statusCode).toBe(503);
    for (const secret of ['wrong-Service-Secret', SERVICE_PASSWORD, ALICE_PW]) {
      expect(gw.logText()).not.toContain(secret);
      expect(ready.body).not.toContain(secret);
    }
  });
});

describe('LDAP with directoryType: ad (on slapd, which lacks the AD rule)', () => {
  it('asks for nested groups in one in-chain search and puts that rule on the wire', async () => {
    // A recording TCP relay in front of slapd: what the source sends, byte for byte.
    const sent: Buffer[] = [];
    const relay = createServer((client) => {
      const upstream = createConnection(Number(new URL(slapd.url).port), '127.0.0.1');
      client.on('data', (d: Buffer) => sent.push(d));
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    }).listen(0, '127.0.0.1');
    await new Promise((r) => relay.once('listening', r));
    try {
      const url = `ldap://127.0.0.1:${(relay.address() as { port: number }).port}`;
      const src = createLdapSource(
        ldapConfig({
          url,
          directoryType: 'ad',
          userFilter: '(uid={username})',
          usernameAttribute: 'uid',
          idAttribute: 'entryUUID',
          displayNameAttribute: 'cn',
        }),
        env,
      );
      const before = slapd.log().length;
      const user = await src.authenticate('bob', BOB_PW);
      // slapd knows neither objectClass=group nor the rule, so nothing matches: this
      // proves the request AD would get, not AD's answer.
      expect(user).toMatchObject({ username: 'bob', groups: [] });
      const wire = Buffer.concat(sent);
      expect(wire.includes('1.2.840.113556.1.4.1941')).toBe(true);
      expect(wire.includes(`uid=bob,${PEOPLE}`)).toBe(true);
      const groupSearches = slapd
        .log()
        .slice(before)
        .split('\n')
        .filter((l) => l.includes(`SRCH base="${GROUPS}"`));
      expect(groupSearches).toHaveLength(1);
    } finally {
      await new Promise((r) => relay.close(r));
    }
  });
});
