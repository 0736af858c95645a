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
    expect(() => buildResponse({ ...base, roles: [] })).toThrow(new RangeError('an assertion needs at least one role'));
  });

  it('is exactly this document, already in exclusive canonical form', () => {
    const roleA = 'acs:ram::1234567890123456:role/a,acs:ram::1234567890123456:saml-provider/p';
    const roleB = 'acs:ram::1234567890123456:role/b,acs:ram::1234567890123456:saml-provider/p';
    const attr = (name: string, values: string[]) =>
      `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">${values
        .map((v) => `<saml:AttributeValue>${v}</saml:AttributeValue>`)
        .join('')}</saml:Attribute>`;
    expect(buildResponse({ ...base, sessionDuration: 3600 })).toBe(
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Destination="${SITE_SPECS.intl.acs}" ID="_r1" IssueInstant="2026-11-28T10:00:00Z" Version="2.0">` +
        `<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://sso.example.test/saml/metadata</saml:Issuer>` +
        `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"></samlp:StatusCode></samlp:Status>` +
        `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" IssueInstant="2026-11-28T10:00:00Z" Version="2.0">` +
        `<saml:Issuer>https://sso.example.test/saml/metadata</saml:Issuer>` +
        `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.com</saml:NameID>` +
        `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
        `<saml:SubjectConfirmationData NotOnOrAfter="2026-11-28T10:05:00Z" Recipient="${SITE_SPECS.intl.acs}"></saml:SubjectConfirmationData>` +
        `</saml:SubjectConfirmation></saml:Subject>` +
        `<saml:Conditions NotBefore="2026-11-28T09:59:00Z" NotOnOrAfter="2026-11-28T10:05:00Z">` +
        `<saml:AudienceRestriction><saml:Audience>${SITE_SPECS.intl.audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
        `<saml:AuthnStatement AuthnInstant="2026-11-28T09:00:00Z" SessionIndex="_s1" SessionNotOnOrAfter="2026-11-28T11:00:00Z">` +
        `<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>` +
        `</saml:AuthnStatement>` +
        `<saml:AttributeStatement>${attr(ATTR_ROLE, [roleA, roleB])}${attr(ATTR_ROLE_SESSION_NAME, ['alice'])}${attr(ATTR_SESSION_DURATION, ['3600'])}</saml:AttributeStatement>` +
        `</saml:Assertion></samlp:Response>`,
    );
    // Without a SessionDuration the statement ends after RoleSessionName, with nothing in between.
    expect(buildResponse(base)).toContain(`${attr(ATTR_ROLE_SESSION_NAME, ['alice'])}</saml:AttributeStatement>`);
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
