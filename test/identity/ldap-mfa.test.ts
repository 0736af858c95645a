import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Change, Attribute } from 'ldapts';
import { validateConfig } from '../../src/config/validate.js';
import type { LdapIdentityConfig } from '../../src/config/identity-ldap-schema.js';
import { createLdapSource } from '../../src/identity/ldap.js';
import { base32Decode, totp } from '../../src/mfa/totp.js';
import { AUTHN_CONTEXT_MFA } from '../../src/saml/assertion.js';
import { baseConfig, hiddenField, login, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { extractForm, responseFacts } from '../helpers/saml-sp.js';
import { SUFFIX, startSlapd, type Slapd } from './slapd.js';

// An LDAP user's second factor, against a real slapd: enrolled under the directory's stable
// id (entryUUID), so it follows the person through a rename of their uid and DN.

const SERVICE_DN = `cn=gateway,${SUFFIX}`;
const SERVICE_PASSWORD = 'svc-Secret-mfa-1';
const PEOPLE = `ou=people,${SUFFIX}`;
const PASSWORD = 'erin-Pass-5521';

let slapd: Slapd;
let gw: TestGateway;

beforeAll(async () => {
  slapd = await startSlapd();
  const c = await slapd.admin();
  try {
    await c.add(SUFFIX, { objectClass: ['dcObject', 'organization'], dc: 'corp', o: 'Corp' });
    await c.add(SERVICE_DN, { objectClass: ['organizationalRole', 'simpleSecurityObject'], cn: 'gateway', userPassword: SERVICE_PASSWORD });
    await c.add(PEOPLE, { objectClass: ['organizationalUnit'], ou: 'people' });
    await c.add(`uid=erin,${PEOPLE}`, { objectClass: ['inetOrgPerson'], uid: 'erin', cn: 'Erin', sn: 'E', userPassword: PASSWORD });
    await c.add(`cn=ml,${SUFFIX}`, { objectClass: ['groupOfNames'], cn: 'ml', member: [`uid=erin,${PEOPLE}`] });
  } finally {
    await c.unbind();
  }
  const ldap = {
    url: slapd.url,
    bindDN: SERVICE_DN,
    bindPasswordEnv: 'TEST_LDAP_BIND',
    userBase: PEOPLE,
    groups: { from: 'search', base: SUFFIX },
  };
  const v = validateConfig(baseConfig({ identity: { source: 'ldap', ldap } }));
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  const cfg = v.config.identity.ldap as LdapIdentityConfig;
  gw = await startGateway({
    config: baseConfig({ identity: { source: ['ldap'], ldap } }),
    extraSources: [createLdapSource(cfg, { TEST_LDAP_BIND: SERVICE_PASSWORD })],
  });
}, 60_000);
afterAll(async () => {
  await gw.close();
  await slapd.stop();
});

describe('second factor for LDAP users', () => {
  it('enrols under the entryUUID, asks for it at the next sign-in, and keeps it through a rename', async () => {
    const { jar, res } = await login(gw, 'erin', PASSWORD);
    expect(res.headers.location).toBe('/');
    const page = await request(gw, jar, 'GET', '/account/security');
    const csrf = hiddenField(page.body, 'csrf');
    const setup = await request(gw, jar, 'POST', '/account/security/totp/begin', { csrf });
    const secret = base32Decode(/<code id="totp-secret">([^<]+)<\/code>/.exec(setup.body)?.[1] ?? '')!;
    expect((await request(gw, jar, 'POST', '/account/security/totp', { csrf, code: totp(secret, gw.clock.now) })).statusCode).toBe(200);

    const dir = join(gw.dir, 'mfa');
    const [file] = await readdir(dir);
    const stored = JSON.parse(await readFile(join(dir, file!), 'utf8'));
    expect(stored).toMatchObject({ source: 'ldap', username: 'erin' });
    expect(stored.key).toMatch(/^ldap:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    // Renamed in the directory: same entryUUID, new uid and DN.
    const c = await slapd.admin();
    try {
      await c.modifyDN(`uid=erin,${PEOPLE}`, 'uid=erin.e');
      await c.modify(`cn=ml,${SUFFIX}`, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'member', values: [`uid=erin.e,${PEOPLE}`] }) }),
      ]);
    } finally {
      await c.unbind();
    }
    gw.clock.now += 30_000;
    const renamed = await login(gw, 'erin.e', PASSWORD, '/sso/pai');
    expect(renamed.res.headers.location).toBe('/login/mfa');
    const challenge = await request(gw, renamed.jar, 'GET', '/login/mfa');
    const ok = await request(gw, renamed.jar, 'POST', '/login/mfa/totp', {
      csrf: hiddenField(challenge.body, 'csrf'),
      code: totp(secret, gw.clock.now),
    });
    expect(ok.headers.location).toBe('/sso/pai');
    const handOff = await request(gw, renamed.jar, 'GET', '/sso/pai');
    const facts = responseFacts(Buffer.from(extractForm(handOff.body).samlResponse, 'base64').toString('utf8'));
    expect(facts.authn?.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'AuthnContextClassRef')[0]?.textContent).toBe(
      AUTHN_CONTEXT_MFA,
    );
    expect(gw.logs.filter((l) => l['audit'] === 'mfa.verified')).toMatchObject([{ user: 'erin.e', source: 'ldap', method: 'totp' }]);
    // The file's clear name follows the rename, so `pai-sso user reset-mfa erin.e` finds it.
    expect(JSON.parse(await readFile(join(dir, file!), 'utf8'))).toMatchObject({ key: stored.key, username: 'erin.e' });
  });
});
