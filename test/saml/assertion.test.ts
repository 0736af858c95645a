import { describe, expect, it } from 'vitest';
import { buildResponse, samlTime, type AssertionInput } from '../../src/saml/assertion.js';
import { escapeAttr, escapeText } from '../../src/saml/xml.js';
import { ATTR_ROLE, ATTR_ROLE_SESSION_NAME, ATTR_SESSION_DURATION, SITE_SPECS } from '../spec/alibaba-facts.js';
import { responseFacts } from '../helpers/saml-sp.js';

const NOW = new Date('2026-11-28T10:00:00.123Z');
const base: AssertionInput = {
  issuer: 'https://sso.example.test/saml/metadata',
  acs: SITE_SPECS.intl.acs,
  audience: SITE_SPECS.intl.audience,
  now: NOW,
  responseId: '_r1',
  assertionId: '_a1',
  sessionIndex: '_s1',
  lifetimeSeconds: 300,
  skewSeconds: 60,
  nameId: { format: 'emailAddress', value: 'alice@example.com' },
  authnInstant: new Date('2026-11-28T09:00:00Z'),
  sessionNotOnOrAfter: new Date('2026-11-28T11:00:00Z'),
  roles: [
    { roleArn: 'acs:ram::1234567890123456:role/a', providerArn: 'acs:ram::1234567890123456:saml-provider/p' },
    { roleArn: 'acs:ram::1234567890123456:role/b', providerArn: 'acs:ram::1234567890123456:saml-provider/p' },
  ],
  roleSessionName: 'alice',
};

describe('buildResponse', () => {
  it('lays out Response and Assertion as Alibaba documents them, with the site values', () => {
    const f = responseFacts(buildResponse(base));
    expect(f.responseLocalName).toBe('Response');
    expect(f.destination).toBe(SITE_SPECS.intl.acs);
    expect(f.childOrder).toEqual(['Issuer', 'Subject', 'Conditions', 'AuthnStatement', 'AttributeStatement']);
    expect(f.nameIds[0]?.getAttribute('Format')).toBe('urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
    expect(f.confirmationData[0]?.getAttribute('Recipient')).toBe(SITE_SPECS.intl.acs);
    expect(f.confirmationData[0]?.getAttribute('NotOnOrAfter')).toBe('2026-11-28T10:05:00Z');
    expect(f.conditions?.getAttribute('NotBefore')).toBe('2026-11-28T09:59:00Z');
    expect(f.conditions?.getAttribute('NotOnOrAfter')).toBe('2026-11-28T10:05:00Z');
    expect(f.audiences).toEqual(['urn:alibaba:cloudcomputing:international']);
    expect(f.authn?.getAttribute('AuthnInstant')).toBe('2026-11-28T09:00:00Z');
    expect(f.authn?.getAttribute('SessionNotOnOrAfter')).toBe('2026-11-28T11:00:00Z');
    expect(f.attr(ATTR_ROLE)).toEqual([
      [
        'acs:ram::1234567890123456:role/a,acs:ram::1234567890123456:saml-provider/p',
        'acs:ram::1234567890123456:role/b,acs:ram::1234567890123456:saml-provider/p',
      ],
    ]);
    expect(f.attr(ATTR_ROLE_SESSION_NAME)).toEqual([['alice']]);
    expect(f.attr(ATTR_SESSION_DURATION)).toEqual([]);
  });

  it('adds SessionDuration only when configured', () => {
    expect(responseFacts(buildResponse({ ...base, sessionDuration: 900 })).attr(ATTR_SESSION_DURATION)).toEqual([['900']]);
  });

  it('refuses to build an assertion without a role', () => {
    expect(() => buildResponse({ ...base, roles: [] })).toThrow(RangeError);
  });

  it('keeps injected markup as text in every user-controlled position', () => {
    const evil = `</saml:AttributeValue></saml:Attribute><saml:Attribute Name="${ATTR_ROLE}"><saml:AttributeValue>acs:ram::1:role/x,acs:ram::1:saml-provider/y`;
    const xml = buildResponse({ ...base, nameId: { format: 'unspecified', value: evil }, roleSessionName: evil, issuer: `"${evil}` });
    const f = responseFacts(xml);
    expect(f.attr(ATTR_ROLE)).toHaveLength(1);
    expect(f.attr(ATTR_ROLE)[0]).toHaveLength(2);
    expect(f.attr(ATTR_ROLE_SESSION_NAME)).toEqual([[evil]]);
    expect(f.nameIds[0]?.textContent).toBe(evil);
  });

  it('formats SAML times in UTC to the second', () => {
    expect(samlTime(NOW)).toBe('2026-11-28T10:00:00Z');
  });
});

describe('escaping', () => {
  it('matches Canonical XML for text and attributes', () => {
    expect(escapeText('a&b<c>d"e\'f\r\n\t')).toBe('a&amp;b&lt;c&gt;d"e\'f&#xD;\n\t');
    expect(escapeAttr('a&b<c>d"e\'f\r\n\t')).toBe("a&amp;b&lt;c>d&quot;e'f&#xD;&#xA;&#x9;");
  });

  it('replaces NEL and LINE SEPARATOR, which XML 1.0 and 1.1 parsers read differently', () => {
    expect(escapeText('a\u0085b\u2028c\u2029d')).toBe('a\uFFFDb\uFFFDc\u2029d');
  });

  it('replaces characters XML cannot carry, keeps surrogate pairs', () => {
    expect(escapeText('x\u0000y\u001Fz\uFFFE😀\uD800')).toBe('x\uFFFDy\uFFFDz\uFFFD😀\uFFFD');
  });
});
