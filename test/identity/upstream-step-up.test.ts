import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { ATTR_ROLE } from '../../src/alibaba.js';
import { OidcIdentitySchema, type OidcIdentityConfig } from '../../src/config/identity-oidc-schema.js';
import { ENTRA_GROUPS_CLAIM, SamlIdentitySchema, type SamlIdentityConfig } from '../../src/config/identity-saml-schema.js';
import { REFEDS_MFA } from '../../src/config/mfa-schema.js';
import { createOidcSource } from '../../src/identity/oidc.js';
import { createSamlUpstreamSource, SAML_UPSTREAM_PATHS } from '../../src/identity/saml-upstream.js';
import { authnContextClassRefs, oidcProvesMfa } from '../../src/identity/upstream-mfa.js';
import { generateSigningPair, type GeneratedPair } from '../../src/keys/generate.js';
import { AUTHN_CONTEXT_MFA, AUTHN_CONTEXT_PASSWORD } from '../../src/saml/assertion.js';
import { ACCOUNT, Jar, baseConfig, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { alibabaSp, extractForm, responseFacts } from '../helpers/saml-sp.js';
import { startProvider, type TestProvider } from './oidc-provider.js';
import { idpForm, startTestIdp, type TestIdp } from './saml-upstream-idp.js';

// Step-up towards upstream IdPs: a role with requireMfa sends a signed-in user back to the
// IdP asking for a second factor (OIDC acr_values/max_age, SAML RequestedAuthnContext) and
// accepts only an answer that proves one (amr/acr from the signed ID token, the verified
// assertion's AuthnContextClassRef). The IdPs are real: oidc-provider issuing acr and amr,
// and samlify issuing the AuthnContextClassRef we set.

const BASE = 'http://localhost:8080';
const CLIENT_ID = 'pai-sso-step-up';
const CLIENT_SECRET = 'step-up-client-secret-4711';
const ADMIN = `acs:ram::${ACCOUNT}:role/pai-admin,acs:ram::${ACCOUNT}:saml-provider/corp-idp`;
const PAPE_MFA = 'http://schemas.openid.net/pape/policies/2007/06/multi-factor';

/** admin requires a second factor; dev does not. Both granted to group ml-admins. */
function configWith(identity: Record<string, unknown>) {
  const base = baseConfig();
  return {
    ...base,
    server: { baseUrl: BASE, loginAttemptsPerMinute: 1000 },
    identity,
    roles: { ...(base['roles'] as object), admin: { account: 'prod', roleName: 'pai-admin', requireMfa: true } },
  };
}

const audits = (g: TestGateway, event: string) => g.logs.filter((l) => l['audit'] === event);

async function handOff(g: TestGateway, jar: Jar, url: string) {
  const res = await request(g, jar, 'GET', url);
  expect(res.statusCode).toBe(200);
  const { samlResponse } = extractForm(res.body);
  const { profile } = await alibabaSp('cn', g.keys.current.pem).validatePostResponseAsync({ SAMLResponse: samlResponse });
  const facts = responseFacts(Buffer.from(samlResponse, 'base64').toString('utf8'));
  const classRef = facts.authn?.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'AuthnContextClassRef')[0]?.textContent;
  return { profile, classRef };
}

describe('upstream OIDC step-up (oidc-provider issuing acr and amr)', () => {
  let op: TestProvider;
  let gw: TestGateway | undefined;
  beforeAll(async () => {
    op = await startProvider({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: `${BASE}/oidc/callback`,
      accounts: { root: { preferred_username: 'root', groups: ['ml-admins'] } },
    });
  });
  afterAll(() => op.close());
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    op.loginAuthn = undefined;
  });

  async function oidcGateway(extra: Partial<OidcIdentityConfig> = {}) {
    const raw = { issuer: op.issuer, clientId: CLIENT_ID, scopes: ['openid', 'profile', 'groups'], ...extra };
    const cfg = Value.Default(OidcIdentitySchema, structuredClone(raw)) as OidcIdentityConfig;
    const source = createOidcSource(cfg, { baseUrl: BASE, env: { PAI_SSO_OIDC_CLIENT_SECRET: CLIENT_SECRET } });
    return startGateway({ config: configWith({ source: ['oidc'], oidc: raw }), extraSources: [source] });
  }

  /** From the gateway's start route through the provider and back to the callback. */
  async function throughProvider(g: TestGateway, jar: Jar, startUrl: string) {
    const start = await request(g, jar, 'GET', startUrl);
    expect(start.statusCode).toBe(302);
    const authorization = new URL(String(start.headers.location));
    const callback = await op.authorize(authorization.href, 'root');
    const res = await request(g, jar, 'GET', `${callback.pathname}${callback.search}`);
    return { authorization, res };
  }

  it('asks with acr_values and max_age for a requireMfa role, and grants it on amr "mfa" with the multi-factor class', async () => {
    gw = await oidcGateway({ stepUp: { maxAgeSeconds: 300 } } as unknown as Partial<OidcIdentityConfig>);
    const jar = new Jar();
    await request(gw, jar, 'GET', '/login?returnTo=%2F');
    op.loginAuthn = { amr: ['pwd'], acr: 'urn:test:loa:password' };
    const first = await throughProvider(gw, jar, '/oidc/login');
    expect(first.authorization.searchParams.get('acr_values')).toBeNull();
    expect(first.res.statusCode).toBe(303);
    // Password at the IdP: dev is issued as such; admin sends the user back to the IdP.
    expect((await handOff(gw, jar, '/sso/pai?role=dev')).classRef).toBe(AUTHN_CONTEXT_PASSWORD);
    const stepUp = await request(gw, jar, 'GET', '/sso/pai?role=admin');
    expect(stepUp.statusCode).toBe(302);
    expect(stepUp.headers.location).toBe('/oidc/login?mfa=1');
    expect(audits(gw, 'mfa.step-up')).toMatchObject([{ user: 'root', source: 'oidc', reason: 'role-requires-mfa' }]);

    op.loginAuthn = { amr: ['pwd', 'otp', 'mfa'], acr: 'urn:test:loa:2fa' };
    const second = await throughProvider(gw, jar, String(stepUp.headers.location));
    expect(second.authorization.searchParams.get('acr_values')).toBe(PAPE_MFA);
    expect(second.authorization.searchParams.get('max_age')).toBe('300');
    expect(second.res.statusCode).toBe(303);
    expect(second.res.headers.location).toBe('/sso/pai?role=admin');
    const granted = await handOff(gw, jar, '/sso/pai?role=admin');
    expect(granted.profile?.[ATTR_ROLE]).toBe(ADMIN);
    expect(granted.classRef).toBe(AUTHN_CONTEXT_MFA);
    expect(audits(gw, 'login.succeeded').at(-1)).toMatchObject({ user: 'root', source: 'oidc', mfa: 'upstream' });
  });

  it('refuses a step-up answer without a second factor (amr pwd only, acr not accepted)', async () => {
    gw = await oidcGateway();
    const jar = new Jar();
    await request(gw, jar, 'GET', '/login?returnTo=%2F');
    op.loginAuthn = { amr: ['pwd'], acr: 'urn:test:loa:password' };
    await throughProvider(gw, jar, '/oidc/login');
    const stepUp = await request(gw, jar, 'GET', '/sso/pai?role=admin');
    const answer = await throughProvider(gw, jar, String(stepUp.headers.location));
    expect(answer.res.statusCode).toBe(403);
    expect(answer.res.body).not.toContain('SAMLResponse');
    expect(audits(gw, 'login.failed')).toMatchObject([{ reason: 'mfa-not-proven', user: 'root' }]);
    // Still the password-only session: the role stays out of reach.
    expect((await request(gw, jar, 'GET', '/sso/pai?role=admin')).statusCode).toBe(302);
    expect(audits(gw, 'assertion.issued')).toHaveLength(0);
  });

  it('accepts a configured acr (an Okta-style level) as proof, and an IdP that always does MFA needs no step-up', async () => {
    gw = await oidcGateway({ stepUp: { acceptAcr: ['urn:test:loa:2fa'], acceptAmr: [] } } as unknown as Partial<OidcIdentityConfig>);
    const jar = new Jar();
    await request(gw, jar, 'GET', '/login?returnTo=%2F');
    op.loginAuthn = { acr: 'urn:test:loa:2fa', amr: ['pwd', 'mfa'] };
    const first = await throughProvider(gw, jar, '/oidc/login');
    expect(first.res.statusCode).toBe(303);
    const granted = await handOff(gw, jar, '/sso/pai?role=admin');
    expect(granted.profile?.[ATTR_ROLE]).toBe(ADMIN);
    expect(granted.classRef).toBe(AUTHN_CONTEXT_MFA);
    expect(audits(gw, 'mfa.step-up')).toHaveLength(0);
  });

  it('reads proof only from amr/acr the config accepts', () => {
    const cfg = { acrValues: [PAPE_MFA], acceptAmr: ['mfa'], acceptAcr: ['gold'] };
    expect(oidcProvesMfa(cfg, { amr: ['pwd', 'mfa'] })).toBe(true);
    expect(oidcProvesMfa(cfg, { acr: PAPE_MFA })).toBe(true);
    expect(oidcProvesMfa(cfg, { acr: 'gold' })).toBe(true);
    expect(oidcProvesMfa(cfg, { amr: ['pwd', 'otp'], acr: 'silver' })).toBe(false);
    expect(oidcProvesMfa(cfg, { amr: 'mfa' })).toBe(false);
    expect(oidcProvesMfa(cfg, {})).toBe(false);
  });
});

describe('upstream SAML step-up (samlify IdP)', () => {
  let idpPair: GeneratedPair;
  let idp: TestIdp;
  let dir: string;
  let gw: TestGateway | undefined;
  beforeAll(async () => {
    idpPair = await generateSigningPair('idp.example.test', 30);
    idp = await startTestIdp({ pair: idpPair });
    dir = await mkdtemp(join(tmpdir(), 'pai-sso-stepup-'));
  });
  afterAll(async () => {
    await idp.close();
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    idp.tweaks = {};
  });

  async function samlGateway() {
    const raw = { entryPoint: idp.ssoUrl, idpIssuer: idp.entityId, idpCertPem: idpPair.certPem, probeEntryPoint: false };
    const cfg = Value.Default(SamlIdentitySchema, structuredClone(raw)) as SamlIdentityConfig;
    const source = await createSamlUpstreamSource(cfg, { baseUrl: BASE, cookieName: 'pai_sso_saml' });
    const g = await startGateway({
      config: configWith({ source: ['saml'], saml: raw }),
      extraSources: [source],
      keysDir: join(dir, 'keys'),
    });
    idp.trustSp((await g.app.inject({ method: 'GET', url: SAML_UPSTREAM_PATHS.metadata })).body);
    idp.user = { nameId: 'root@example.com', attributes: { [ENTRA_GROUPS_CLAIM]: ['ml-admins'] } };
    return g;
  }

  async function throughIdp(g: TestGateway, jar: Jar, startUrl: string) {
    const start = await request(g, jar, 'GET', startUrl);
    expect(start.statusCode).toBe(302);
    const res = await fetch(String(start.headers.location));
    const form = idpForm(await res.text());
    return request(g, jar, 'POST', SAML_UPSTREAM_PATHS.acs, { SAMLResponse: form.samlResponse, RelayState: form.relayState });
  }

  it('asks with RequestedAuthnContext for a requireMfa role and grants it on the REFEDS MFA class', async () => {
    gw = await samlGateway();
    const jar = new Jar();
    await request(gw, jar, 'GET', '/login?returnTo=%2F');
    expect((await throughIdp(gw, jar, SAML_UPSTREAM_PATHS.login)).statusCode).toBe(303);
    expect(idp.lastRequestXml).not.toContain('RequestedAuthnContext');
    expect((await handOff(gw, jar, '/sso/pai?role=dev')).classRef).toBe(AUTHN_CONTEXT_PASSWORD);

    const stepUp = await request(gw, jar, 'GET', '/sso/pai?role=admin');
    expect(stepUp.headers.location).toBe(`${SAML_UPSTREAM_PATHS.login}?mfa=1`);
    idp.tweaks = { authnContextClassRef: REFEDS_MFA };
    const answer = await throughIdp(gw, jar, String(stepUp.headers.location));
    expect(idp.lastRequestXml).toMatch(/<samlp:RequestedAuthnContext[^>]*Comparison="exact"/);
    expect(idp.lastRequestXml).toMatch(/<saml:AuthnContextClassRef[^>]*>https:\/\/refeds\.org\/profile\/mfa<\/saml:AuthnContextClassRef>/);
    expect(answer.statusCode).toBe(303);
    expect(answer.headers.location).toBe('/sso/pai?role=admin');
    const granted = await handOff(gw, jar, '/sso/pai?role=admin');
    expect(granted.profile?.[ATTR_ROLE]).toBe(ADMIN);
    expect(granted.classRef).toBe(AUTHN_CONTEXT_MFA);
  });

  it('refuses a step-up answered with PasswordProtectedTransport', async () => {
    gw = await samlGateway();
    const jar = new Jar();
    await request(gw, jar, 'GET', '/login?returnTo=%2F');
    await throughIdp(gw, jar, SAML_UPSTREAM_PATHS.login);
    const stepUp = await request(gw, jar, 'GET', '/sso/pai?role=admin');
    const answer = await throughIdp(gw, jar, String(stepUp.headers.location));
    expect(answer.statusCode).toBe(403);
    expect(audits(gw, 'login.failed')).toMatchObject([{ reason: 'mfa-not-proven' }]);
    expect((await request(gw, jar, 'GET', '/sso/pai?role=admin')).statusCode).toBe(302);
    expect(audits(gw, 'assertion.issued').filter((a) => (a['roles'] as string[]).some((r) => r.includes('pai-admin')))).toHaveLength(0);
  });

  it('reads the class from the AuthnStatement only', () => {
    const xml = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Advice><saml:AuthnContextClassRef>${REFEDS_MFA}</saml:AuthnContextClassRef></saml:Advice><saml:AuthnStatement><saml:AuthnContext><saml:AuthnContextClassRef> urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport </saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement></saml:Assertion>`;
    expect(authnContextClassRefs(xml)).toEqual(['urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport']);
  });
});
