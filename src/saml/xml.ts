// Escaping for XML we write by hand. The replacements are exactly those of Canonical
// XML (C14N 1.0 §2.3), so text we emit is already in canonical form: the signer can
// then rely on what it built instead of re-parsing it.

// Characters XML 1.0 cannot carry at all (C0 controls except TAB/LF/CR, lone surrogates,
// U+FFFE/U+FFFF) cannot be escaped, so they are replaced. So are NEL (U+0085) and LINE
// SEPARATOR (U+2028): XML 1.0 parsers keep them, xmldom (node-saml, xml-crypto) turns them
// into LF by XML 1.1's rule, so a signature over them verifies in one and fails in the other.
const NOT_XML_CHAR =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u0085\u2028\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' };
const ATTR_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};

export function xmlSafe(value: string): string {
  return value.replace(NOT_XML_CHAR, '\uFFFD');
}

export function escapeText(value: string): string {
  return xmlSafe(value).replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c] ?? c);
}

export function escapeAttr(value: string): string {
  return xmlSafe(value).replace(/[&<"\t\n\r]/g, (c) => ATTR_ESCAPES[c] ?? c);
}

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

export const NAMEID_FORMATS = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  emailAddress: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
} as const;

export const BINDING_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
export const BINDING_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
