import { SAML } from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';
import { SITE_SPECS, type SiteSpec } from '../spec/alibaba-facts.js';
import type { Site } from '../../src/config/schema.js';

/** node-saml configured the way Alibaba's SP is for a site: signed assertion, site audience. */
export function alibabaSp(site: Site, idpCertPem: string, skewMs = 5000): SAML {
  return new SAML({
    idpCert: idpCertPem,
    issuer: SITE_SPECS[site].audience,
    audience: SITE_SPECS[site].audience,
    callbackUrl: SITE_SPECS[site].acs,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: skewMs,
  });
}

/**
 * The whole Content-Security-Policy of the hand-off page: nothing but our nonce'd style and
 * script, and a form that may post only to the site's ACS (and the redirects Alibaba
 * follows it with, under the site's own domain).
 */
export function handoffCsp(nonce: string, site: SiteSpec): string {
  return [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `form-action ${new URL(site.acs).origin} https://*.${site.domain}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function extractForm(html: string): { action: string; samlResponse: string; relayState: string } {
  const action = /<form id="saml" method="post" action="([^"]+)"/.exec(html)?.[1];
  const samlResponse = /name="SAMLResponse" value="([^"]+)"/.exec(html)?.[1];
  const relayState = /name="RelayState" value="([^"]*)"/.exec(html)?.[1];
  if (!action || !samlResponse || relayState === undefined) throw new Error('no SAML hand-off form in page');
  const unescape = (s: string) =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
  return { action: unescape(action), samlResponse, relayState: unescape(relayState) };
}

export function parseXml(xml: string): Document {
  return new DOMParser().parseFromString(xml, 'text/xml');
}

const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SAMLP_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';

export function elements(doc: Document | Element, ns: string, local: string): Element[] {
  return Array.from(doc.getElementsByTagNameNS(ns, local));
}

/** What node-saml leaves unchecked, read straight off the XML. */
export function responseFacts(xml: string) {
  const doc = parseXml(xml);
  const response = doc.documentElement as Element;
  const assertions = elements(doc, SAML_NS, 'Assertion');
  const assertion = assertions[0] as Element;
  const attr = (name: string) =>
    elements(assertion, SAML_NS, 'Attribute')
      .filter((a) => a.getAttribute('Name') === name)
      .map((a) => elements(a, SAML_NS, 'AttributeValue').map((v) => v.textContent));
  return {
    doc,
    responseLocalName: response.localName,
    responseNs: response.namespaceURI,
    destination: response.getAttribute('Destination'),
    responseIssuer: elements(response, SAML_NS, 'Issuer')[0]?.textContent,
    status: elements(doc, SAMLP_NS, 'StatusCode')[0]?.getAttribute('Value'),
    assertionCount: assertions.length,
    assertionId: assertion.getAttribute('ID'),
    childOrder: Array.from(assertion.childNodes)
      .filter((n) => n.nodeType === 1)
      .map((n) => (n as Element).localName),
    nameIds: elements(assertion, SAML_NS, 'NameID'),
    confirmations: elements(assertion, SAML_NS, 'SubjectConfirmation'),
    confirmationData: elements(assertion, SAML_NS, 'SubjectConfirmationData'),
    conditions: elements(assertion, SAML_NS, 'Conditions')[0],
    audiences: elements(assertion, SAML_NS, 'Audience').map((a) => a.textContent),
    authn: elements(assertion, SAML_NS, 'AuthnStatement')[0],
    attr,
  };
}
