import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateKeys, type KeyMaterial } from '../../src/keys/store.js';
import { buildResponseParts, type AssertionInput } from '../../src/saml/assertion.js';
import { createSigner } from '../../src/saml/sign.js';
import { SITE_SPECS } from '../spec/alibaba-facts.js';
import { alibabaSp, responseFacts } from '../helpers/saml-sp.js';
import { TRUSTED_PEM_ARGS, XMLSEC, withKeyValue, xmlsecVerify } from '../helpers/xmlsec.js';

let dir: string;
let keys: KeyMaterial;
let attacker: KeyMaterial;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pai-sso-sign-'));
  keys = await loadOrCreateKeys({ dir: join(dir, 'ours'), commonName: 'idp.test', certValidityDays: 10 });
  attacker = await loadOrCreateKeys({ dir: join(dir, 'theirs'), commonName: 'idp.test', certValidityDays: 10 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function input(overrides: Partial<AssertionInput> = {}): AssertionInput {
  return {
    issuer: 'https://sso.example.test/saml/metadata',
    acs: SITE_SPECS.cn.acs,
    audience: SITE_SPECS.cn.audience,
    now: new Date(),
    responseId: '_r0123456789',
    assertionId: '_a0123456789',
    sessionIndex: '_s1',
    lifetimeSeconds: 300,
    skewSeconds: 60,
    nameId: { format: 'persistent', value: 'u-1' },
    authnInstant: new Date(),
    roles: [{ roleArn: 'acs:ram::1234567890123456:role/pai-dev', providerArn: 'acs:ram::1234567890123456:saml-provider/corp' }],
    roleSessionName: 'alice',
    sessionDuration: 3600,
    ...overrides,
  };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const sign = (k: KeyMaterial, a: AssertionInput, signResponse = false) =>
  createSigner({ privateKey: k.privateKey, certPem: k.current.pem }, { signResponse }).sign(buildResponseParts(a));

describe('signing', () => {
  it('refuses an assertion or response ID that would need escaping in the Reference URI', () => {
    const refused = new RangeError('IDs must be plain NCNames');
    for (const bad of ['_a"b', '1abc', '_a#b', '']) {
      expect(() => sign(keys, input({ assertionId: bad }))).toThrow(refused);
      expect(() => sign(keys, input({ responseId: bad }))).toThrow(refused);
    }
    expect(() => sign(keys, input({ assertionId: '_A-1.b_c', responseId: 'R_2' }))).not.toThrow();
  });

  it('signs the Assertion with RSA-SHA256, SHA-256 digest, exclusive c14n, enveloped, right after Issuer', () => {
    const xml = sign(keys, input());
    const f = responseFacts(xml);
    expect(f.childOrder.slice(0, 2)).toEqual(['Issuer', 'Signature']);
    expect(xml).toContain('Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"');
    expect(xml).toContain('<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></ds:DigestMethod>');
    expect(xml).toContain('<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"></ds:Transform>');
    expect(xml).toContain('<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></ds:CanonicalizationMethod>');
    expect(xml).toContain('<ds:Reference URI="#_a0123456789">');
    // The Response itself is unsigned by default: one Signature in the document.
    expect(xml.match(/<ds:Signature /g)).toHaveLength(1);
  });

  it('optionally signs the Response too, and both signatures verify', async () => {
    const xml = sign(keys, input(), true);
    expect(xml.match(/<ds:Signature /g)).toHaveLength(2);
    const sp = alibabaSp('cn', keys.current.pem);
    const strict = new (sp.constructor as typeof import('@node-saml/node-saml').SAML)({
      idpCert: keys.current.pem,
      issuer: SITE_SPECS.cn.audience,
      audience: SITE_SPECS.cn.audience,
      callbackUrl: SITE_SPECS.cn.acs,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: true,
      acceptedClockSkewMs: 5000,
    });
    await expect(strict.validatePostResponseAsync({ SAMLResponse: b64(xml) })).resolves.toBeTruthy();
  });

  it('is rejected when any byte of the signed content changes', async () => {
    const xml = sign(keys, input());
    const sp = alibabaSp('cn', keys.current.pem);
    await expect(sp.validatePostResponseAsync({ SAMLResponse: b64(xml) })).resolves.toBeTruthy();
    const tampered = [
      xml.replace('role/pai-dev', 'role/pai-adm'),
      xml.replace('>alice<', '>alicf<'),
      xml.replace(SITE_SPECS.cn.audience, `${SITE_SPECS.cn.audience}x`),
    ];
    for (const t of tampered) {
      expect(t).not.toBe(xml);
      await expect(sp.validatePostResponseAsync({ SAMLResponse: b64(t) })).rejects.toThrow(/signature/i);
    }
  });

  it('is rejected when signed by another key, even one that ships its own certificate', async () => {
    const forged = sign(attacker, input());
    await expect(alibabaSp('cn', keys.current.pem).validatePostResponseAsync({ SAMLResponse: b64(forged) })).rejects.toThrow(/signature/i);
  });

  it('is rejected once expired', async () => {
    const old = sign(keys, input({ now: new Date(Date.now() - 10 * 60_000) }));
    await expect(alibabaSp('cn', keys.current.pem, 0).validatePostResponseAsync({ SAMLResponse: b64(old) })).rejects.toThrow(/expired/i);
  });

  it('signs hostile values so verifiers agree on them', async () => {
    const hostile = 'a"b&c<d>e]]>f\tg\r\nh 張三 😀 \u0001';
    const xml = sign(keys, input({ nameId: { format: 'unspecified', value: hostile } }));
    const { profile } = await alibabaSp('cn', keys.current.pem).validatePostResponseAsync({ SAMLResponse: b64(xml) });
    // The control character cannot exist in XML; it is replaced, everything else survives.
    expect(profile?.nameID).toBe('a"b&c<d>e]]>f\tg\r\nh 張三 😀 \uFFFD');
  });
});

describe('xmlsec1, an independent verifier, with our key pinned', () => {
  const verify = (xml: string, cert: string) => xmlsecVerify(dir, xml, cert);

  it('verifies our signature with only our certificate as key', async () => {
    expect(XMLSEC, 'xmlsec1 is missing: .ci/run installs it with apt').toBeDefined();
    const res = await verify(sign(keys, input()), keys.current.pem);
    expect(res.status, res.stderr).toBe(0);
  });

  it('refuses a tampered or foreign-signed response', async () => {
    expect(XMLSEC, 'xmlsec1 is missing: .ci/run installs it with apt').toBeDefined();
    const good = sign(keys, input());
    expect((await verify(good.replace('role/pai-dev', 'role/pai-adm'), keys.current.pem)).status).not.toBe(0);
    expect((await verify(sign(attacker, input()), keys.current.pem)).status).not.toBe(0);
  });
});

describe('the KeyValue forgery: signed by an unrelated key that travels in the document as <ds:KeyValue>', () => {
  const forgery = () =>
    withKeyValue(
      sign(
        attacker,
        input({
          roles: [{ roleArn: 'acs:ram::1234567890123456:role/pai-admin', providerArn: 'acs:ram::1234567890123456:saml-provider/corp' }],
        }),
      ),
      attacker.current.pem,
    );

  it('is a real forgery: xmlsec1 with only --trusted-pem (the suite’s old check) accepts it', async () => {
    expect(XMLSEC, 'xmlsec1 is missing: .ci/run installs it with apt').toBeDefined();
    const xml = forgery();
    expect(xml).toContain('<ds:RSAKeyValue><ds:Modulus>');
    expect(xml).not.toContain('X509Certificate');
    const res = await xmlsecVerify(dir, xml, keys.current.pem, TRUSTED_PEM_ARGS);
    // xmlsec1 1.2.37 takes the document's raw key: the pitfall the pinned arguments close.
    expect(res.status, res.stderr).toBe(0);
  });

  it('is refused by xmlsec1 with the key pinned, and by node-saml as Alibaba’s SP', async () => {
    const xml = forgery();
    const res = await xmlsecVerify(dir, xml, keys.current.pem);
    expect(res.status).not.toBe(0);
    await expect(alibabaSp('cn', keys.current.pem).validatePostResponseAsync({ SAMLResponse: b64(xml) })).rejects.toThrow(/signature/i);
    // Our own, untouched response still passes both, so the refusals are about the key.
    const genuine = sign(keys, input());
    expect((await xmlsecVerify(dir, genuine, keys.current.pem)).status).toBe(0);
    await expect(alibabaSp('cn', keys.current.pem).validatePostResponseAsync({ SAMLResponse: b64(genuine) })).resolves.toBeTruthy();
  });
});
