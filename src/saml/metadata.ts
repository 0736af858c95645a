import { BINDING_POST, BINDING_REDIRECT, NAMEID_FORMATS, NS, escapeAttr, escapeText } from './xml.js';
import type { NameIdFormat } from '../config/schema.js';

export interface MetadataInput {
  readonly entityId: string;
  readonly ssoUrl: string;
  /** Base64 DER of each signing certificate, current first. RAM accepts at most two. */
  readonly certificates: readonly string[];
  readonly nameIdFormat: NameIdFormat;
}

/**
 * IdP metadata as RAM stores it. Deterministic (no validUntil, no ID) so that the
 * document `register` uploads is byte-for-byte what /saml/metadata serves.
 */
export function buildMetadata(input: MetadataInput): string {
  if (input.certificates.length === 0 || input.certificates.length > 2) {
    throw new RangeError('IdP metadata carries one or two signing certificates');
  }
  const keys = input.certificates
    .map(
      (c) =>
        `    <md:KeyDescriptor use="signing">\n      <ds:KeyInfo>\n        <ds:X509Data>\n          <ds:X509Certificate>${escapeText(c)}</ds:X509Certificate>\n        </ds:X509Data>\n      </ds:KeyInfo>\n    </md:KeyDescriptor>\n`,
    )
    .join('');
  const sso = escapeAttr(input.ssoUrl);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<md:EntityDescriptor xmlns:md="${NS.metadata}" xmlns:ds="${NS.dsig}" entityID="${escapeAttr(input.entityId)}">\n` +
    `  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${NS.protocol}">\n` +
    keys +
    `    <md:NameIDFormat>${NAMEID_FORMATS[input.nameIdFormat]}</md:NameIDFormat>\n` +
    `    <md:SingleSignOnService Binding="${BINDING_REDIRECT}" Location="${sso}"/>\n` +
    `    <md:SingleSignOnService Binding="${BINDING_POST}" Location="${sso}"/>\n` +
    `  </md:IDPSSODescriptor>\n` +
    `</md:EntityDescriptor>\n`
  );
}

export interface PublishedCerts {
  readonly current: { readonly base64: string };
  readonly next?: { readonly base64: string } | undefined;
}

/** Joins a route onto the public base URL, keeping any path prefix it has. */
export function publicUrl(baseUrl: string, route: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${route}`;
}

/** The gateway's own metadata: what /saml/metadata serves and `register` uploads. */
export function gatewayMetadata(
  config: { server: { baseUrl: string }; idp: { entityId: string; nameId: { format: NameIdFormat } } },
  keys: PublishedCerts,
): string {
  return buildMetadata({
    entityId: config.idp.entityId,
    ssoUrl: publicUrl(config.server.baseUrl, '/sso/pai'),
    certificates: keys.next ? [keys.current.base64, keys.next.base64] : [keys.current.base64],
    nameIdFormat: config.idp.nameId.format,
  });
}
