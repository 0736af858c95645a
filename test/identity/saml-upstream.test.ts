import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { Value } from '@sinclair/typebox/value';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import samlify from 'samlify';
import { ASADMIN, ACCOUNT, Jar, baseConfig, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { alibabaSp, extractForm } from '../helpers/saml-sp.js';
import { ATTR_ROLE, ATTR_ROLE_SESSION_NAME } from '../spec/alibaba-facts.js';
import { ENTRA_GROUPS_CLAIM, SamlIdentitySchema, type SamlIdentityConfig } from '../../src/config/identity-saml-schema.js';
import { createSamlUpstreamSource, SAML_UPSTREAM_PATHS, SamlSourceError } from '../../src/identity/saml-upstream.js';
import { parseIdpMetadata } from '../../src/identity/saml-upstream-idp.js';
import { ConfigError } from '../../src/config/errors.js';
import { createReplayCache } from '../../src/identity/saml-upstream-replay.js';
import { parseConfig } from '../../src/config/load.js';
import { createSources } from '../../src/identity/sources.js';
import { generateSigningPair, type GeneratedPair } from '../../src/keys/generate.js';
import type { RedirectSource } from '../../src/identity/source.js';
import { idpForm, startTestIdp, type IdpUser, type TestIdp } from './saml-upstream-idp.js';
import { TRUSTED_PEM_ARGS, withKeyValue, xmlsecVerify } from '../helpers/xmlsec.js';
import { stringify } from 'yaml';

const BASE = 'http://localhost:8080';
const ACS = `${BASE}${SAML_UPSTREAM_PATHS.acs}`;
const SP_ENTITY = `${BASE}${SAML_UPSTREAM_PATHS.metadata}`;
const DEV = `acs:ram::${ACCOUNT}:role/pai-developer,acs:ram::${ACCOUNT}:saml-provider/corp-idp`;
const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';

const ALICE: IdpUser = {
  nameId: 'alice@example.com',
  attributes: {
    [ENTRA_GROUPS_CLAIM]: ['ml', 'everyone'],
    'http://schemas.microsoft.com/identity/claims/displayname': ['Alice Liddell'],
    'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress': ['alice@example.com'],
  },
};

// Key pairs are the slow part (RSA generation): made once for the file.
let idpPair: GeneratedPair;
let foreignPair: GeneratedPair;
let idp: TestIdp;
let gw: TestGateway | undefined;
let source: RedirectSource | undefined;
let dir: string;

beforeAll(async () => {
  [idpPair, foreignPair] = await Promise.all([generateSigningPair('idp.example.test', 30), generateSigningPair('idp.example.test', 30)]);
  idp = await startTestIdp({ pair: idpPair, foreignPair });
  dir = await mkdtemp(join(tmpdir(), 'pai-sso-saml-'));
});
afterAll(async () => {
  await idp.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await gw?.close();
  gw = undefined;
  source = undefined;
  idp.user = ALICE;
  idp.tweaks = {};
});

function samlCfg(extra: Partial<SamlIdentityConfig> = {}): SamlIdentityConfig {
  return Value.Default(SamlIdentitySchema, {
    entryPoint: idp.ssoUrl,
    idpIssuer: idp.entityId,
    idpCertPem: idpPair.certPem,
    probeEntryPoint: false,
    ...extra,
  }) as SamlIdentityConfig;
}

/** The gateway with upstream SAML as its only source, and the test IdP trusting its SP metadata. */
async function gateway(
  extra: Partial<SamlIdentityConfig> = {},
  idpOpts: { signResponse?: boolean } = {},
  server: Record<string, unknown> = {},
) {
  const cfg = samlCfg(extra);
  // The source reads the gateway's clock, so a test can age the pending request.
  source = await createSamlUpstreamSource(cfg, { baseUrl: BASE, cookieName: 'pai_sso_saml', now: () => gw?.clock.now ?? Date.now() });
  gw = await startGateway({
    config: baseConfig({ server: { baseUrl: BASE, ...server }, identity: { source: ['saml'], saml: cfg } }),
    extraSources: [source],
    keysDir: join(dir, 'gateway-keys'),
  });
  const md = await gw.app.inject({ method: 'GET', url: SAML_UPSTREAM_PATHS.metadata });
  idp.trustSp(md.body, idpOpts);
  idp.user = ALICE;
  return gw;
}

const audits = (event: string) => (gw as TestGateway).logs.filter((l) => l['audit'] === event);

/** Browser: start at the gateway, follow to the real IdP over HTTP, come back with its form. */
async function loginAtIdp(jar: Jar, returnTo = '/sso/pai?target=pai') {
  const g = gw as TestGateway;
  const page = await request(g, jar, 'GET', `/login?returnTo=${encodeURIComponent(returnTo)}`);
  expect(page.statusCode).toBe(302);
  expect(page.headers.location).toBe(SAML_UPSTREAM_PATHS.login);
  const start = await request(g, jar, 'GET', SAML_UPSTREAM_PATHS.login);
  expect(start.statusCode).toBe(302);
  const location = String(start.headers.location);
  expect(location.startsWith(`${idp.ssoUrl}?SAMLRequest=`)).toBe(true);
  const requestId = authnRequestId(location);
  const res = await fetch(location);
  expect(res.status).toBe(200);
  const form = idpForm(await res.text());
  expect(form.action).toBe(ACS);
  return { ...form, requestId };
}

function inflate(location: string): string {
  return inflateRawSync(Buffer.from(new URL(location).searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
}

function authnRequestId(location: string): string {
  const xml = inflate(location);
  const id = /<samlp:AuthnRequest[^>]* ID="([^"]+)"/.exec(xml)?.[1];
  if (!id) throw new Error('no AuthnRequest ID');
  return id;
}

const postAcs = (jar: Jar, samlResponse: string, relayState?: string) =>
  request(
    gw as TestGateway,
    jar,
    'POST',
    SAML_UPSTREAM_PATHS.acs,
    relayState === undefined ? { SAMLResponse: samlResponse } : { SAMLResponse: samlResponse, RelayState: relayState },
  );

/** Refused the way every bad response must be: 4xx, one audit line with the reason, no session, nothing signed. */
function expectRefused(res: Awaited<ReturnType<typeof postAcs>>, reason: string, jar: Jar) {
  expect(res.statusCode).toBeGreaterThanOrEqual(400);
  expect(res.statusCode).toBeLessThan(500);
  expect(res.body).not.toContain('SAMLResponse');
  expect(String(res.headers['set-cookie'] ?? '')).not.toMatch(/pai_sso=[^;]/);
  expect(jar.get('pai_sso')).toBeUndefined();
  expect(audits('login.failed').map((a) => a['reason'])).toEqual([reason]);
  expect(audits('login.succeeded')).toHaveLength(0);
}

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const encode = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');
const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml');
const serialize = (doc: Document) => new XMLSerializer().serializeToString(doc);
const first = (node: Document | Element, ns: string, name: string) => node.getElementsByTagNameNS(ns, name)[0] as Element;

/** A forged copy of the signed assertion: another user in another group, no signature, new ID. */
function evilTwin(doc: Document): Element {
  const signed = first(doc, SAML_NS, 'Assertion');
  const evil = signed.cloneNode(true) as Element;
  evil.setAttribute('ID', '_evil');
  const sig = first(evil, DS_NS, 'Signature');
  sig.parentNode?.removeChild(sig);
  const nameId = first(evil, SAML_NS, 'NameID');
  nameId.textContent = 'mallory@example.com';
  for (const v of Array.from(evil.getElementsByTagNameNS(SAML_NS, 'AttributeValue')))
    if (v.textContent === 'ml') v.textContent = 'ml-admins';
  return evil;
}

/** node-saml alone, set up as our source sets it up: proves the library refuses too, not only our pre-check. */
function bareNodeSaml() {
  return new SAML({
    idpCert: idpPair.certPem,
    issuer: SP_ENTITY,
    audience: SP_ENTITY,
    callbackUrl: ACS,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: 60_000,
    validateInResponseTo: ValidateInResponseTo.never,
  });
}

describe('upstream SAML: the happy path against samlify as the IdP', () => {
  it('signs in through the IdP, lands where the user was going, and /sso/pai hands Alibaba a valid assertion', async () => {
    await gateway();
    const jar = new Jar();
    const form = await loginAtIdp(jar);
    const res = await postAcs(jar, form.samlResponse, form.relayState);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/sso/pai?target=pai');
    expect(jar.get('pai_sso')).toBeTruthy();
    expect(jar.get('pai_sso_saml')).toBeUndefined();
    expect(audits('login.succeeded')).toMatchObject([
      { user: 'alice@example.com', userId: 'alice@example.com', source: 'saml', groups: ['ml'] },
    ]);
    expect(audits('login.failed')).toHaveLength(0);

    const pai = await request(gw as TestGateway, jar, 'GET', '/sso/pai?target=pai');
    expect(pai.statusCode).toBe(200);
    const { profile } = await alibabaSp('cn', (gw as TestGateway).keys.current.pem).validatePostResponseAsync({
      SAMLResponse: extractForm(pai.body).samlResponse,
    });
    expect(profile?.[ATTR_ROLE]).toBe(DEV);
    expect(profile?.[ATTR_ROLE_SESSION_NAME]).toMatch(/^alice@example\.com-[A-Za-z0-9_-]{12}$/);
    expect(profile?.nameID).toBe('alice@example.com');
  });

  it('sets the request cookie SameSite=None; Secure on https, since the IdP posts back cross-site', async () => {
    const cfg = samlCfg();
    const https = await createSamlUpstreamSource(cfg, { baseUrl: 'https://sso.example.test', cookieName: 'pai_sso_saml' });
    gw = await startGateway({
      config: baseConfig({ server: { baseUrl: 'https://sso.example.test' }, identity: { source: ['saml'], saml: cfg } }),
      extraSources: [https],
    });
    const res = await gw.app.inject({ method: 'GET', url: SAML_UPSTREAM_PATHS.login });
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^pai_sso_saml=/);
    expect(cookie).toMatch(/SameSite=None/i);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Path=\/saml\/upstream\//);
    const authn = inflate(String(res.headers.location));
    expect(authn).toContain('AssertionConsumerServiceURL="https://sso.example.test/saml/upstream/acs"');
    expect(authn).toContain(`Destination="${idp.ssoUrl}"`);
    expect(authn).not.toContain('RequestedAuthnContext');
  });

  it('serves SP metadata a samlify IdP can be configured from: entity ID, POST ACS, signed assertions wanted', async () => {
    await gateway();
    const res = await (gw as TestGateway).app.inject({ method: 'GET', url: SAML_UPSTREAM_PATHS.metadata });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/samlmetadata\+xml/);
    const sp = samlify.ServiceProvider({ metadata: res.body });
    expect(sp.entityMeta.getEntityID()).toBe(SP_ENTITY);
    expect(sp.entityMeta.getAssertionConsumerService('post')).toBe(ACS);
    expect(sp.entityMeta.isWantAssertionsSigned()).toBe(true);
  });

  it('pins the certificate and SSO URL from an IdP metadata file', async () => {
    const file = join(dir, 'idp-metadata.xml');
    await writeFile(file, idp.metadataXml);
    const { idpCertPem: _unused, entryPoint: _ep, ...rest } = samlCfg();
    const cfg = { ...rest, idpMetadataFile: file } as SamlIdentityConfig;
    source = await createSamlUpstreamSource(cfg, { baseUrl: BASE });
    gw = await startGateway({
      config: baseConfig({ identity: { source: ['saml'], saml: cfg } }),
      extraSources: [source],
      keysDir: join(dir, 'gateway-keys'),
    });
    idp.trustSp((await gw.app.inject({ method: 'GET', url: SAML_UPSTREAM_PATHS.metadata })).body);
    idp.user = ALICE;
    const jar = new Jar();
    const form = await loginAtIdp(jar);
    expect((await postAcs(jar, form.samlResponse)).statusCode).toBe(303);
  });

  it('accepts a response the IdP also signs when wantResponseSigned is on, and refuses one it does not', async () => {
    await gateway({ wantResponseSigned: true }, { signResponse: true });
    const jar = new Jar();
    expect((await postAcs(jar, (await loginAtIdp(jar)).samlResponse)).statusCode).toBe(303);
    await gw?.close();
    await gateway({ wantResponseSigned: true }, { signResponse: false });
    const jar2 = new Jar();
    expectRefused(await postAcs(jar2, (await loginAtIdp(jar2)).samlResponse), 'bad-signature', jar2);
  });

  it('takes id, username and groups from the configured attributes', async () => {
    await gateway({ idFrom: 'oid', usernameFrom: 'upn', groupsAttribute: 'memberOf' });
    idp.user = {
      nameId: 'transient-xyz',
      attributes: { oid: ['0d9c1d6e-0000-4000-8000-00000000a11c'], upn: ['alice@corp.example'], memberOf: ['ml', 'ml', 'x'] },
    };
    const jar = new Jar();
    expect((await postAcs(jar, (await loginAtIdp(jar)).samlResponse)).statusCode).toBe(303);
    expect(audits('login.succeeded')).toMatchObject([
      { user: 'alice@corp.example', userId: '0d9c1d6e-0000-4000-8000-00000000a11c', groups: ['ml'] },
    ]);
  });
});

describe('upstream SAML: attacks and broken responses are refused with a 4xx and an audit line', () => {
  it('signature wrapping: the signed assertion hidden in Extensions, a forged one where readers look', async () => {
    await gateway();
    const jar = new Jar();
    const doc = parse(decode((await loginAtIdp(jar)).samlResponse));
    const response = doc.documentElement;
    const signed = first(doc, SAML_NS, 'Assertion');
    const evil = evilTwin(doc);
    const ext = doc.createElementNS(SAMLP_NS, 'samlp:Extensions');
    response.replaceChild(evil, signed);
    ext.appendChild(signed);
    response.insertBefore(ext, first(doc, SAMLP_NS, 'Status'));
    const forged = encode(serialize(doc));
    expectRefused(await postAcs(jar, forged), 'assertion-wrapping', jar);
    await expect(bareNodeSaml().validatePostResponseAsync({ SAMLResponse: forged })).rejects.toThrow(/signature/i);
  });

  it('signature wrapping: a forged assertion around the signed one', async () => {
    await gateway();
    const jar = new Jar();
    const doc = parse(decode((await loginAtIdp(jar)).samlResponse));
    const signed = first(doc, SAML_NS, 'Assertion');
    const evil = evilTwin(doc);
    doc.documentElement.replaceChild(evil, signed);
    const advice = doc.createElementNS(SAML_NS, 'saml:Advice');
    advice.appendChild(signed);
    evil.insertBefore(advice, first(evil, SAML_NS, 'Subject'));
    const forged = encode(serialize(doc));
    expectRefused(await postAcs(jar, forged), 'assertion-wrapping', jar);
    await expect(bareNodeSaml().validatePostResponseAsync({ SAMLResponse: forged })).rejects.toThrow(/signature/i);
  });

  it('a comment inside the NameID (admin<!---->.evil keeps the signature valid but splits the text)', async () => {
    await gateway();
    idp.user = { ...ALICE, nameId: 'admin.evil@example.com' };
    const jar = new Jar();
    const doc = parse(decode((await loginAtIdp(jar)).samlResponse));
    const nameId = first(doc, SAML_NS, 'NameID');
    nameId.textContent = 'admin';
    nameId.appendChild(doc.createComment(''));
    nameId.appendChild(doc.createTextNode('.evil@example.com'));
    const forged = serialize(doc);
    expect(forged).toContain('admin<!---->.evil@example.com');
    // The signature still verifies: canonicalization drops comments. That is the trap.
    const alone = await bareNodeSaml().validatePostResponseAsync({ SAMLResponse: encode(forged) });
    expect(alone.profile?.nameID).toBe('admin.evil@example.com');
    expectRefused(await postAcs(jar, encode(forged)), 'xml-comment', jar);
  });

  it('a response signed by another key that carries its own certificate in KeyInfo', async () => {
    await gateway();
    idp.tweaks = { foreignKey: true };
    const jar = new Jar();
    const form = await loginAtIdp(jar);
    expect(decode(form.samlResponse)).toContain(foreignPair.certPem.split('\n')[1] ?? 'x');
    expectRefused(await postAcs(jar, form.samlResponse), 'bad-signature', jar);
  });

  it('a response signed by another key that carries that key as a bare <ds:KeyValue>', async () => {
    await gateway();
    idp.tweaks = { foreignKey: true };
    const jar = new Jar();
    const forged = withKeyValue(decode((await loginAtIdp(jar)).samlResponse), foreignPair.certPem);
    expect(forged).toMatch(/RSAKeyValue><(ds:)?Modulus>/);
    expect(forged).not.toContain('X509Certificate');
    // A verifier that takes the document's key (xmlsec1 with only --trusted-pem) accepts it:
    const loose = await xmlsecVerify(dir, forged, idpPair.certPem, TRUSTED_PEM_ARGS);
    expect(loose.status, loose.stderr).toBe(0);
    // ...the pinned one and the gateway do not.
    expect((await xmlsecVerify(dir, forged, idpPair.certPem)).status).not.toBe(0);
    expectRefused(await postAcs(jar, encode(forged)), 'bad-signature', jar);
  });

  it('a replayed response: refused from the same browser state, and without it', async () => {
    await gateway();
    const jar = new Jar();
    const form = await loginAtIdp(jar);
    const stateCookie = jar.header();
    expect((await postAcs(jar, form.samlResponse)).statusCode).toBe(303);

    const copy = new Jar();
    for (const part of stateCookie.split('; ')) {
      const [name = '', value = ''] = part.split('=');
      if (name === 'pai_sso_saml') copy.set(name, value);
    }
    const replay = await postAcs(copy, form.samlResponse);
    expect(replay.statusCode).toBe(403);
    expect(audits('login.failed').map((a) => a['reason'])).toEqual(['replayed-assertion']);
    expect(copy.get('pai_sso')).toBeUndefined();

    const bare = await postAcs(new Jar(), form.samlResponse);
    expect(bare.statusCode).toBe(400);
    expect(audits('login.failed').map((a) => a['reason'])).toEqual(['replayed-assertion', 'no-login-state']);
  });

  it('a response to a request older than requestTimeoutSeconds (the pending request expired)', async () => {
    await gateway({ requestTimeoutSeconds: 120 });
    const g = gw as TestGateway;
    const inTime = new Jar();
    const first = await loginAtIdp(inTime);
    g.clock.now += 119_999;
    expect((await postAcs(inTime, first.samlResponse)).statusCode).toBe(303);
    const late = new Jar();
    const second = await loginAtIdp(late);
    g.clock.now += 120_000;
    const res = await postAcs(late, second.samlResponse);
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('SAMLResponse');
    expect(late.get('pai_sso')).toBeUndefined();
    expect(audits('login.failed').map((a) => a['reason'])).toEqual(['no-login-state']);
    expect(audits('login.succeeded')).toHaveLength(1);
  });

  it('an expired response (issued by a clock 20 minutes behind)', async () => {
    await gateway();
    idp.tweaks = { shiftMs: -20 * 60_000 };
    const jar = new Jar();
    expectRefused(await postAcs(jar, (await loginAtIdp(jar)).samlResponse), 'expired', jar);
  });

  it('a response from the future (NotBefore beyond the skew)', async () => {
    await gateway();
    idp.tweaks = { shiftMs: 10 * 60_000 };
    const jar = new Jar();
    expectRefused(await postAcs(jar, (await loginAtIdp(jar)).samlResponse), 'not-yet-valid', jar);
  });

  it('the wrong audience (an assertion meant for another SP of the same IdP)', async () => {
    await gateway();
    idp.tweaks = { audience: 'https://other-app.example.test' };
    const jar = new Jar();
    expectRefused(await postAcs(jar, (await loginAtIdp(jar)).samlResponse), 'wrong-audience', jar);
  });

  it.each<[string, Parameters<TestIdp['respond']>[2], string]>([
    ['the wrong Recipient', { recipient: 'https://other-app.example.test/acs' }, 'wrong-recipient'],
    ['the wrong Destination', { destination: 'https://other-app.example.test/acs' }, 'wrong-destination'],
    ['another Issuer (same key)', { issuer: 'https://impostor.example.test' }, 'wrong-issuer'],
    // Apart, so that dropping either check fails a test on its own.
    ['another Issuer in the signed Assertion only', { assertionIssuer: 'https://impostor.example.test' }, 'wrong-issuer'],
    ['another Issuer on the Response only', { responseIssuer: 'https://impostor.example.test' }, 'wrong-issuer'],
  ])('%s', async (_label, tweaks, reason) => {
    await gateway();
    idp.tweaks = tweaks ?? {};
    const jar = new Jar();
    expectRefused(await postAcs(jar, (await loginAtIdp(jar)).samlResponse), reason, jar);
  });

  it('an unsolicited (IdP-initiated) response unless allowIdpInitiated is set', async () => {
    await gateway();
    const unsolicited = await idp.respond(null, ALICE);
    const jar = new Jar();
    expectRefused(await postAcs(jar, unsolicited), 'unsolicited-response', jar);
    await gw?.close();
    await gateway({ allowIdpInitiated: true });
    const ok = await postAcs(new Jar(), await idp.respond(null, ALICE));
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/');
  });

  it('a response to another browser’s request (login CSRF), and one to a request never made', async () => {
    await gateway();
    const victim = new Jar();
    await loginAtIdp(victim);
    const attacker = new Jar();
    const attackersOwn = await loginAtIdp(attacker);
    expectRefused(await postAcs(victim, attackersOwn.samlResponse), 'request-mismatch', victim);
    const invented = await idp.respond('_never-issued', ALICE);
    const jar = new Jar();
    await loginAtIdp(jar);
    const res = await postAcs(jar, invented);
    expect(res.statusCode).toBe(403);
    expect(audits('login.failed').map((a) => a['reason'])).toEqual(['request-mismatch', 'request-mismatch']);
  });

  it('a signed value changed after signing (group ml -> ml-admins)', async () => {
    await gateway();
    const jar = new Jar();
    const xml = decode((await loginAtIdp(jar)).samlResponse).replace('>ml<', '>ml-admins<');
    expectRefused(await postAcs(jar, encode(xml)), 'bad-signature', jar);
  });

  it('an IdP error status (user cancelled) and a DOCTYPE', async () => {
    await gateway();
    const jar = new Jar();
    const { requestId } = await loginAtIdp(jar);
    const status = `<samlp:Response xmlns:samlp="${SAMLP_NS}" xmlns:saml="${SAML_NS}" ID="_e1" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${ACS}" InResponseTo="${requestId}"><saml:Issuer>${idp.entityId}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode></samlp:Status></samlp:Response>`;
    expectRefused(await postAcs(jar, encode(status)), 'idp-refused', jar);
    const jar2 = new Jar();
    const genuine = decode((await loginAtIdp(jar2)).samlResponse);
    const withDoctype = genuine.replace('<samlp:Response', '<!DOCTYPE r [<!ENTITY x "y">]><samlp:Response');
    const res = await postAcs(jar2, encode(withDoctype));
    expect(res.statusCode).toBe(400);
    expect(audits('login.failed').map((a) => a['reason'])).toEqual(['idp-refused', 'doctype']);
  });

  it('bodies that are not a SAMLResponse: 400 and an audit line, never a 500', async () => {
    await gateway();
    const jar = new Jar();
    const bodies: Record<string, string>[] = [{ SAMLResponse: '<xml/>' }, { SAMLResponse: 'A'.repeat(300_000) }, { other: 'x' }];
    for (const form of bodies) {
      const res = await request(gw as TestGateway, jar, 'POST', SAML_UPSTREAM_PATHS.acs, form);
      expect([400, 413]).toContain(res.statusCode);
    }
    expect(audits('request.rejected')).toHaveLength(3);
    const garbage = await postAcs(jar, encode('not xml at all <'));
    expect(garbage.statusCode).toBe(400);
    expect(audits('login.failed').map((a) => a['reason'])).toEqual(['malformed-response']);
  });
});

/** A Response whose body is `inner`, wrapped as an IdP would start one. */
const responseAround = (inner: string) =>
  `<samlp:Response xmlns:samlp="${SAMLP_NS}" xmlns:saml="${SAML_NS}" ID="_big" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${ACS}">${inner}</samlp:Response>`;

describe('upstream SAML: the unauthenticated ACS is bounded before and while it parses', () => {
  it('answers a Response nested 20,000 elements deep with a 400 and an audit line, not a stack overflow', async () => {
    await gateway();
    const jar = new Jar();
    await loginAtIdp(jar);
    const deep = responseAround(`${'<a>'.repeat(20_000)}${'</a>'.repeat(20_000)}`);
    const res = await postAcs(jar, encode(deep));
    expect(res.statusCode).toBe(400);
    expectRefused(res, 'too-deep', jar);
    expect((gw as TestGateway).logs.filter((l) => l['msg'] === 'request failed')).toEqual([]);
  });

  it('refuses too many elements, or attributes, before parsing', async () => {
    await gateway();
    const jar = new Jar();
    await loginAtIdp(jar);
    const many = responseAround('<saml:Issuer>x</saml:Issuer>'.repeat(2600));
    expectRefused(await postAcs(jar, encode(many)), 'too-many-elements', jar);
    const jar2 = new Jar();
    await loginAtIdp(jar2);
    const attrs = Array.from({ length: 6000 }, (_, i) => `a${i}="x"`).join(' ');
    const res = await postAcs(jar2, encode(responseAround(`<saml:Issuer ${attrs}>x</saml:Issuer>`)));
    expect(res.statusCode).toBe(400);
    expect(audits('login.failed').map((a) => a['reason'])).toEqual(['too-many-elements', 'too-many-elements']);
  });

  it('takes a genuine Response far above server.bodyLimitBytes, and refuses a body above maxResponseBytes with 413', async () => {
    await gateway({ maxResponseBytes: 131072 });
    const jar = new Jar();
    const genuine = decode((await loginAtIdp(jar)).samlResponse);
    // Whitespace outside the signed Assertion: the signature still holds, the body is ~80 KB.
    const padded = genuine.replace('</samlp:Response>', `${' '.repeat(60_000)}</samlp:Response>`);
    const ok = await postAcs(jar, encode(padded));
    expect(ok.statusCode).toBe(303);
    const tooBig = await postAcs(new Jar(), encode(genuine.replace('</samlp:Response>', `${' '.repeat(100_000)}</samlp:Response>`)));
    expect(tooBig.statusCode).toBe(413);
    expect(audits('request.rejected')).toMatchObject([{ status: 413, path: SAML_UPSTREAM_PATHS.acs }]);
  });

  it('throttles the ACS per client address: a per-minute cap before the body is read, and lockout after failures', async () => {
    await gateway({}, {}, { loginAttemptsPerMinute: 3, loginThrottle: { address: { freeFailures: 1, lockoutAfter: 2 } } });
    const post = () => postAcs(new Jar(), encode('not xml <'));
    const first = [await post(), await post()].map((r) => r.statusCode);
    expect(first).toEqual([400, 400]);
    const locked = await post();
    expect(locked.statusCode).toBe(429);
    expect(audits('login.locked')).toMatchObject([{ scope: 'address', path: SAML_UPSTREAM_PATHS.acs }]);
    expect(audits('login.throttled')).toMatchObject([{ scope: 'address', path: SAML_UPSTREAM_PATHS.acs }]);
  });

  it('caps ACS posts per minute per address even when none of them fails', async () => {
    await gateway({ allowIdpInitiated: true }, {}, { loginAttemptsPerMinute: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await postAcs(new Jar(), await idp.respond(null, ALICE))).statusCode);
    expect(statuses).toEqual([303, 303, 429]);
    expect(audits('login.throttled')).toMatchObject([{ scope: 'rate', path: SAML_UPSTREAM_PATHS.acs }]);
  });
});

describe('upstream SAML: configuration and operations', () => {
  it('refuses to start without exactly one pinned certificate source, or with a key instead of a certificate', async () => {
    const base = samlCfg();
    const { idpCertPem: _c, ...none } = base;
    await expect(createSamlUpstreamSource(none as SamlIdentityConfig, { baseUrl: BASE })).rejects.toThrow(/exactly one/);
    await expect(createSamlUpstreamSource(none as SamlIdentityConfig, { baseUrl: BASE })).rejects.toBeInstanceOf(ConfigError);
    await expect(createSamlUpstreamSource({ ...base, idpCertFile: '/x' }, { baseUrl: BASE })).rejects.toThrow(/exactly one/);
    await expect(createSamlUpstreamSource({ ...base, idpCertPem: idpPair.keyPem }, { baseUrl: BASE })).rejects.toThrow(/private key/);
    await expect(createSamlUpstreamSource({ ...none, idpCertFile: join(dir, 'missing.pem') }, { baseUrl: BASE })).rejects.toThrow(
      /identity\.saml\.idpCertFile: cannot read .*missing\.pem: ENOENT/,
    );
    const md = join(dir, 'other-md.xml');
    await writeFile(md, idp.metadataXml);
    await expect(
      createSamlUpstreamSource(
        { ...none, idpMetadataFile: md, idpIssuer: 'https://someone-else' },
        {
          baseUrl: BASE,
        },
      ),
    ).rejects.toThrow(/identity\.saml\.idpMetadataFile: .* has no EntityDescriptor/);
    expect(() => parseIdpMetadata('<not xml', 'x')).toThrow(SamlSourceError);
    await expect(createSamlUpstreamSource({ ...base, entryPoint: 'http://idp.example.test/sso' }, { baseUrl: BASE })).rejects.toThrow(
      /https/,
    );
  });

  it('validates the identity.saml section through the real config loader, defaults included', () => {
    const raw = baseConfig({
      identity: {
        source: 'saml',
        saml: { entryPoint: 'https://idp.example.test/sso', idpIssuer: 'https://idp.example.test', idpCertFile: 'certs/idp.pem' },
      },
    });
    const config = parseConfig(stringify(raw), 'test');
    expect(config.identity.saml).toMatchObject({
      wantResponseSigned: false,
      allowIdpInitiated: false,
      groupsAttribute: ENTRA_GROUPS_CLAIM,
      clockSkewSeconds: 60,
      usernameFrom: 'nameID',
    });
    expect(() =>
      parseConfig(stringify(baseConfig({ identity: { source: 'saml', saml: { idpIssuer: 'x', idpCertFile: 'y', bogus: 1 } } })), 'test'),
    ).toThrow();
  });

  it('is built by createSources from identity.saml, as serve does', async () => {
    const raw = baseConfig({
      identity: { source: 'saml', saml: { entryPoint: idp.ssoUrl, idpIssuer: idp.entityId, idpCertPem: idpPair.certPem } },
    });
    const sources = await createSources(parseConfig(stringify(raw), 'test'), { env: {} });
    expect(sources.redirect.map((s) => [s.kind, s.startPath])).toEqual([['saml', SAML_UPSTREAM_PATHS.login]]);
    expect(sources.password).toHaveLength(0);
  });

  it('reports through /readyz when the IdP cannot be reached', async () => {
    const down = await startTestIdp({ pair: idpPair, foreignPair });
    const cfg = samlCfg({ entryPoint: down.ssoUrl, probeEntryPoint: true });
    await down.close();
    source = await createSamlUpstreamSource(cfg, { baseUrl: BASE });
    gw = await startGateway({ config: baseConfig({ identity: { source: ['saml'], saml: cfg } }), extraSources: [source] });
    const res = await gw.app.inject({ method: 'GET', url: '/readyz', headers: ASADMIN });
    expect(res.statusCode).toBe(503);
    expect(res.body).toMatch(/saml: IdP http:\/\/127\.0\.0\.1:\d+ unreachable/);

    const up = await createSamlUpstreamSource(samlCfg({ probeEntryPoint: true }), { baseUrl: BASE });
    expect(await up.ready()).toEqual({ ok: true });
  });

  it('warns when a mapping names a group where Entra sends object IDs', async () => {
    const s = await createSamlUpstreamSource(samlCfg(), { baseUrl: BASE });
    expect(s.checkMappingGroup?.('ml-admins')).toMatch(/GUIDs/);
    expect(s.checkMappingGroup?.('0d9c1d6e-0000-4000-8000-00000000a11c')).toBeUndefined();
    const named = await createSamlUpstreamSource(samlCfg({ groupsAttribute: 'groups' }), { baseUrl: BASE });
    expect(named.checkMappingGroup?.('ml-admins')).toBeUndefined();
  });

  it('replay cache: remembers until expiry, forgets after, stays bounded', () => {
    const clock = { t: 1_000_000 };
    const cache = createReplayCache(100, () => clock.t);
    expect(cache.firstUse('a', clock.t + 1000)).toBe(true);
    expect(cache.firstUse('a', clock.t + 1000)).toBe(false);
    clock.t += 1001;
    expect(cache.firstUse('a', clock.t + 1000)).toBe(true);
    for (let i = 0; i < 500; i++) cache.firstUse(`id${i}`, clock.t + 10_000);
    expect(cache.size).toBeLessThanOrEqual(100);
    clock.t += 20_000;
    cache.firstUse('z', clock.t + 1);
    expect(cache.size).toBe(1);
  });
});
