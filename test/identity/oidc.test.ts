import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import type { LightMyRequestResponse } from 'fastify';
import { OidcIdentitySchema, type OidcIdentityConfig } from '../../src/config/identity-oidc-schema.js';
import { createOidcSource, OidcSourceError } from '../../src/identity/oidc.js';
import { ConfigError } from '../../src/config/errors.js';
import { claimAt, groupsOf, userFromClaims } from '../../src/identity/oidc-claims.js';
import { createSources, fromList, mappingWarnings } from '../../src/identity/sources.js';
import { parseConfig } from '../../src/config/load.js';
import { stringify } from 'yaml';
import { ATTR_ROLE, ATTR_ROLE_SESSION_NAME } from '../spec/alibaba-facts.js';
import { ASADMIN, ACCOUNT, Jar, baseConfig, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { alibabaSp, extractForm } from '../helpers/saml-sp.js';
import { freePort, startProvider, type TestProvider } from './oidc-provider.js';

const CLIENT_ID = 'pai-sso-test';
const CLIENT_SECRET = 'oidc-client-secret-never-logged-4711';
const env = { PAI_SSO_OIDC_CLIENT_SECRET: CLIENT_SECRET };
const BASE_URL = 'http://localhost:8080';
const REDIRECT_URI = `${BASE_URL}/oidc/callback`;
const DEV = `acs:ram::${ACCOUNT}:role/pai-developer,acs:ram::${ACCOUNT}:saml-provider/corp-idp`;

const ACCOUNTS = {
  alice: { name: 'Alice Liddell', preferred_username: 'alice', email: 'alice@example.com', email_verified: true, groups: ['ml', 'sales'] },
  // The IdP sends no groups claim at all for this user.
  bob: { name: 'Bob', preferred_username: 'bob', email: 'bob@example.com', email_verified: true },
  mallory: { preferred_username: 'mallory', email: 'mallory@corp.example', email_verified: false, groups: ['ml'] },
};

/** The config as the YAML would give it: only what differs from the schema's defaults. */
function oidcConfig(issuer: string, extra: Partial<OidcIdentityConfig> = {}): OidcIdentityConfig {
  return Value.Default(OidcIdentitySchema, {
    issuer,
    clientId: CLIENT_ID,
    scopes: ['openid', 'profile', 'email', 'groups'],
    ...extra,
  }) as OidcIdentityConfig;
}

async function gatewayFor(issuer: string, extra: Partial<OidcIdentityConfig> = {}, rediscoverAfterMs?: number): Promise<TestGateway> {
  const cfg = oidcConfig(issuer, extra);
  const started: { gw?: TestGateway } = {};
  // The source reads the gateway's clock, so a test can age the flow cookie.
  const now = () => started.gw?.clock.now ?? Date.now();
  const source = createOidcSource(cfg, { baseUrl: BASE_URL, env, now, ...(rediscoverAfterMs === undefined ? {} : { rediscoverAfterMs }) });
  started.gw = await startGateway({
    config: baseConfig({ server: { baseUrl: BASE_URL }, identity: { source: ['oidc'], oidc: { issuer, clientId: CLIENT_ID, ...extra } } }),
    extraSources: [source],
  });
  return started.gw;
}

const audits = (g: TestGateway, event: string) => g.logs.filter((l) => l['audit'] === event);
const setCookies = (res: LightMyRequestResponse): string[] => {
  const h = res.headers['set-cookie'];
  return h === undefined ? [] : Array.isArray(h) ? h : [h];
};
const hasSession = (res: LightMyRequestResponse) => setCookies(res).some((c) => /^pai_sso=[^;]+/.test(c));

/** Browser to the gateway, out to the IdP, back to the callback; `tamper` edits the callback URL the browser returns with. */
async function signIn(gw: TestGateway, idp: TestProvider, account: string, opts: { tamper?: (u: URL) => void; abort?: boolean } = {}) {
  const jar = new Jar();
  const first = await request(gw, jar, 'GET', '/sso/pai?target=pai');
  expect(first.statusCode).toBe(302);
  const chooser = await request(gw, jar, 'GET', String(first.headers.location));
  expect(chooser.headers.location).toBe('/oidc/login');
  const start = await request(gw, jar, 'GET', '/oidc/login');
  expect(start.statusCode).toBe(302);
  const authorizationUrl = new URL(String(start.headers.location));
  const callback = await idp.authorize(authorizationUrl.href, account, { abort: opts.abort });
  opts.tamper?.(callback);
  const res = await request(gw, jar, 'GET', `${callback.pathname}${callback.search}`);
  return { jar, start, authorizationUrl, callback, res };
}

function expectRefused(gw: TestGateway, res: LightMyRequestResponse, status: number, reason: string) {
  expect(res.statusCode).toBe(status);
  expect(res.body).not.toContain('SAMLResponse');
  expect(hasSession(res)).toBe(false);
  expect(audits(gw, 'login.failed')).toMatchObject([{ reason }]);
  expect(audits(gw, 'login.succeeded')).toHaveLength(0);
}

let idp: TestProvider;
let gw: TestGateway | undefined;
beforeAll(async () => {
  idp = await startProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: REDIRECT_URI, accounts: ACCOUNTS });
});
afterAll(async () => {
  await idp.close();
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  idp.rewriteIdToken = undefined;
  idp.signWithForeignKey = false;
});

describe('OIDC sign-in against a real OpenID Provider', () => {
  it('signs in with code + PKCE + state + nonce, then hands off a signed assertion as for local users', async () => {
    gw = await gatewayFor(idp.issuer);
    const { start, authorizationUrl, callback, res, jar } = await signIn(gw, idp, 'alice');

    const q = authorizationUrl.searchParams;
    expect(authorizationUrl.origin).toBe(idp.issuer);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(q.get('scope')).toBe('openid profile email groups');
    const flowCookie = setCookies(start).find((c) => c.startsWith('pai_sso_oidc='));
    expect(flowCookie).toMatch(/HttpOnly/);
    expect(flowCookie).toMatch(/SameSite=Lax/);
    expect(flowCookie).toMatch(/Max-Age=600/);
    expect(flowCookie).toMatch(/Path=\/oidc\/callback/);
    // The verifier is sealed: nothing in the cookie reads as the state or nonce we sent.
    expect(flowCookie).not.toContain(q.get('state'));

    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/sso/pai?target=pai');
    expect(hasSession(res)).toBe(true);
    expect(setCookies(res).some((c) => /^pai_sso_oidc=;/.test(c))).toBe(true);

    const page = await request(gw, jar, 'GET', '/sso/pai?target=pai');
    expect(page.statusCode).toBe(200);
    const { profile } = await alibabaSp('cn', gw.keys.current.pem).validatePostResponseAsync({
      SAMLResponse: extractForm(page.body).samlResponse,
    });
    expect(profile?.[ATTR_ROLE]).toBe(DEV);
    expect(profile?.[ATTR_ROLE_SESSION_NAME]).toMatch(/^alice-[A-Za-z0-9_-]{12}$/);
    expect(profile?.nameID).toBe('alice');
    expect(audits(gw, 'login.succeeded')).toMatchObject([{ user: 'alice', userId: 'alice', source: 'oidc', groups: ['ml'] }]);
    expect(idp.tokenRequests).toBeGreaterThan(0);
    expect(gw.logText()).not.toContain(CLIENT_SECRET);
    expect(gw.logText()).not.toContain(callback.searchParams.get('code'));
  });

  it('signs in a user without the groups claim with no groups: the hand-off is then the 403 no-role page', async () => {
    gw = await gatewayFor(idp.issuer);
    const { res, jar } = await signIn(gw, idp, 'bob');
    expect(res.statusCode).toBe(303);
    expect(audits(gw, 'login.succeeded')).toMatchObject([{ user: 'bob', source: 'oidc', groups: [] }]);
    const page = await request(gw, jar, 'GET', '/sso/pai?target=pai');
    expect(page.statusCode).toBe(403);
    expect(page.body).not.toContain('SAMLResponse');
    expect(audits(gw, 'assertion.denied')).toMatchObject([{ reason: 'no-role', user: 'bob' }]);
  });

  it('refuses a tampered state before the code is redeemed: 400, audit, no session, no assertion', async () => {
    gw = await gatewayFor(idp.issuer);
    const before = idp.tokenRequests;
    const { res } = await signIn(gw, idp, 'alice', { tamper: (u) => u.searchParams.set('state', `${u.searchParams.get('state')}x`) });
    expectRefused(gw, res, 400, 'state-mismatch');
    expect(idp.tokenRequests).toBe(before);
  });

  it('refuses a callback without a state before the code is redeemed', async () => {
    gw = await gatewayFor(idp.issuer);
    const before = idp.tokenRequests;
    const { res } = await signIn(gw, idp, 'alice', { tamper: (u) => u.searchParams.delete('state') });
    expectRefused(gw, res, 400, 'state-mismatch');
    expect(idp.tokenRequests).toBe(before);
  });

  it('accepts the callback for ten minutes after the redirect out, and not a moment longer', async () => {
    gw = await gatewayFor(idp.issuer);
    const g = gw;
    const inTime = await signIn(g, idp, 'alice', { tamper: () => (g.clock.now += 599_999) });
    expect(inTime.res.statusCode).toBe(303);
    const before = idp.tokenRequests;
    const late = await signIn(g, idp, 'alice', { tamper: () => (g.clock.now += 600_000) });
    expect(late.res.statusCode).toBe(400);
    expect(hasSession(late.res)).toBe(false);
    expect(late.res.body).not.toContain('SAMLResponse');
    expect(audits(g, 'login.failed')).toMatchObject([{ reason: 'oidc-no-flow' }]);
    expect(audits(g, 'login.succeeded')).toHaveLength(1);
    expect(idp.tokenRequests).toBe(before);
  });

  it('refuses a callback replayed after success, and one arriving without our flow cookie (login CSRF)', async () => {
    gw = await gatewayFor(idp.issuer);
    const { callback, jar } = await signIn(gw, idp, 'alice');
    const replay = await request(gw, jar, 'GET', `${callback.pathname}${callback.search}`);
    expect(replay.statusCode).toBe(400);
    const foreign = await request(gw, new Jar(), 'GET', `${callback.pathname}${callback.search}`);
    expect(foreign.statusCode).toBe(400);
    expect(hasSession(foreign)).toBe(false);
    expect(audits(gw, 'login.failed')).toMatchObject([{ reason: 'oidc-no-flow' }, { reason: 'oidc-no-flow' }]);
  });

  it('refuses an expired ID token (validly signed by the provider): 401, audit, no session', async () => {
    gw = await gatewayFor(idp.issuer);
    const t = Math.floor(Date.now() / 1000);
    idp.rewriteIdToken = (c) => ({ ...c, iat: t - 900, exp: t - 600 });
    const { res } = await signIn(gw, idp, 'alice');
    expectRefused(gw, res, 401, 'id-token-expired');
  });

  it('refuses an ID token naming another issuer (validly signed by the provider)', async () => {
    gw = await gatewayFor(idp.issuer);
    idp.rewriteIdToken = (c) => ({ ...c, iss: 'https://other-idp.example.test' });
    const { res } = await signIn(gw, idp, 'alice');
    expectRefused(gw, res, 401, 'wrong-issuer');
  });

  it('refuses an authorization response whose iss parameter names another issuer (mix-up), without redeeming the code', async () => {
    gw = await gatewayFor(idp.issuer);
    const before = idp.tokenRequests;
    const { res } = await signIn(gw, idp, 'alice', { tamper: (u) => u.searchParams.set('iss', 'https://other-idp.example.test') });
    expectRefused(gw, res, 401, 'wrong-issuer');
    expect(idp.tokenRequests).toBe(before);
  });

  it("refuses an ID token signed by a key that is not the provider's", async () => {
    gw = await gatewayFor(idp.issuer);
    idp.signWithForeignKey = true;
    const { res } = await signIn(gw, idp, 'alice');
    expectRefused(gw, res, 401, 'bad-signature');
  });

  it('refuses an ID token whose nonce is not the one we sent', async () => {
    gw = await gatewayFor(idp.issuer);
    idp.rewriteIdToken = (c) => ({ ...c, nonce: 'someone-elses-nonce' });
    const { res } = await signIn(gw, idp, 'alice');
    expectRefused(gw, res, 401, 'nonce-mismatch');
  });

  it('refuses a swapped authorization code at the token endpoint: 400, audit, no session', async () => {
    gw = await gatewayFor(idp.issuer);
    const { res } = await signIn(gw, idp, 'alice', { tamper: (u) => u.searchParams.set('code', 'not-a-code-this-provider-issued') });
    expectRefused(gw, res, 400, 'token-endpoint-invalid_grant');
  });

  it('keeps an IdP-chosen error code from writing anything but [a-z0-9_-] into the audit line', async () => {
    gw = await gatewayFor(idp.issuer);
    const { res } = await signIn(gw, idp, 'alice', { tamper: (u) => u.searchParams.set('error', 'Bad"}\n{"audit":"x') });
    expectRefused(gw, res, 400, 'upstream-badauditx');
  });

  it('turns an upstream access_denied into a 403 with an audit line', async () => {
    gw = await gatewayFor(idp.issuer);
    const { callback, res } = await signIn(gw, idp, 'alice', { abort: true });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expectRefused(gw, res, 403, 'upstream-access_denied');
  });

  it('checks allowed domains against the verified email only', async () => {
    gw = await gatewayFor(idp.issuer, { allowedDomains: ['corp.example'] });
    const outsider = await signIn(gw, idp, 'alice');
    expectRefused(gw, outsider.res, 403, 'domain-not-allowed');
    // mallory@corp.example is in the domain but the IdP has not verified the address.
    const unverified = await signIn(gw, idp, 'mallory');
    expect(unverified.res.statusCode).toBe(403);
    expect(audits(gw, 'login.failed')[1]).toMatchObject({ reason: 'email-unverified', user: 'mallory' });
  });

  it('is not ready, and refuses to start a login, when the configured issuer is not the one the provider declares', async () => {
    const wrong = idp.issuer.replace('127.0.0.1', 'localhost');
    gw = await gatewayFor(wrong);
    const ready = await gw.app.inject({ url: '/readyz', headers: ASADMIN });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.identity.reason).toMatch(
      /^oidc: discovery of http:\/\/localhost:\d+\/ failed: discovered metadata issuer does not match/,
    );
    const start = await gw.app.inject('/oidc/login');
    expect(start.statusCode).toBe(503);
    expect(audits(gw, 'login.failed')).toMatchObject([{ reason: 'source-unavailable' }]);
  });
});

describe('OIDC discovery and configuration', () => {
  it('starts with the IdP down, reports not ready with the reason, and recovers once the IdP is up', async () => {
    const port = await freePort();
    gw = await gatewayFor(`http://127.0.0.1:${port}`, {}, 0);
    const down = await gw.app.inject({ url: '/readyz', headers: ASADMIN });
    expect(down.statusCode).toBe(503);
    expect(down.json().checks.identity.reason).toMatch(/ECONNREFUSED|fetch failed/);
    const late = await startProvider({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: REDIRECT_URI,
      accounts: ACCOUNTS,
      port,
    });
    try {
      expect((await gw.app.inject('/readyz')).statusCode).toBe(200);
      const { res } = await signIn(gw, late, 'alice');
      expect(res.statusCode).toBe(303);
    } finally {
      await late.close();
    }
  });

  it('turns not ready when the provider goes down after startup (discovery and JWKS probed again), and ready once it is back', async () => {
    const port = await freePort();
    const options = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: REDIRECT_URI, accounts: ACCOUNTS, port };
    let provider = await startProvider(options);
    try {
      const issuer = provider.issuer;
      const source = createOidcSource(oidcConfig(issuer), { baseUrl: BASE_URL, env, readyIntervalMs: 0 });
      gw = await startGateway({
        config: baseConfig({ server: { baseUrl: BASE_URL }, identity: { source: ['oidc'], oidc: { issuer, clientId: CLIENT_ID } } }),
        extraSources: [source],
      });
      expect((await gw.app.inject('/readyz')).statusCode).toBe(200);
      await provider.close();
      const down = await gw.app.inject({ url: '/readyz', headers: ASADMIN });
      expect(down.statusCode).toBe(503);
      expect(down.json().checks.identity.reason).toMatch(
        /^oidc: discovery http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration unreachable/,
      );
      provider = await startProvider(options);
      expect((await gw.app.inject('/readyz')).statusCode).toBe(200);
    } finally {
      await provider.close();
    }
  });

  it('probes the provider at most once per interval, however often /readyz is asked', async () => {
    const provider = await startProvider({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: REDIRECT_URI,
      accounts: ACCOUNTS,
    });
    let now = 1_000_000;
    const source = createOidcSource(oidcConfig(provider.issuer), { baseUrl: BASE_URL, env, readyIntervalMs: 10_000, now: () => now });
    try {
      expect(await source.ready()).toEqual({ ok: true });
      await provider.close();
      // Within the interval: the last answer, no request to the (now gone) provider.
      now += 9_000;
      expect(await source.ready()).toEqual({ ok: true });
      now += 1_000;
      expect(await source.ready()).toMatchObject({ ok: false, reason: expect.stringMatching(/unreachable/) });
    } finally {
      await source.close();
    }
  });

  it('reads groups from the userinfo endpoint when the ID token carries none', async () => {
    const plain = await startProvider({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: REDIRECT_URI,
      accounts: ACCOUNTS,
      claimsInIdToken: false,
    });
    try {
      gw = await gatewayFor(plain.issuer, { groupsFromUserinfo: true });
      const { res } = await signIn(gw, plain, 'alice');
      expect(res.statusCode).toBe(303);
      expect(audits(gw, 'login.succeeded')).toMatchObject([{ user: 'alice', groups: ['ml'] }]);
    } finally {
      await plain.close();
    }
  });

  it('is built by createSources from the YAML section, as in production', async () => {
    const config = parseConfig(
      stringify(baseConfig({ identity: { source: 'oidc', oidc: { issuer: idp.issuer, clientId: CLIENT_ID } } })),
      'test',
    );
    const sources = await createSources(config, { env });
    try {
      expect(sources.redirect.map((s) => [s.kind, s.startPath])).toEqual([['oidc', '/oidc/login']]);
      expect(await sources.all[0]?.ready()).toEqual({ ok: true });
    } finally {
      await Promise.all(sources.all.map((s) => s.close()));
    }
  });

  it('refuses to start on a non-loopback http issuer or without the client secret, never echoing the secret', () => {
    // The secret is set in every case below: no refusal may carry it, in its message or its fields.
    const refusal = (issuer: string, extra: Partial<OidcIdentityConfig> = {}) => {
      let thrown: unknown;
      try {
        createOidcSource(oidcConfig(issuer, extra), { baseUrl: BASE_URL, env });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      const err = thrown as ConfigError;
      return { message: err.message, everything: `${err.message} ${String(err.stack)} ${JSON.stringify(err)}` };
    };
    for (const [issuer, extra, rule] of [
      ['http://idp.example.com', {}, /identity\.oidc\.issuer: must be https/],
      ['not a url', {}, /identity\.oidc\.issuer: must be an absolute URL/],
      ['https://idp.example.com', { clientSecretEnv: 'PAI_SSO_OTHER_SECRET' }, /PAI_SSO_OTHER_SECRET must hold the client secret/],
    ] as const) {
      const r = refusal(issuer, extra);
      expect(r.message).toMatch(rule);
      expect(r.everything).not.toContain(CLIENT_SECRET);
    }
    expect(() => createOidcSource(oidcConfig('http://idp.example.com'), { baseUrl: BASE_URL, env })).toThrow(ConfigError);
    expect(() => createOidcSource(oidcConfig('http://idp.example.com'), { baseUrl: BASE_URL, env })).toThrow(
      /identity\.oidc\.issuer: must be https/,
    );
    expect(() => createOidcSource(oidcConfig('not a url'), { baseUrl: BASE_URL, env })).toThrow(
      /identity\.oidc\.issuer: must be an absolute URL/,
    );
    expect(() => createOidcSource(oidcConfig('https://idp.example.com'), { baseUrl: BASE_URL, env: {} })).toThrow(
      /PAI_SSO_OIDC_CLIENT_SECRET must hold the client secret/,
    );
    expect(() =>
      createOidcSource(oidcConfig('http://127.0.0.1:9', { tokenEndpointAuthMethod: 'none' }), { baseUrl: BASE_URL, env: {} }),
    ).not.toThrow();
  });

  it('reports a failed discovery as an unavailable upstream (a coded error), once per new reason', async () => {
    const errors: Error[] = [];
    const source = createOidcSource(oidcConfig('http://127.0.0.1:9'), { baseUrl: BASE_URL, env, onError: (e) => errors.push(e) });
    expect((await source.ready()).ok).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(OidcSourceError);
    expect(errors[0]).toMatchObject({ code: 'PAI_SSO_OIDC_DISCOVERY', kind: 'unavailable' });
  });

  it('warns about mappings that name groups when the IdP sends group object IDs (Entra ID)', () => {
    const source = createOidcSource(oidcConfig('http://127.0.0.1:9/tenant/v2.0', { groupsAre: 'ids' }), { baseUrl: BASE_URL, env });
    const sources = fromList([source]);
    const warnings = mappingWarnings(
      {
        mappings: [
          { group: 'ml-engineers', roles: ['dev'] },
          { group: '3f2b6c1e-8d4a-4e5f-9a0b-1c2d3e4f5a6b', roles: ['dev'] },
        ],
      },
      sources,
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/mappings\.0\.group "ml-engineers": .*object ID/);
    void source.close();
  });
});

describe('OIDC claims to user', () => {
  const cfg = oidcConfig('https://idp.example.com');

  it('takes an exact claim name before a dotted path, and keeps only printable string groups', () => {
    expect(claimAt({ 'https://corp/groups': ['a'] }, 'https://corp/groups')).toEqual(['a']);
    expect(claimAt({ realm_access: { roles: ['r1'] } }, 'realm_access.roles')).toEqual(['r1']);
    expect(claimAt({ realm_access: ['x'] }, 'realm_access.roles')).toBeUndefined();
    expect(groupsOf('solo')).toEqual(['solo']);
    expect(groupsOf(['a', 'a', 7, '', 'b\u0000', 'c'])).toEqual(['a', 'c']);
    expect(groupsOf({ a: 1 })).toEqual([]);
  });

  it('uses the verified email only, falls back from username to email to sub, and refuses a token without the id claim', () => {
    const u = userFromClaims(cfg, { sub: 's1', email: 'x@example.com', email_verified: false });
    expect(u).toMatchObject({ user: { id: 's1', username: 's1', email: undefined, groups: [] } });
    expect(userFromClaims(cfg, { sub: 's2', email: 'y@example.com', email_verified: true })).toMatchObject({
      user: { username: 'y@example.com', email: 'y@example.com' },
    });
    expect(userFromClaims({ ...cfg, idClaim: 'oid' }, { sub: 's3' })).toEqual({ rejected: 'missing-id-claim', who: 's3' });
  });
});
