import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import type { ConfigProblem } from '../config/errors.js';
import type { SamlIdentityConfig } from '../config/identity-saml-schema.js';
import { SamlSourceError } from './errors.js';
import { settle, type Settled } from './settings.js';

export { SamlSourceError };

/** A problem with what the config pins; reported as a config problem on the key that named it. */
const untrusted = (reason: string) => new SamlSourceError('PAI_SSO_SAML_IDP_TRUST', reason);

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
    throw untrusted(`${where} holds something that is not an X.509 certificate`);
  }
  return { pem: cert.toString(), notAfter: new Date(cert.validTo), subject: cert.subject.replace(/\n/g, ', ') };
}

function pemCerts(text: string, where: string): PinnedCert[] {
  if (/PRIVATE KEY-----/.test(text)) throw untrusted(`${where} contains a private key; give only the IdP's certificate`);
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw untrusted(`${where} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
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
  }).parseFromString(xml, 'text/xml') as Document | undefined;
  // xmldom 0.8 types the result as a Document with a root element; an empty source gives no
  // document at all, and one without elements a document with no root.
  const root = doc?.documentElement as Element | null | undefined;
  if (errors.length > 0 || !doc || !root) throw untrusted(`${where} is not well-formed XML`);
  const entities = Array.from(doc.getElementsByTagNameNS(MD_NS, 'EntityDescriptor'));
  const entity = entities.find((e) => e.getAttribute('entityID') === entityId);
  if (!entity) {
    const found = entities.map((e) => e.getAttribute('entityID')).join(', ') || 'none';
    throw untrusted(`${where} has no EntityDescriptor for idpIssuer "${entityId}" (found: ${found})`);
  }
  const idp = Array.from(entity.getElementsByTagNameNS(MD_NS, 'IDPSSODescriptor'))[0];
  if (!idp) throw untrusted(`${where}: "${entityId}" has no IDPSSODescriptor`);
  const certs: PinnedCert[] = [];
  for (const kd of Array.from(idp.getElementsByTagNameNS(MD_NS, 'KeyDescriptor'))) {
    const use = kd.getAttribute('use');
    // No `use` means the key serves both purposes (SAML 2.0 metadata, section 2.4.1.1).
    if (use && use !== 'signing') continue;
    for (const c of Array.from(kd.getElementsByTagNameNS(DS_NS, 'X509Certificate'))) {
      certs.push(toPinned(base64ToPem(c.textContent), where));
    }
  }
  if (certs.length === 0) throw untrusted(`${where}: "${entityId}" lists no signing certificate`);
  const sso = Array.from(idp.getElementsByTagNameNS(MD_NS, 'SingleSignOnService')).find(
    (s) => s.getAttribute('Binding') === REDIRECT_BINDING,
  );
  const location = sso?.getAttribute('Location') ?? undefined;
  return location ? { certs, ssoRedirect: location } : { certs };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why the SSO URL cannot be used, or undefined. */
function entryPointProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  // Users type their password there: plain http only for an IdP on this machine (tests).
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))) return undefined;
  return 'must be https (http only for 127.0.0.1 or localhost)';
}

const P = 'identity.saml';

/**
 * Reads the pinned certificate(s) and the SSO URL from exactly one configured place.
 * Reads files only; the IdP is never asked.
 */
export async function loadIdpTrust(cfg: SamlIdentityConfig): Promise<Settled<IdpTrust>> {
  const problems: ConfigProblem[] = [];
  const given = [cfg.idpCertPem, cfg.idpCertFile, cfg.idpMetadataFile].filter((v) => v !== undefined);
  if (given.length !== 1) {
    problems.push({
      path: P,
      reason:
        'set exactly one of idpCertPem, idpCertFile or idpMetadataFile (the IdP signing certificate is pinned, never taken from a response)',
    });
  }
  // Each step either yields its value or adds a problem under the key that named its input.
  const step = async <T>(key: string, run: () => T | Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof SamlSourceError)) throw err;
      problems.push({ path: `${P}.${key}`, reason: err.message });
      return undefined;
    }
  };
  const read = async (file: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw untrusted(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };

  let certs: PinnedCert[] | undefined;
  let entryPoint = cfg.entryPoint;
  let entryPointFromMetadata = false;
  if (given.length === 1 && cfg.idpCertPem !== undefined) {
    certs = await step('idpCertPem', () => pemCerts(cfg.idpCertPem as string, 'the value'));
  } else if (given.length === 1 && cfg.idpCertFile !== undefined) {
    const file = cfg.idpCertFile;
    certs = await step('idpCertFile', async () => pemCerts(await read(file), file));
  } else if (given.length === 1 && cfg.idpMetadataFile !== undefined) {
    const file = cfg.idpMetadataFile;
    const md = await step('idpMetadataFile', async () => parseIdpMetadata(await read(file), cfg.idpIssuer, file));
    certs = md?.certs;
    if (entryPoint === undefined && md?.ssoRedirect !== undefined) {
      entryPoint = md.ssoRedirect;
      entryPointFromMetadata = true;
    }
  }
  // Without usable metadata there is nothing to say about a missing SSO URL yet.
  const metadataFailed = cfg.idpMetadataFile !== undefined && certs === undefined;
  if (entryPoint === undefined) {
    if (!metadataFailed)
      problems.push({ path: `${P}.entryPoint`, reason: 'required (the IdP metadata has no HTTP-Redirect SingleSignOnService)' });
  } else {
    const why = entryPointProblem(entryPoint);
    if (why) problems.push({ path: `${P}.entryPoint`, reason: entryPointFromMetadata ? `${why} (taken from idpMetadataFile)` : why });
  }
  return settle(problems, () => ({ certs: certs as PinnedCert[], entryPoint: new URL(entryPoint as string).toString() }));
}
