import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import type { SamlIdentityConfig } from '../config/identity-saml-schema.js';

export class SamlSourceError extends Error {
  override readonly name = 'SamlSourceError';
}

const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

export interface PinnedCert {
  readonly pem: string;
  readonly notAfter: Date;
  readonly subject: string;
}

/** What we trust about the IdP, fixed at startup from config: never from a response. */
export interface IdpTrust {
  readonly certs: readonly PinnedCert[];
  readonly entryPoint: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function toPinned(pem: string, where: string): PinnedCert {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new SamlSourceError(`identity.saml: ${where} holds something that is not an X.509 certificate`);
  }
  return { pem: cert.toString(), notAfter: new Date(cert.validTo), subject: cert.subject.replace(/\n/g, ', ') };
}

function pemCerts(text: string, where: string): PinnedCert[] {
  if (/PRIVATE KEY-----/.test(text)) throw new SamlSourceError(`identity.saml: ${where} contains a private key; give only the IdP's certificate`);
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new SamlSourceError(`identity.saml: ${where} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return blocks.map((b) => toPinned(b, where));
}

function base64ToPem(b64: string): string {
  const body = b64.replace(/\s+/g, '');
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
}

/** Signing certificates and the Redirect SSO URL of `entityId` in an IdP metadata document. */
export function parseIdpMetadata(xml: string, entityId: string, where = 'idpMetadataFile'): { certs: PinnedCert[]; ssoRedirect?: string } {
  const errors: string[] = [];
  const doc = new DOMParser({
    errorHandler: { warning: () => {}, error: (m: string) => errors.push(m), fatalError: (m: string) => errors.push(m) },
  }).parseFromString(xml, 'text/xml');
  if (errors.length > 0 || !doc.documentElement) throw new SamlSourceError(`identity.saml: ${where} is not well-formed XML`);
  const entities = Array.from(doc.getElementsByTagNameNS(MD_NS, 'EntityDescriptor'));
  const entity = entities.find((e) => e.getAttribute('entityID') === entityId);
  if (!entity) {
    const found = entities.map((e) => e.getAttribute('entityID')).join(', ') || 'none';
    throw new SamlSourceError(`identity.saml: ${where} has no EntityDescriptor for idpIssuer "${entityId}" (found: ${found})`);
  }
  const idp = Array.from(entity.getElementsByTagNameNS(MD_NS, 'IDPSSODescriptor'))[0];
  if (!idp) throw new SamlSourceError(`identity.saml: ${where}: "${entityId}" has no IDPSSODescriptor`);
  const certs: PinnedCert[] = [];
  for (const kd of Array.from(idp.getElementsByTagNameNS(MD_NS, 'KeyDescriptor'))) {
    const use = kd.getAttribute('use');
    // No `use` means the key serves both purposes (SAML metadata §2.4.1.1).
    if (use && use !== 'signing') continue;
    for (const c of Array.from(kd.getElementsByTagNameNS(DS_NS, 'X509Certificate'))) {
      certs.push(toPinned(base64ToPem(c.textContent ?? ''), where));
    }
  }
  if (certs.length === 0) throw new SamlSourceError(`identity.saml: ${where}: "${entityId}" lists no signing certificate`);
  const sso = Array.from(idp.getElementsByTagNameNS(MD_NS, 'SingleSignOnService')).find((s) => s.getAttribute('Binding') === REDIRECT_BINDING);
  const location = sso?.getAttribute('Location') ?? undefined;
  return location ? { certs, ssoRedirect: location } : { certs };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function checkEntryPoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SamlSourceError('identity.saml.entryPoint: must be an absolute URL');
  }
  // Users type their password there: plain http only for an IdP on this machine (tests).
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return url.toString();
  throw new SamlSourceError('identity.saml.entryPoint: must be https (http only for 127.0.0.1 or localhost)');
}

/** Reads the pinned certificate(s) and the SSO URL from exactly one configured place. */
export async function loadIdpTrust(cfg: SamlIdentityConfig): Promise<IdpTrust> {
  const given = [cfg.idpCertPem, cfg.idpCertFile, cfg.idpMetadataFile].filter((v) => v !== undefined);
  if (given.length !== 1) {
    throw new SamlSourceError('identity.saml: set exactly one of idpCertPem, idpCertFile or idpMetadataFile (the IdP signing certificate is pinned, never taken from a response)');
  }
  const read = async (file: string, key: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new SamlSourceError(`identity.saml.${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  let certs: PinnedCert[];
  let entryPoint = cfg.entryPoint;
  if (cfg.idpCertPem !== undefined) certs = pemCerts(cfg.idpCertPem, 'idpCertPem');
  else if (cfg.idpCertFile !== undefined) certs = pemCerts(await read(cfg.idpCertFile, 'idpCertFile'), `idpCertFile ${cfg.idpCertFile}`);
  else {
    const file = cfg.idpMetadataFile as string;
    const md = parseIdpMetadata(await read(file, 'idpMetadataFile'), cfg.idpIssuer, `idpMetadataFile ${file}`);
    certs = md.certs;
    entryPoint ??= md.ssoRedirect;
  }
  if (!entryPoint) throw new SamlSourceError('identity.saml.entryPoint: required (the IdP metadata has no HTTP-Redirect SingleSignOnService)');
  return { certs, entryPoint: checkEntryPoint(entryPoint) };
}
