import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { Value } from '@sinclair/typebox/value';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRA_GROUPS_CLAIM, SamlIdentitySchema, type SamlIdentityConfig } from '../../src/config/identity-saml-schema.js';
import { createSamlUpstreamSource, SAML_UPSTREAM_PATHS } from '../../src/identity/saml-upstream.js';
import { generateSigningPair } from '../../src/keys/generate.js';
import { Jar, startGateway, type TestGateway } from '../helpers/gateway.js';
import { tempDir } from '../helpers/fixture.js';
import { startTestIdp, type IdpUser, type TestIdp } from '../identity/saml-upstream-idp.js';
import { SEED, fuzz, fuzzConfig, hostileString, isHandoff, issuedCookies, noServerError, verifyHandoff } from './fuzz.js';

// POST /saml/upstream/acs (src/identity/saml-upstream-routes.ts), unauthenticated, fed
// mutations of a valid Response that samlify signed: every mutation that touches signed
// content must be refused, and whatever is accepted must sign in exactly whom the IdP signed.

const ALICE: IdpUser = {
  nameId: 'alice@example.com',
  attributes: { [ENTRA_GROUPS_CLAIM]: ['ml', 'everyone'] },
};
const SIGNED_GROUPS = ['ml', 'everyone'];

let idp: TestIdp;
let gw: TestGateway;
let dir: string;
beforeAll(async () => {
  dir = await tempDir('pai-sso-fuzz-saml-');
  const pair = await generateSigningPair('idp.example.test', 30);
  idp = await startTestIdp({ pair });
  const cfg = Value.Default(SamlIdentitySchema, {
    entryPoint: idp.ssoUrl,
    idpIssuer: idp.entityId,
    idpCertPem: pair.certPem,
    probeEntryPoint: false,
  }) as SamlIdentityConfig;
  const source = await createSamlUpstreamSource(cfg, { baseUrl: 'http://localhost:8080', cookieName: 'pai_sso_saml' });
  gw = await startGateway({
    config: fuzzConfig({ identity: { source: ['saml'], saml: cfg } }),
    extraSources: [source],
    keysDir: join(dir, 'keys'),
  });
  idp.trustSp((await gw.app.inject({ method: 'GET', url: SAML_UPSTREAM_PATHS.metadata })).body);
});
afterAll(async () => {
  await gw.close();
  await idp.close();
  await rm(dir, { recursive: true, force: true });
});

/** What the mutation does to the Response, as data. `at` picks an element (modulo their count). */
const xmlMutation = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ op: 'none' as const }) },
  fc.record({
    op: fc.constant('text' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom('mallory@example.com', 'ml-admins', ''), hostileString(30)),
  }),
  fc.record({ op: fc.constant('attribute' as const), at: fc.nat(), attr: fc.nat(), value: fc.oneof(fc.constant('_x'), hostileString(30)) }),
  fc.record({ op: fc.constant('remove' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('comment' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('wrap' as const), into: fc.constantFrom('Extensions', 'Advice', 'Object', 'Status') }),
  fc.record({ op: fc.constant('nest' as const), depth: fc.integer({ min: 1, max: 1000 }) }),
  fc.record({ op: fc.constant('doctype' as const), kind: fc.constantFrom('entity', 'external', 'billion') }),
  fc.record({ op: fc.constant('chars' as const), at: fc.nat(), value: hostileString(4) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);
const transport = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ op: 'base64' as const }) },
  fc.record({ op: fc.constant('b64-flip' as const), at: fc.nat(), value: fc.constantFrom('A', '/', '+', '=', '_', '-', '!', ' ') }),
  fc.record({ op: fc.constant('raw' as const), value: hostileString(200) }),
  fc.constant({ op: 'plain-xml' as const }),
);
const acsCase = fc.record({
  mutation: xmlMutation,
  transport,
  relayState: fc.option(hostileString(40), { nil: undefined }),
  extraField: fc.option(fc.tuple(hostileString(10), hostileString(20)), { nil: undefined, freq: 5 }),
  withRequestCookie: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, fc.constant(false)),
});

const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';

type XmlMutation = typeof xmlMutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(xml: string, m: XmlMutation): string {
  if (m.op === 'none') return xml;
  if (m.op === 'chars') {
    const i = m.at % xml.length;
    return xml.slice(0, i) + m.value + xml.slice(i + 1);
  }
  if (m.op === 'truncate') return xml.slice(0, m.at % xml.length);
  if (m.op === 'doctype') {
    const dtd = {
      entity: '<!DOCTYPE r [<!ENTITY e "ml-admins">]>',
      external: '<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
      billion: `<!DOCTYPE r [<!ENTITY a "${'x'.repeat(100)}"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>`,
    }[m.kind];
    return dtd + xml.replace(/^<\?xml[^>]*\?>/, '');
  }
  if (m.op === 'nest') {
    const open = '<samlp:Extensions>'.repeat(m.depth);
    const close = '</samlp:Extensions>'.repeat(m.depth);
    return xml.replace(/(<samlp:Status>)/, `${open}${close}$1`);
  }
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const all = Array.from(doc.getElementsByTagName('*'));
  const pick = (at: number) => all[at % all.length] as Element;
  // The document element itself cannot be removed or doubled (a document has one).
  const pickInner = (at: number) => all[1 + (at % (all.length - 1))] as Element;
  switch (m.op) {
    case 'text':
      pick(m.at).textContent = m.value;
      break;
    case 'attribute': {
      const el = pick(m.at);
      const attrs = Array.from(el.attributes);
      const attr = attrs[m.attr % Math.max(1, attrs.length)];
      if (attr) el.setAttribute(attr.name, m.value);
      else el.setAttribute('ID', m.value);
      break;
    }
    case 'remove': {
      const el = pickInner(m.at);
      el.parentNode?.removeChild(el);
      break;
    }
    case 'duplicate': {
      const el = pickInner(m.at);
      el.parentNode?.insertBefore(el.cloneNode(true), el);
      break;
    }
    case 'comment': {
      const el = pick(m.at);
      el.insertBefore(doc.createComment(''), el.firstChild);
      break;
    }
    case 'wrap': {
      // The signed assertion moved into a wrapper, an unsigned copy (other user, other group) in its place.
      const signed = doc.getElementsByTagNameNS(SAML_NS, 'Assertion')[0] as Element;
      const evil = signed.cloneNode(true) as Element;
      evil.setAttribute('ID', '_evil');
      const sig = evil.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0];
      sig?.parentNode?.removeChild(sig);
      const nameId = evil.getElementsByTagNameNS(SAML_NS, 'NameID')[0];
      if (nameId) nameId.textContent = 'mallory@example.com';
      for (const v of Array.from(evil.getElementsByTagNameNS(SAML_NS, 'AttributeValue'))) v.textContent = 'ml-admins';
      signed.parentNode?.replaceChild(evil, signed);
      const ns = m.into === 'Advice' ? SAML_NS : SAMLP_NS;
      const wrapper = doc.createElementNS(ns, `${ns === SAML_NS ? 'saml' : 'samlp'}:${m.into}`);
      wrapper.appendChild(signed);
      doc.documentElement.appendChild(wrapper);
      break;
    }
  }
  return new XMLSerializer().serializeToString(doc);
}

function requestIdOf(location: string): string {
  const xml = inflateRawSync(Buffer.from(new URL(location).searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
  return /<samlp:AuthnRequest[^>]* ID="([^"]+)"/.exec(xml)?.[1] ?? '';
}

describe(`fuzz /saml/upstream/acs (seed ${SEED})`, () => {
  it('mutated signed Responses: never a 5xx; a session only for whom the IdP signed, with the groups it signed', async () => {
    let sessions = 0;
    await fuzz(acsCase, 80, async (c) => {
      const jar = new Jar();
      const start = await gw.app.inject({ method: 'GET', url: SAML_UPSTREAM_PATHS.login });
      expect(start.statusCode).toBe(302);
      if (c.withRequestCookie) jar.take(start);
      const xml = Buffer.from(await idp.respond(requestIdOf(String(start.headers.location)), ALICE), 'base64').toString('utf8');
      const mutatedXml = mutate(xml, c.mutation);
      let samlResponse: string;
      switch (c.transport.op) {
        case 'base64':
          samlResponse = Buffer.from(mutatedXml, 'utf8').toString('base64');
          break;
        case 'b64-flip': {
          const b64 = Buffer.from(mutatedXml, 'utf8').toString('base64');
          const i = c.transport.at % b64.length;
          samlResponse = b64.slice(0, i) + c.transport.value + b64.slice(i + 1);
          break;
        }
        case 'raw':
          samlResponse = c.transport.value;
          break;
        case 'plain-xml':
          samlResponse = mutatedXml;
          break;
      }
      const form: Record<string, string> = { SAMLResponse: samlResponse };
      const before = gw.logs.length;
      if (c.relayState !== undefined) form['RelayState'] = c.relayState;
      if (c.extraField) form[c.extraField[0]] = c.extraField[1];
      const res = await gw.app.inject({
        method: 'POST',
        url: SAML_UPSTREAM_PATHS.acs,
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(form).toString(),
      });
      noServerError(res, 'POST /saml/upstream/acs');
      expect(isHandoff(res)).toBe(false);
      if (res.headers.location !== undefined) expect(res.headers.location).toMatch(/^\/(?![/\\])/);
      if (issuedCookies(res, 'pai_sso').length === 0) return;

      sessions++;
      expect(c.withRequestCookie).toBe(true);
      const succeeded = gw.logs.slice(before).filter((l) => l['audit'] === 'login.succeeded');
      expect(succeeded).toHaveLength(1);
      expect(succeeded[0]?.['user']).toBe(ALICE.nameId);
      for (const g of (succeeded[0]?.['groups'] as string[] | undefined) ?? []) expect(SIGNED_GROUPS).toContain(g);
      jar.take(res);
      const sso = await gw.app.inject({ method: 'GET', url: '/sso/pai?target=pai', headers: { cookie: jar.header() } });
      noServerError(sso, 'GET /sso/pai');
      expect(isHandoff(sso)).toBe(true);
      const { nameId } = await verifyHandoff(sso, gw.keys.current.pem, SIGNED_GROUPS);
      expect(nameId).toBe(ALICE.nameId);
    });
    expect(sessions).toBeGreaterThan(0);
  });
});
