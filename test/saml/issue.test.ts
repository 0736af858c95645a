import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siteFacts } from '../../src/alibaba.js';
import { loadOrCreateKeys, type KeyMaterial } from '../../src/keys/store.js';
import { createIssuer, type IssueRequest, type IssuedRole } from '../../src/saml/issue.js';
import { createSigner } from '../../src/saml/sign.js';
import { alibabaSp, responseFacts } from '../helpers/saml-sp.js';
import { ATTR_ROLE, ATTR_SESSION_DURATION, INTL, SESSION_DURATION, rolePair } from '../spec/alibaba-facts.js';

// The issuing core with a real signer: inputs from src (the site's facts), expectations
// from Alibaba's documentation (test/spec/alibaba-facts.ts).

const ACCOUNT = '1234567890123456';
const ENTITY = 'https://sso.example.test/saml/metadata';
const NOW = new Date('2026-11-28T10:00:00.000Z');

let dir: string;
let keys: KeyMaterial;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pai-sso-issue-'));
  keys = await loadOrCreateKeys({ dir, commonName: 'idp.test', certValidityDays: 10 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const role = (name: string, sessionDuration?: number): IssuedRole => ({
  roleArn: `acs:ram::${ACCOUNT}:role/${name}`,
  providerArn: `acs:ram::${ACCOUNT}:saml-provider/corp-idp`,
  sessionDuration,
});

function issue(roles: readonly IssuedRole[], now = NOW) {
  const issuer = createIssuer(
    { entityId: ENTITY, assertionLifetimeSeconds: 300, clockSkewSeconds: 60 },
    siteFacts('intl'),
    createSigner({ privateKey: keys.privateKey, certPem: keys.current.pem }, { signResponse: false }),
  );
  const req: IssueRequest = {
    nameId: { format: 'persistent', value: 'u-1' },
    roleSessionName: 'alice',
    roles,
    authnInstant: new Date(now.getTime() - 5000),
    sessionIndex: '_s1',
    now,
  };
  const issued = issuer(req);
  return { issued, f: responseFacts(Buffer.from(issued.samlResponse, 'base64').toString('utf8')) };
}

describe('createIssuer', () => {
  it('addresses the site from the documentation and bounds the assertion in time', () => {
    const { issued, f } = issue([role('dev', 7200)]);
    expect(f.destination).toBe(INTL.acs);
    expect(f.confirmationData.map((d) => d.getAttribute('Recipient'))).toEqual([INTL.acs]);
    expect(f.audiences).toEqual([INTL.audience]);
    expect(f.responseIssuer).toBe(ENTITY);
    expect(f.confirmationData[0]?.getAttribute('NotOnOrAfter')).toBe('2026-11-28T10:05:00Z');
    expect(f.conditions?.getAttribute('NotBefore')).toBe('2026-11-28T09:59:00Z');
    expect(f.conditions?.getAttribute('NotOnOrAfter')).toBe('2026-11-28T10:05:00Z');
    expect(f.authn?.getAttribute('AuthnInstant')).toBe('2026-11-28T09:59:55Z');
    expect(f.authn?.getAttribute('SessionIndex')).toBe('_s1');
    expect(f.attr(ATTR_ROLE)).toEqual([[rolePair(ACCOUNT, 'dev', 'corp-idp')]]);
    expect(issued.assertionId).toBe(f.assertionId);
    expect(issued.responseId).toBe(f.doc.documentElement.getAttribute('ID'));
    expect(issued.assertionId).toMatch(/^_[0-9a-f]{40}$/);
    expect(issued.responseId).toMatch(/^_[0-9a-f]{40}$/);
    expect(issued.responseId).not.toBe(issued.assertionId);
    expect(issued.roleSessionName).toBe('alice');
  });

  it.each<[string, IssuedRole[], string | undefined, string]>([
    ['one role: its own', [role('a', 7200)], '7200', '2026-11-28T12:00:00Z'],
    [
      'several roles: the smallest, which every role accepts',
      [role('a', 7200), role('b', 3600), role('c')],
      '3600',
      '2026-11-28T11:00:00Z',
    ],
    ['none configured: no attribute, the console default caps the session', [role('a'), role('b')], undefined, '2026-11-28T11:00:00Z'],
  ])('SessionDuration and SessionNotOnOrAfter with %s', (_label, roles, duration, notOnOrAfter) => {
    const { f } = issue(roles);
    expect(f.attr(ATTR_SESSION_DURATION)).toEqual(duration === undefined ? [] : [[duration]]);
    expect(f.authn?.getAttribute('SessionNotOnOrAfter')).toBe(notOnOrAfter);
    expect(Date.parse(notOnOrAfter) - NOW.getTime()).toBe(
      (duration ? Number(duration) : SESSION_DURATION.roleMaxSessionDuration.default) * 1000,
    );
  });

  it('signs an assertion that Alibaba-configured node-saml accepts, with fresh IDs each time', async () => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const a = issue([role('dev', 3600)], now);
    const b = issue([role('dev', 3600)], now);
    const { profile } = await alibabaSp('intl', keys.current.pem).validatePostResponseAsync({ SAMLResponse: a.issued.samlResponse });
    expect(profile?.[ATTR_ROLE]).toBe(rolePair(ACCOUNT, 'dev', 'corp-idp'));
    expect(new Set([a.issued.assertionId, a.issued.responseId, b.issued.assertionId, b.issued.responseId]).size).toBe(4);
  });
});
