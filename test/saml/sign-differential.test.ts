import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { loadOrCreateKeys, type KeyMaterial } from '../../src/keys/store.js';
import { buildResponseParts, type AssertionInput } from '../../src/saml/assertion.js';
import { createSigner } from '../../src/saml/sign.js';
import { createReferenceSigner } from '../helpers/sign-reference.js';
import { SITE_SPECS } from '../spec/alibaba-facts.js';
import { roleSessionName } from '../../src/alibaba.js';
import { alibabaSp, parseXml, elements } from '../helpers/saml-sp.js';
import { xmlsecVerify } from '../helpers/xmlsec.js';

const DS = 'http://www.w3.org/2000/09/xmldsig#';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';

// Deterministic, so a failure names a case that can be replayed.
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  'a',
  'Z',
  '0',
  ' ',
  '"',
  "'",
  '&',
  '<',
  '>',
  ']]>',
  '&amp;',
  '<!--x-->',
  '\r\n',
  '\r',
  '\n',
  '\t',
  'é',
  '张三',
  '😀',
  '\u00a0',
  '\u2028',
  '\uD800',
  '\u0001',
  '=',
  '@',
  '.',
  'acs:ram::1:role/x,',
  '</saml:AttributeValue>',
];

function hostile(rand: () => number, max = 12): string {
  const n = 1 + Math.floor(rand() * max);
  let out = '';
  for (let i = 0; i < n; i++) out += PIECES[Math.floor(rand() * PIECES.length)] ?? '';
  return out;
}

function randomInput(seed: number): AssertionInput {
  const rand = prng(seed);
  const site = rand() < 0.5 ? 'cn' : 'intl';
  const roles = Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, i) => ({
    roleArn: `acs:ram::1234567890123456:role/r${i}-${Math.floor(rand() * 1e6)}`,
    providerArn: 'acs:ram::1234567890123456:saml-provider/corp',
  }));
  const now = new Date(Date.UTC(2026, 10, 28, 10, 0, 0) + Math.floor(rand() * 1e9));
  return {
    issuer: rand() < 0.3 ? hostile(rand) : 'https://sso.example.test/saml/metadata',
    acs: SITE_SPECS[site].acs,
    audience: SITE_SPECS[site].audience,
    now,
    responseId: `_r${seed.toString(16)}`,
    assertionId: `_a${seed.toString(16)}`,
    sessionIndex: `_s${seed}`,
    lifetimeSeconds: 300,
    skewSeconds: 60,
    nameId: { format: rand() < 0.5 ? 'persistent' : 'unspecified', value: hostile(rand) },
    authnInstant: new Date(now.getTime() - 1000),
    sessionNotOnOrAfter: rand() < 0.7 ? new Date(now.getTime() + 3600_000) : undefined,
    roles,
    roleSessionName: rand() < 0.5 ? hostile(rand) : roleSessionName(hostile(rand), { source: 'local', id: hostile(rand) }),
    sessionDuration: rand() < 0.5 ? 900 + Math.floor(rand() * 40000) : undefined,
  };
}

/** What a verifier computes: SignedInfo canonicalised by xml-crypto's own exc-c14n. */
function signatureFacts(xml: string, which: 'Assertion' | 'Response') {
  const doc = parseXml(xml);
  const owner = which === 'Assertion' ? elements(doc, SAML, 'Assertion')[0] : doc.documentElement;
  const sig = Array.from(owner?.childNodes ?? []).find((n) => (n as Element).localName === 'Signature') as Element;
  const signedInfo = elements(sig, DS, 'SignedInfo')[0] as Element;
  return {
    canonicalSignedInfo: new ExclusiveCanonicalization().process(signedInfo, {}),
    digest: elements(sig, DS, 'DigestValue')[0]?.textContent,
    value: elements(sig, DS, 'SignatureValue')[0]?.textContent,
  };
}

let dir: string;
let keys: KeyMaterial;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pai-sso-diff-'));
  keys = await loadOrCreateKeys({ dir, commonName: 'idp.test', certValidityDays: 10 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const CASES = 300;

describe('the fast signer against xml-crypto', () => {
  it.each([false, true])(
    `computes byte-identical SignedInfo, DigestValue and SignatureValue over ${CASES} hostile inputs (signResponse=%s)`,
    (signResponse) => {
      const k = { privateKey: keys.privateKey, certPem: keys.current.pem };
      const fast = createSigner(k, { signResponse });
      const reference = createReferenceSigner(k, { signResponse });
      for (let seed = 1; seed <= CASES; seed++) {
        const parts = buildResponseParts(randomInput(seed));
        const ours = fast.sign(parts);
        const theirs = reference.sign(parts);
        for (const which of signResponse ? (['Assertion', 'Response'] as const) : (['Assertion'] as const)) {
          const a = signatureFacts(ours, which);
          const b = signatureFacts(theirs, which);
          expect(a, `seed ${seed} ${which}`).toEqual(b);
        }
      }
    },
  );

  it('produces output every verifier accepts: node-saml and xmlsec1 with our certificate pinned as the only key', async () => {
    const fast = createSigner({ privateKey: keys.privateKey, certPem: keys.current.pem }, { signResponse: false });
    for (let seed = 1000; seed < 1030; seed++) {
      const input = { ...randomInput(seed), now: new Date(), authnInstant: new Date() };
      const xml = fast.sign(buildResponseParts(input));
      const site = input.acs === SITE_SPECS.cn.acs ? 'cn' : 'intl';
      await expect(
        alibabaSp(site, keys.current.pem).validatePostResponseAsync({ SAMLResponse: Buffer.from(xml).toString('base64') }),
        `seed ${seed}`,
      ).resolves.toBeTruthy();
      const res = await xmlsecVerify(dir, xml, keys.current.pem);
      expect(res.status, `seed ${seed}: ${res.stderr}`).toBe(0);
    }
  });
});
