import { afterEach, describe, expect, it } from 'vitest';
import { ACCOUNT, Jar, baseConfig, hiddenField, login, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { alibabaSp, extractForm, handoffCsp, responseFacts } from '../helpers/saml-sp.js';
import { ATTR_ROLE, ATTR_ROLE_SESSION_NAME, ATTR_SESSION_DURATION, SITE_SPECS } from '../spec/alibaba-facts.js';
import type { Site } from '../../src/config/schema.js';

const DEV = `acs:ram::${ACCOUNT}:role/pai-developer,acs:ram::${ACCOUNT}:saml-provider/corp-idp`;
const ADMIN = `acs:ram::${ACCOUNT}:role/pai-admin,acs:ram::${ACCOUNT}:saml-provider/corp-idp`;
const PASSWORD = 'correct horse battery';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const audits = (g: TestGateway, event: string) => g.logs.filter((l) => l['audit'] === event);

async function openPai(g: TestGateway, jar: Jar, query = '') {
  return request(g, jar, 'GET', `/sso/pai${query}`);
}

function intlConfig() {
  return baseConfig({
    idp: { entityId: 'https://sso.example.test/saml/metadata', site: 'intl' },
    targets: { pai: { url: 'https://pai.console.alibabacloud.com/?regionId=ap-southeast-1#/workspace/overview' } },
  });
}

describe.each<[Site, () => Record<string, unknown>]>([
  ['cn', () => baseConfig()],
  ['intl', intlConfig],
])('Open PAI on the %s site', (site, config) => {
  it('signs in, then hands a signed Response to the ACS that Alibaba-configured node-saml accepts', async () => {
    gw = await startGateway({ config: config() });
    const anon = new Jar();
    const first = await openPai(gw, anon, '?target=pai');
    expect(first.statusCode).toBe(302);
    expect(first.headers.location).toBe('/login?returnTo=%2Fsso%2Fpai%3Ftarget%3Dpai');

    const { jar, res } = await login(gw, 'alice', PASSWORD, '/sso/pai?target=pai');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/sso/pai?target=pai');

    const page = await openPai(gw, jar, '?target=pai');
    expect(page.statusCode).toBe(200);
    expect(page.headers['cache-control']).toBe('no-store');
    const csp = String(page.headers['content-security-policy']);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    // Exactly: a widened form-action (`https:`) or a dropped directive fails here.
    expect(csp).toBe(handoffCsp(String(nonce), SITE_SPECS[site]));
    expect(page.body).toContain(`<script nonce="${nonce}">`);
    expect(page.body.match(/<script/g)).toHaveLength(1);
    expect(page.body).toMatch(/<button type="submit">/);

    const form = extractForm(page.body);
    expect(form.action).toBe(SITE_SPECS[site].acs);
    expect(form.relayState).toBe((config().targets as Record<string, { url: string }>)['pai']?.url);

    const { profile } = await alibabaSp(site, gw.keys.current.pem).validatePostResponseAsync({ SAMLResponse: form.samlResponse });
    expect(profile?.issuer).toBe(gw.config.idp.entityId);
    expect(profile?.[ATTR_ROLE]).toBe(DEV);
    expect(profile?.[ATTR_ROLE_SESSION_NAME]).toMatch(/^alice-[A-Za-z0-9_-]{12}$/);
    expect(profile?.[ATTR_SESSION_DURATION]).toBe('3600');
    expect(profile?.nameID).toBe('id-alice');

    const xml = Buffer.from(form.samlResponse, 'base64').toString('utf8');
    const f = responseFacts(xml);
    expect(f.destination).toBe(SITE_SPECS[site].acs);
    expect(f.responseIssuer).toBe(gw.config.idp.entityId);
    expect(f.status).toBe('urn:oasis:names:tc:SAML:2.0:status:Success');
    expect(f.assertionCount).toBe(1);
    expect(f.childOrder).toEqual(['Issuer', 'Signature', 'Subject', 'Conditions', 'AuthnStatement', 'AttributeStatement']);
    expect(f.nameIds).toHaveLength(1);
    expect(f.confirmations).toHaveLength(1);
    expect(f.confirmations[0]?.getAttribute('Method')).toBe('urn:oasis:names:tc:SAML:2.0:cm:bearer');
    expect(f.confirmationData[0]?.getAttribute('Recipient')).toBe(SITE_SPECS[site].acs);
    expect(f.confirmationData[0]?.getAttribute('NotOnOrAfter')).toMatch(/Z$/);
    expect(f.audiences).toEqual([SITE_SPECS[site].audience]);
    const notBefore = Date.parse(f.conditions?.getAttribute('NotBefore') ?? '');
    const notOnOrAfter = Date.parse(f.conditions?.getAttribute('NotOnOrAfter') ?? '');
    expect(notOnOrAfter - notBefore).toBe((300 + 60) * 1000);
    expect(f.authn?.getAttribute('SessionIndex')).toMatch(/^_/);
    expect(f.authn?.getAttribute('AuthnInstant')).toMatch(/Z$/);
    expect(f.authn?.getAttribute('SessionNotOnOrAfter')).toMatch(/Z$/);

    const issued = audits(gw, 'assertion.issued');
    expect(issued).toHaveLength(1);
    expect(issued[0]).toMatchObject({
      user: 'alice',
      groups: ['ml'],
      roles: [DEV.split(',')[0]],
      target: 'pai',
      assertionId: f.assertionId,
      ip: '127.0.0.1',
    });
  });
});

describe('Open PAI', () => {
  it('refuses the wrong site audience: a cn assertion does not validate at the intl SP', async () => {
    gw = await startGateway();
    const { jar } = await login(gw, 'alice', PASSWORD);
    const form = extractForm((await openPai(gw, jar)).body);
    await expect(alibabaSp('intl', gw.keys.current.pem).validatePostResponseAsync({ SAMLResponse: form.samlResponse })).rejects.toThrow(
      /audience/i,
    );
  });

  it('issues fresh IDs for every response', async () => {
    gw = await startGateway();
    const { jar } = await login(gw, 'alice', PASSWORD);
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const xml = Buffer.from(extractForm((await openPai(gw, jar)).body).samlResponse, 'base64').toString();
      const f = responseFacts(xml);
      ids.add(String(f.assertionId));
      ids.add(String(f.doc.documentElement.getAttribute('ID')));
    }
    expect(ids.size).toBe(10);
  });

  it('answers an unknown target with 404 and no assertion, signed in or not', async () => {
    gw = await startGateway();
    const anon = await openPai(gw, new Jar(), '?target=nowhere');
    expect(anon.statusCode).toBe(404);
    const { jar } = await login(gw, 'alice', PASSWORD);
    const res = await openPai(gw, jar, '?target=nowhere');
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('SAMLResponse');
    expect(audits(gw, 'assertion.denied').map((a) => a['reason'])).toEqual(['unknown-target', 'unknown-target']);
    expect(audits(gw, 'assertion.issued')).toHaveLength(0);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
    'refuses a target named like an Object.prototype member (%s) with 404 and no assertion',
    async (name) => {
      gw = await startGateway();
      const { jar } = await login(gw, 'alice', PASSWORD);
      const res = await openPai(gw, jar, `?target=${name}`);
      expect(res.statusCode).toBe(404);
      expect(res.body).not.toContain('SAMLResponse');
      expect(audits(gw, 'assertion.denied')).toMatchObject([{ reason: 'unknown-target', target: name }]);
      expect(audits(gw, 'assertion.issued')).toHaveLength(0);
    },
  );

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'refuses a role named like an Object.prototype member (%s) with 403 and no assertion',
    async (name) => {
      gw = await startGateway({ users: { carol: { password: PASSWORD, groups: ['ml-admins'] } } });
      const { jar } = await login(gw, 'carol', PASSWORD);
      const res = await openPai(gw, jar, `?target=pai&role=${name}`);
      expect(res.statusCode).toBe(403);
      expect(res.body).not.toContain('SAMLResponse');
      expect(audits(gw, 'assertion.denied')).toMatchObject([{ reason: 'role-not-granted', role: name }]);
      expect(audits(gw, 'assertion.issued')).toHaveLength(0);
    },
  );

  it('rejects a malformed target with 400 and an audit line, never a 500', async () => {
    gw = await startGateway();
    const { jar } = await login(gw, 'alice', PASSWORD);
    const res = await openPai(gw, jar, `?target=${encodeURIComponent('"><script>x</script>')}`);
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('<script>x');
    expect(audits(gw, 'request.rejected')).toHaveLength(1);
  });

  it('gives a user with no role a 403 page that says so, an audit event, and no assertion', async () => {
    gw = await startGateway({ users: { bob: { password: PASSWORD, groups: ['sales'] } } });
    const { jar } = await login(gw, 'bob', PASSWORD);
    const res = await openPai(gw, jar);
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('not mapped to any Alibaba Cloud role');
    expect(res.body).not.toContain('SAMLResponse');
    expect(audits(gw, 'assertion.denied')).toMatchObject([{ reason: 'no-role', user: 'bob' }]);
  });

  it('shows a user with several roles a picker with labels and accounts, and signs only the chosen role', async () => {
    gw = await startGateway({ users: { carol: { password: PASSWORD, groups: ['ml-admins', 'ml'] } } });
    const { jar } = await login(gw, 'carol', PASSWORD);
    const picker = await openPai(gw, jar, '?target=dsw');
    expect(picker.statusCode).toBe(200);
    expect(picker.body).toContain('PAI developer');
    expect(picker.body).toContain('PAI admin');
    expect(picker.body).toContain('Production');
    expect(picker.body).not.toContain('acs:ram::');
    expect(picker.body).not.toContain('SAMLResponse');

    const chosen = await openPai(gw, jar, '?target=dsw&role=admin');
    const { profile } = await alibabaSp('cn', gw.keys.current.pem).validatePostResponseAsync({
      SAMLResponse: extractForm(chosen.body).samlResponse,
    });
    expect(profile?.[ATTR_ROLE]).toBe(ADMIN);
    expect(profile?.[ATTR_SESSION_DURATION]).toBe('7200');
    expect(audits(gw, 'assertion.issued')[0]).toMatchObject({ roles: [ADMIN.split(',')[0]], groups: ['ml-admins'], target: 'dsw' });
  });

  it('refuses a role the user was not granted, even by editing the picker link', async () => {
    gw = await startGateway();
    const { jar } = await login(gw, 'alice', PASSWORD);
    const res = await openPai(gw, jar, '?role=admin');
    // alice has exactly one role, so the role parameter cannot widen it.
    const { profile } = await alibabaSp('cn', gw.keys.current.pem).validatePostResponseAsync({
      SAMLResponse: extractForm(res.body).samlResponse,
    });
    expect(profile?.[ATTR_ROLE]).toBe(DEV);

    await gw.close();
    gw = await startGateway({
      config: baseConfig({
        mappings: [
          { group: 'ml', roles: ['dev'] },
          { group: 'ops', roles: ['dev', 'admin'] },
        ],
        roles: { ...(baseConfig().roles as object), other: { account: 'prod', roleName: 'other' } },
      }),
      users: { dave: { password: PASSWORD, groups: ['ml', 'x'] }, erin: { password: PASSWORD, groups: ['ops'] } },
    });
    const erin = await login(gw, 'erin', PASSWORD);
    const denied = await openPai(gw, erin.jar, '?role=other');
    expect(denied.statusCode).toBe(403);
    expect(denied.body).not.toContain('SAMLResponse');
    expect(audits(gw, 'assertion.denied')).toMatchObject([{ reason: 'role-not-granted', role: 'other' }]);
  });

  it('sends every role when Alibaba is configured to pick', async () => {
    gw = await startGateway({
      config: baseConfig({ idp: { entityId: 'https://sso.example.test/saml/metadata', site: 'cn', roleSelection: 'alibaba' } }),
      users: { carol: { password: PASSWORD, groups: ['ml-admins'] } },
    });
    const { jar } = await login(gw, 'carol', PASSWORD);
    const { profile } = await alibabaSp('cn', gw.keys.current.pem).validatePostResponseAsync({
      SAMLResponse: extractForm((await openPai(gw, jar)).body).samlResponse,
    });
    expect(profile?.[ATTR_ROLE]).toEqual([DEV, ADMIN]);
    // One SessionDuration for whichever is picked: the smallest fits both roles.
    expect(profile?.[ATTR_SESSION_DURATION]).toBe('3600');
  });

  it('keeps markup in names and groups as text: no extra role, no extra attribute', async () => {
    const evil = `x</saml:AttributeValue></saml:Attribute><saml:Attribute Name="${ATTR_ROLE}"><saml:AttributeValue>acs:ram::999999999999:role/root,acs:ram::999999999999:saml-provider/evil`;
    gw = await startGateway({
      config: baseConfig({
        idp: {
          entityId: 'https://sso.example.test/saml/metadata',
          site: 'cn',
          nameId: { format: 'unspecified', source: 'email' },
          roleSessionName: { source: 'email' },
        },
        mappings: [
          { group: 'ml', roles: ['dev'] },
          { group: evil, roles: ['dev'] },
        ],
      }),
      users: { mallory: { password: PASSWORD, groups: ['ml', evil], displayName: evil, email: `${evil}"&'<>` } },
    });
    const { jar } = await login(gw, 'mallory', PASSWORD);
    const form = extractForm((await openPai(gw, jar)).body);
    const { profile } = await alibabaSp('cn', gw.keys.current.pem).validatePostResponseAsync({ SAMLResponse: form.samlResponse });
    expect(profile?.[ATTR_ROLE]).toBe(DEV);
    expect(profile?.nameID).toBe(`${evil}"&'<>`);
    const f = responseFacts(Buffer.from(form.samlResponse, 'base64').toString());
    expect(f.attr(ATTR_ROLE)).toEqual([[DEV]]);
    expect(f.attr(ATTR_ROLE_SESSION_NAME)[0]?.[0]).toMatch(/^[A-Za-z0-9._@=-]{2,32}$/);
  });
});

describe('login', () => {
  it('answers a wrong password and an unknown user the same way', async () => {
    gw = await startGateway();
    const wrong = await login(gw, 'alice', 'not the password');
    const unknown = await login(gw, 'nobody', 'not the password');
    expect(wrong.res.statusCode).toBe(401);
    expect(unknown.res.statusCode).toBe(401);
    const strip = (b: string) => b.replace(/nonce="[^"]*"/g, '').replace(/value="[^"]*"/g, '');
    expect(strip(wrong.res.body)).toBe(strip(unknown.res.body));
    expect(wrong.jar.get('pai_sso')).toBeUndefined();
    expect(audits(gw, 'login.failed').map((a) => [a['user'], a['reason']])).toEqual([
      ['alice', 'bad-credentials'],
      ['nobody', 'bad-credentials'],
    ]);
  });

  it('sets an HttpOnly, SameSite=Lax session cookie, Secure when the base URL is https', async () => {
    gw = await startGateway();
    const { res } = await login(gw, 'alice', PASSWORD);
    const cookie = String([res.headers['set-cookie']].flat().find((c) => String(c).startsWith('pai_sso=')));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    await gw.close();
    gw = await startGateway({ config: baseConfig({ server: { baseUrl: 'https://sso.example.test' } }) });
    const secure = await login(gw, 'alice', PASSWORD);
    expect(String([secure.res.headers['set-cookie']].flat().find((c) => String(c).startsWith('pai_sso=')))).toMatch(/Secure/);
  });

  it('refuses a login without the CSRF token of its own form', async () => {
    gw = await startGateway();
    const jar = new Jar();
    await request(gw, jar, 'GET', '/login');
    const res = await request(gw, jar, 'POST', '/login', { username: 'alice', password: PASSWORD, csrf: 'forged' });
    expect(res.statusCode).toBe(403);
    expect(jar.get('pai_sso')).toBeUndefined();
    const fresh = new Jar();
    const page = await request(gw, fresh, 'GET', '/login');
    const crossSite = await gw.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: 'alice', password: PASSWORD, csrf: hiddenField(page.body, 'csrf') }).toString(),
    });
    expect(crossSite.statusCode).toBe(403);
    expect(audits(gw, 'login.failed').map((a) => a['reason'])).toEqual(['csrf', 'csrf']);
  });

  it.each(['/.//evil.example/x', '/..//evil.example', '/%2e%2e//evil.example', '/./%5Cevil.example'])(
    'never redirects a signed-in user off-site from GET /login (returnTo=%s)',
    async (returnTo) => {
      gw = await startGateway();
      const { jar } = await login(gw, 'alice', PASSWORD);
      const res = await request(gw, jar, 'GET', `/login?returnTo=${encodeURIComponent(returnTo)}`);
      expect(res.statusCode).toBe(303);
      const location = String(res.headers.location);
      // What a browser would do with the Location header: stay on our origin.
      expect(new URL(location, 'https://gw.example').origin).toBe('https://gw.example');
      expect(location.startsWith('//')).toBe(false);
    },
  );

  it.each(['//evil.example/x', 'https://evil.example/', '/\\evil.example', '/%0d%0aSet-Cookie:x', 'javascript:alert(1)'])(
    'never redirects off-site after login (returnTo=%s)',
    async (returnTo) => {
      gw = await startGateway();
      const { res } = await login(gw, 'alice', PASSWORD, returnTo);
      expect(res.statusCode).toBe(303);
      const location = String(res.headers.location);
      expect(location.startsWith('/')).toBe(true);
      expect(location.startsWith('//')).toBe(false);
      expect(location).not.toMatch(/evil|[\r\n\\]/);
    },
  );

  it('expires a session after the idle timeout and after the absolute timeout', async () => {
    gw = await startGateway({ config: baseConfig({ session: { idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 3600 } }) });
    const { jar } = await login(gw, 'alice', PASSWORD);
    gw.clock.now += 599_000;
    expect((await openPai(gw, jar)).statusCode).toBe(200);
    gw.clock.now += 601_000;
    expect((await openPai(gw, jar)).statusCode).toBe(302);

    const again = await login(gw, 'alice', PASSWORD);
    for (let i = 0; i < 7; i++) {
      gw.clock.now += 500_000;
      expect((await openPai(gw, again.jar)).statusCode).toBe(200);
    }
    gw.clock.now += 200_000;
    expect((await openPai(gw, again.jar)).statusCode).toBe(302);
  });

  it('refuses a session whose lastSeen lies in the future beyond one minute of clock skew', async () => {
    gw = await startGateway();
    const { jar } = await login(gw, 'alice', PASSWORD);
    const issuedAt = gw.clock.now;
    // The gateway's clock steps back: the cookie's lastSeen is now ahead of it.
    gw.clock.now = issuedAt - 60_000;
    expect((await openPai(gw, jar)).statusCode).toBe(200);
    gw.clock.now = issuedAt - 60_001;
    const res = await openPai(gw, jar);
    expect(res.statusCode).toBe(302);
    expect(String(res.headers['set-cookie'])).toMatch(/pai_sso=;/);
    expect(audits(gw, 'assertion.issued')).toHaveLength(1);
  });

  it('accepts the login form for ten minutes, and not a moment longer', async () => {
    gw = await startGateway();
    const submitAfter = async (ms: number) => {
      const g = gw as TestGateway;
      const jar = new Jar();
      const page = await request(g, jar, 'GET', '/login');
      g.clock.now += ms;
      return request(g, jar, 'POST', '/login', { username: 'alice', password: PASSWORD, csrf: hiddenField(page.body, 'csrf') });
    };
    expect((await submitAfter(599_999)).statusCode).toBe(303);
    const late = await submitAfter(600_000);
    expect(late.statusCode).toBe(403);
    expect(late.body).toContain('The sign-in form expired');
    expect(audits(gw, 'login.failed').map((a) => a['reason'])).toEqual(['csrf']);
    expect(audits(gw, 'login.succeeded')).toHaveLength(1);
  });

  it('treats a tampered session cookie as no session', async () => {
    gw = await startGateway();
    const { jar } = await login(gw, 'alice', PASSWORD);
    const value = jar.get('pai_sso') ?? '';
    const flipped = value.slice(0, 20) + (value[20] === 'A' ? 'B' : 'A') + value.slice(21);
    jar.set('pai_sso', flipped);
    expect((await openPai(gw, jar)).statusCode).toBe(302);
  });

  it('signs out with POST /logout and the session token', async () => {
    gw = await startGateway();
    const { jar } = await login(gw, 'alice', PASSWORD);
    const landing = await request(gw, jar, 'GET', '/');
    const csrf = hiddenField(landing.body, 'csrf');
    expect((await request(gw, jar, 'POST', '/logout', { csrf: 'nope' })).statusCode).toBe(403);
    const out = await request(gw, jar, 'POST', '/logout', { csrf });
    expect(out.statusCode).toBe(303);
    expect(jar.get('pai_sso')).toBeUndefined();
    expect((await openPai(gw, jar)).statusCode).toBe(302);
    expect(audits(gw, 'logout')).toHaveLength(1);
  });

  it('turns an oversized or malformed login into a 4xx with an audit line', async () => {
    gw = await startGateway();
    const big = await gw.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `username=${'a'.repeat(40_000)}`,
    });
    expect(big.statusCode).toBe(413);
    const json = await gw.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"username":',
    });
    expect(json.statusCode).toBeGreaterThanOrEqual(400);
    expect(json.statusCode).toBeLessThan(500);
    const missing = await gw.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'username=alice',
    });
    expect(missing.statusCode).toBe(400);
    expect(audits(gw, 'request.rejected').length).toBe(3);
  });

  it('limits login attempts per client address, and only that address', async () => {
    gw = await startGateway({ config: baseConfig({ server: { baseUrl: 'http://localhost:8080', loginAttemptsPerMinute: 3 } }) });
    const from = async (remoteAddress: string, username: string) => {
      const g = gw as TestGateway;
      const jar = new Jar();
      const page = await g.app.inject({ method: 'GET', url: '/login', remoteAddress });
      jar.take(page);
      const res = await g.app.inject({
        method: 'POST',
        url: '/login',
        remoteAddress,
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ username, password: 'wrong password', csrf: hiddenField(page.body, 'csrf') }).toString(),
      });
      return res.statusCode;
    };
    const statuses: number[] = [];
    // Other usernames each time: only the per-address cap can answer 429 here.
    for (let i = 0; i < 4; i++) statuses.push(await from('192.0.2.10', `user${i}`));
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(audits(gw, 'login.throttled').at(-1)).toMatchObject({ scope: 'rate', ip: '192.0.2.10' });
    // Another address still reaches the password check: the cap is not global.
    expect(await from('192.0.2.11', 'user9')).toBe(401);
    expect(audits(gw, 'login.throttled')).toHaveLength(1);
  });

  it('lists the launch targets on the landing page once signed in', async () => {
    gw = await startGateway();
    expect((await request(gw, new Jar(), 'GET', '/')).statusCode).toBe(302);
    const { jar } = await login(gw, 'alice', PASSWORD);
    const landing = await request(gw, jar, 'GET', '/');
    expect(landing.body).toContain('href="/sso/pai?target=pai"');
    expect(landing.body).toContain('PAI Hangzhou');
    expect(landing.body).toContain('href="/sso/pai?target=dsw"');
  });
});

describe('logs', () => {
  it('never contain a password, a cookie, the private key or a SAMLResponse', async () => {
    gw = await startGateway();
    const failed = await login(gw, 'alice', 'hunter2-wrong-password');
    expect(failed.res.statusCode).toBe(401);
    const { jar } = await login(gw, 'alice', PASSWORD);
    const page = await openPai(gw, jar);
    const form = extractForm(page.body);
    const text = gw.logText();
    const pem = gw.keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain('hunter2-wrong-password');
    expect(text).not.toContain(jar.get('pai_sso'));
    expect(text).not.toContain(form.samlResponse.slice(0, 80));
    expect(text).not.toContain(pem.split('\n')[1]);
    expect(gw.logs.filter((l) => l['audit']).map((l) => l['audit'])).toEqual(['login.failed', 'login.succeeded', 'assertion.issued']);
  });
});
