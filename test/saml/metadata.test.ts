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

  it('is deterministic, so register can compare it with what RAM holds', () => {
    const input = { entityId: 'e', ssoUrl: 'https://x/sso/pai', certificates: ['QUJD'], nameIdFormat: 'persistent' as const };
    expect(buildMetadata(input)).toBe(buildMetadata(input));
  });

  it('carries one or two certificates, as RAM allows', () => {
    const input = { entityId: 'e', ssoUrl: 'https://x/sso/pai', nameIdFormat: 'persistent' as const };
    expect(() => buildMetadata({ ...input, certificates: [] })).toThrow(RangeError);
    expect(() => buildMetadata({ ...input, certificates: ['a', 'b', 'c'] })).toThrow(RangeError);
  });

  it('joins routes onto a base URL with or without a path prefix', () => {
    expect(publicUrl('https://h/', '/sso/pai')).toBe('https://h/sso/pai');
    expect(publicUrl('https://h/idp', '/sso/pai')).toBe('https://h/idp/sso/pai');
  });
});
