import { describe, expect, it } from 'vitest';
import { inspectAssertion, inspectResponse, reasonFor } from '../../src/identity/saml-upstream-checks.js';

// The checks of an upstream SAML response that node-saml leaves to us, one rule at a time.
// test/identity/saml-upstream.test.ts drives the same checks end to end with a real IdP.

const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ACS = 'https://sso.example.test/saml/upstream/acs';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

const response = (inner: string, attrs = '') =>
  `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="_r" Version="2.0"${attrs}>${inner}</samlp:Response>`;
const assertionXml = (inner: string, id = '_a') =>
  `<saml:Assertion xmlns:saml="${SAML}"${id ? ` ID="${id}"` : ''} Version="2.0">${inner}</saml:Assertion>`;
const confirmation = (data: string, method = BEARER) =>
  `<saml:Subject><saml:NameID>u</saml:NameID><saml:SubjectConfirmation Method="${method}">${data}</saml:SubjectConfirmation></saml:Subject>`;
const data = (attrs: string) => `<saml:SubjectConfirmationData ${attrs}/>`;

describe('inspectResponse', () => {
  it('reads InResponseTo, Destination and the Response’s own Issuer (trimmed), undefined when absent', () => {
    const xml = response(
      `<saml:Issuer> https://idp.example.test </saml:Issuer><samlp:Status/>${assertionXml('<saml:Issuer>https://other.example.test</saml:Issuer>')}`,
      ` InResponseTo="_req" Destination="${ACS}"`,
    );
    expect(inspectResponse(xml)).toEqual({ ok: { inResponseTo: '_req', destination: ACS, responseIssuer: 'https://idp.example.test' } });
    // The Assertion's Issuer is not the Response's.
    expect(inspectResponse(response(assertionXml('<saml:Issuer>https://idp.example.test</saml:Issuer>')))).toEqual({
      ok: { inResponseTo: undefined, destination: undefined, responseIssuer: undefined },
    });
  });

  it.each<[string, string, string, number]>([
    ['not XML', '<samlp:Response', 'malformed-response', 400],
    ['empty', '', 'malformed-response', 400],
    ['a DOCTYPE', `<!DOCTYPE r [<!ENTITY x "y">]>${response('')}`, 'doctype', 400],
    ['another root element', `<samlp:AuthnRequest xmlns:samlp="${SAMLP}" ID="_x"/>`, 'not-a-response', 400],
    ['a Response in another namespace', '<Response xmlns="urn:example" ID="_x"/>', 'not-a-response', 400],
    ['a comment anywhere', response(assertionXml('<saml:Issuer>admin<!---->.evil</saml:Issuer>')), 'xml-comment', 403],
    ['an EncryptedAssertion', response(`<saml:EncryptedAssertion><x/></saml:EncryptedAssertion>`), 'encrypted-assertion-unsupported', 400],
    ['two Assertions', response(assertionXml('', '_a1') + assertionXml('', '_a2')), 'assertion-wrapping', 403],
    [
      'an Assertion that is not a direct child',
      response(`<samlp:Extensions>${assertionXml('')}</samlp:Extensions>`),
      'assertion-wrapping',
      403,
    ],
  ])('refuses %s', (_label, xml, reason, status) => {
    expect(inspectResponse(xml)).toEqual({ refused: reason, status });
  });

  it('accepts a Response without an Assertion (node-saml then says what is missing)', () => {
    expect('ok' in inspectResponse(response('<samlp:Status/>'))).toBe(true);
  });
});

describe('inspectAssertion', () => {
  const NOA = 'NotOnOrAfter="2026-11-28T10:05:00Z"';

  it('accepts a bearer confirmation for our ACS and reports the earliest NotOnOrAfter', () => {
    const xml = assertionXml(
      confirmation(data(`Recipient="${ACS}" InResponseTo="_req" NotOnOrAfter="2026-11-28T10:05:00Z"`)) +
        '<saml:Conditions NotOnOrAfter="2026-11-28T10:04:00Z"/>',
    );
    expect(inspectAssertion(xml, ACS, '_req')).toEqual({ ok: { id: '_a', expiresAt: Date.parse('2026-11-28T10:04:00Z') } });
    const later = assertionXml(
      confirmation(data(`Recipient="${ACS}" NotOnOrAfter="2026-11-28T10:03:00Z"`)) +
        '<saml:Conditions NotOnOrAfter="2026-11-28T10:04:00Z"/>',
    );
    expect(inspectAssertion(later, ACS, '_req')).toEqual({ ok: { id: '_a', expiresAt: Date.parse('2026-11-28T10:03:00Z') } });
  });

  it('has no expiry without times, and ignores an unparseable one', () => {
    expect(inspectAssertion(assertionXml(confirmation(data(`Recipient="${ACS}"`))), ACS, undefined)).toEqual({
      ok: { id: '_a', expiresAt: undefined },
    });
    const xml = assertionXml(confirmation(data(`Recipient="${ACS}" NotOnOrAfter="soon"`)) + `<saml:Conditions ${NOA}/>`);
    expect(inspectAssertion(xml, ACS, undefined)).toEqual({ ok: { id: '_a', expiresAt: Date.parse('2026-11-28T10:05:00Z') } });
  });

  it('takes the confirmation meant for us among several, and only its time', () => {
    const xml = assertionXml(
      confirmation(data(`Recipient="https://other.example.test/acs" NotOnOrAfter="2026-11-28T10:00:00Z"`)) +
        confirmation(data(`Recipient="${ACS}" InResponseTo="_req" ${NOA}`)),
    );
    expect(inspectAssertion(xml, ACS, '_req')).toEqual({ ok: { id: '_a', expiresAt: Date.parse('2026-11-28T10:05:00Z') } });
  });

  it.each<[string, string, string | undefined, string, number]>([
    ['not XML', '<saml:Assertion', undefined, 'malformed-assertion', 400],
    ['not an Assertion', `<saml:Subject xmlns:saml="${SAML}"/>`, undefined, 'malformed-assertion', 400],
    ['an Assertion in another namespace', '<Assertion xmlns="urn:example" ID="_a"/>', undefined, 'malformed-assertion', 400],
    ['an Assertion without an ID', assertionXml(confirmation(data(`Recipient="${ACS}"`)), ''), undefined, 'malformed-assertion', 400],
    ['no SubjectConfirmation', assertionXml(''), undefined, 'no-bearer-confirmation', 403],
    [
      'only a holder-of-key confirmation',
      assertionXml(confirmation(data(`Recipient="${ACS}"`), 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key')),
      undefined,
      'no-bearer-confirmation',
      403,
    ],
    [
      'another Recipient',
      assertionXml(confirmation(data('Recipient="https://other.example.test/acs"'))),
      undefined,
      'wrong-recipient',
      403,
    ],
    ['no Recipient', assertionXml(confirmation(data(NOA))), undefined, 'wrong-recipient', 403],
    [
      'an answer to another request',
      assertionXml(confirmation(data(`Recipient="${ACS}" InResponseTo="_other"`))),
      '_req',
      'request-mismatch',
      403,
    ],
    [
      'an answer when we asked nothing',
      assertionXml(confirmation(data(`Recipient="${ACS}" InResponseTo="_other"`))),
      undefined,
      'request-mismatch',
      403,
    ],
  ])('refuses %s', (_label, xml, inResponseTo, reason, status) => {
    expect(inspectAssertion(xml, ACS, inResponseTo)).toEqual({ refused: reason, status });
  });
});

describe('reasonFor', () => {
  const named = (name: string, message: string) => Object.assign(new Error(message), { name });
  it.each<[string, unknown, string, number]>([
    ['an IdP status', named('SamlStatusError', 'whatever'), 'idp-refused', 403],
    ['an IdP status in the message', new Error('Invalid status code: the provider returned Responder'), 'idp-refused', 403],
    ['no InResponseTo', new Error('InResponseTo is missing from response'), 'unsolicited-response', 403],
    ['an unknown InResponseTo', new Error('InResponseTo is not valid'), 'unknown-request', 403],
    ['the audience', new Error('SAML assertion audience mismatch'), 'wrong-audience', 403],
    ['expiry', new Error('SAML assertion expired: clocks skewed too much'), 'expired', 403],
    ['not yet valid', new Error('SAML assertion not yet valid'), 'not-yet-valid', 403],
    ['subject confirmation', new Error('No valid subject confirmation found among those available in the SAML assertion'), 'expired', 403],
    ['a signature', new Error('Invalid signature'), 'bad-signature', 403],
    ['an unsigned document', new Error('Invalid document signature: not signed'), 'bad-signature', 403],
    ['several assertions', new Error('Invalid signature: multiple assertions'), 'bad-signature', 403],
    ['no assertion to read', new Error('Cannot obtain assertion'), 'bad-signature', 403],
    ['no assertion', new Error('Missing SAML assertion'), 'no-assertion', 400],
    ['anything else', new Error('Unexpected token'), 'invalid-response', 400],
    ['a thrown string', 'InResponseTo is missing', 'unsolicited-response', 403],
    ['undefined', undefined, 'invalid-response', 400],
  ])('sorts %s', (_label, err, reason, status) => {
    expect(reasonFor(err)).toEqual({ reason, status });
  });
});
