import { describe, expect, it } from 'vitest';
import { buildMetadata, gatewayMetadata, publicUrl } from '../../src/saml/metadata.js';
import { parseXml, elements } from '../helpers/saml-sp.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';

describe('IdP metadata', () => {
  it('has the entityID, an IDPSSODescriptor, signing keys and the SSO endpoint', () => {
    const xml = gatewayMetadata(
      {
        server: { baseUrl: 'https://sso.example.com/' },
        idp: { entityId: 'https://sso.example.com/saml/metadata', nameId: { format: 'persistent' } },
      },
      { current: { base64: 'QUJD' }, next: { base64: 'REVG' } },
    );
    const doc = parseXml(xml);
    expect(doc.documentElement.getAttribute('entityID')).toBe('https://sso.example.com/saml/metadata');
    const idp = elements(doc, MD, 'IDPSSODescriptor');
    expect(idp).toHaveLength(1);
    expect(idp[0]?.getAttribute('protocolSupportEnumeration')).toBe('urn:oasis:names:tc:SAML:2.0:protocol');
    const keys = elements(doc, MD, 'KeyDescriptor');
    expect(keys.map((k) => k.getAttribute('use'))).toEqual(['signing', 'signing']);
    expect(elements(doc, DS, 'X509Certificate').map((c) => c.textContent)).toEqual(['QUJD', 'REVG']);
    expect(elements(doc, MD, 'SingleSignOnService').map((s) => s.getAttribute('Location'))).toEqual([
      'https://sso.example.com/sso/pai',
      'https://sso.example.com/sso/pai',
    ]);
  });

  it('is exactly this document (no ID, no validUntil), so register can compare it byte for byte with what RAM holds', () => {
    const xml = buildMetadata({
      entityId: 'https://sso.example.com/saml/metadata?a=1&b="2"',
      ssoUrl: 'https://sso.example.com/sso/pai',
      certificates: ['QUJD', 'REVG'],
      nameIdFormat: 'emailAddress',
    });
    expect(xml).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://sso.example.com/saml/metadata?a=1&amp;b=&quot;2&quot;">',
        '  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">',
        ...['QUJD', 'REVG'].flatMap((c) => [
          '    <md:KeyDescriptor use="signing">',
          '      <ds:KeyInfo>',
          '        <ds:X509Data>',
          `          <ds:X509Certificate>${c}</ds:X509Certificate>`,
          '        </ds:X509Data>',
          '      </ds:KeyInfo>',
          '    </md:KeyDescriptor>',
        ]),
        '    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>',
        '    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sso.example.com/sso/pai"/>',
        '    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sso.example.com/sso/pai"/>',
        '  </md:IDPSSODescriptor>',
        '</md:EntityDescriptor>',
        '',
      ].join('\n'),
    );
  });

  it('carries one or two certificates, as RAM allows', () => {
    const input = { entityId: 'e', ssoUrl: 'https://x/sso/pai', nameIdFormat: 'persistent' as const };
    expect(() => buildMetadata({ ...input, certificates: [] })).toThrow(
      new RangeError('IdP metadata carries one or two signing certificates'),
    );
    expect(() => buildMetadata({ ...input, certificates: ['a', 'b', 'c'] })).toThrow(RangeError);
    expect(parseXml(buildMetadata({ ...input, certificates: ['a'] })).getElementsByTagNameNS(DS, 'X509Certificate')).toHaveLength(1);
    expect(parseXml(buildMetadata({ ...input, certificates: ['a', 'b'] })).getElementsByTagNameNS(DS, 'X509Certificate')).toHaveLength(2);
  });

  it('joins routes onto a base URL with or without a path prefix', () => {
    expect(publicUrl('https://h/', '/sso/pai')).toBe('https://h/sso/pai');
    expect(publicUrl('https://h/idp', '/sso/pai')).toBe('https://h/idp/sso/pai');
    expect(publicUrl('https://h/idp//', '/sso/pai')).toBe('https://h/idp/sso/pai');
  });
});
