import { DOMParser } from '@xmldom/xmldom';
import type { OidcStepUpConfig, SamlStepUpConfig } from '../config/mfa-schema.js';

// Whether an upstream IdP's answer proves a second factor. Read only from what the IdP
// signed (the ID token; the verified assertion), never from userinfo or the browser.

/** RFC 8176 amr values or an acr the config accepts (a requested acr_value counts: the IdP says it met it). */
export function oidcProvesMfa(cfg: OidcStepUpConfig, idToken: Readonly<Record<string, unknown>>): boolean {
  const amr = Array.isArray(idToken['amr']) ? idToken['amr'].filter((a): a is string => typeof a === 'string') : [];
  const acr = typeof idToken['acr'] === 'string' ? idToken['acr'] : undefined;
  if (amr.some((a) => cfg.acceptAmr.includes(a))) return true;
  return acr !== undefined && (cfg.acrValues.includes(acr) || cfg.acceptAcr.includes(acr));
}

const SAML_ASSERTION = 'urn:oasis:names:tc:SAML:2.0:assertion';

/** The AuthnContextClassRef values of a verified assertion's AuthnStatements. */
export function authnContextClassRefs(assertionXml: string): string[] {
  const doc = new DOMParser().parseFromString(assertionXml, 'text/xml');
  const out: string[] = [];
  for (const statement of Array.from(doc.getElementsByTagNameNS(SAML_ASSERTION, 'AuthnStatement'))) {
    for (const ref of Array.from(statement.getElementsByTagNameNS(SAML_ASSERTION, 'AuthnContextClassRef'))) {
      const value = ref.textContent.trim();
      if (value) out.push(value);
    }
  }
  return out;
}

export function samlProvesMfa(cfg: SamlStepUpConfig, assertionXml: string): boolean {
  return authnContextClassRefs(assertionXml).some((r) => cfg.authnContextClassRefs.includes(r));
}
