import { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { ApiError, lengthCheck, requiredName, unknownAction } from './errors.js';
import { now, type AccountState, type Provider } from './state.js';

// IMS 2019-08-15: SAML providers (Get/Create/UpdateSAMLProvider) and their metadata.

const SAML_PROVIDER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const MAX_METADATA_CERTS = 2;

function checkMetadata(b64: string): void {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || Buffer.from(b64, 'base64').toString('base64') !== b64) {
    throw new ApiError(400, 'InvalidParameter.EncodedSAMLMetadataDocument.Base64', 'EncodedSAMLMetadataDocument is not valid base64.');
  }
  const xml = Buffer.from(b64, 'base64').toString('utf8');
  const invalid = (why: string) =>
    new ApiError(400, 'InvalidParameter.EncodedSAMLMetadataDocument.Invalid', `The SAML metadata is invalid: ${why}.`);
  let errors = 0;
  const doc = new DOMParser({ errorHandler: { error: () => errors++, fatalError: () => errors++, warning: () => {} } }).parseFromString(
    xml,
    'text/xml',
  );
  // xmldom: no root for a document without elements, whatever its types say.
  const root = doc.documentElement as Element | null;
  if (errors || !root) throw invalid('not well-formed XML');
  const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
  if (root.namespaceURI !== MD || root.localName !== 'EntityDescriptor') throw invalid('the root must be one md:EntityDescriptor');
  if (!root.getAttribute('entityID')) throw invalid('entityID is missing');
  const idp = root.getElementsByTagNameNS(MD, 'IDPSSODescriptor');
  if (idp.length !== 1) throw invalid('exactly one IDPSSODescriptor is required');
  const certs: string[] = [];
  const kds = root.getElementsByTagNameNS(MD, 'KeyDescriptor');
  for (let i = 0; i < kds.length; i++) {
    const kd = kds.item(i)!;
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    const x = kd.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'X509Certificate');
    for (let j = 0; j < x.length; j++) certs.push(x.item(j)!.textContent.replace(/\s+/g, ''));
  }
  if (certs.length === 0) throw invalid('no signing certificate');
  if (certs.length > MAX_METADATA_CERTS) throw invalid(`at most ${MAX_METADATA_CERTS} signing certificates are allowed`);
  for (const c of certs) {
    try {
      new X509Certificate(Buffer.from(c, 'base64'));
    } catch {
      throw invalid('a signing certificate cannot be parsed');
    }
  }
}

export function ims(action: string, p: Record<string, string>, a: AccountState, uid: string): Record<string, unknown> {
  const view = (x: Provider, withDoc: boolean) => ({
    Arn: `acs:ram::${uid}:saml-provider/${x.name}`,
    SAMLProviderName: x.name,
    Description: x.description,
    AuthnSignAlgo: x.algo,
    CreateDate: x.created,
    UpdateDate: x.updated,
    ...(withDoc ? { EncodedSAMLMetadataDocument: x.doc } : {}),
  });
  const name = requiredName(p, 'SAMLProviderName', 128, SAML_PROVIDER_NAME);
  const existing = a.providers.get(name);
  const algo = p['AuthnSignAlgo'];
  if (algo !== undefined && algo !== 'rsa-sha256' && algo !== 'rsa-sha1')
    throw new ApiError(400, 'InvalidParameter.AuthnSignAlgo', 'AuthnSignAlgo must be rsa-sha256 or rsa-sha1.');
  switch (action) {
    case 'GetSAMLProvider':
      if (!existing) throw new ApiError(404, 'EntityNotExist.SAMLProvider', `The SAML provider ${name} does not exist.`);
      return { SAMLProvider: view(existing, true) };
    case 'CreateSAMLProvider': {
      if (existing) throw new ApiError(409, 'EntityAlreadyExists.SAMLProvider', `The SAML provider ${name} already exists.`);
      const doc = p['EncodedSAMLMetadataDocument'] ?? '';
      if (doc) checkMetadata(doc);
      lengthCheck(p['Description'], 'Description', 0, 256);
      const x: Provider = { name, doc, description: p['Description'] ?? '', algo: algo ?? 'rsa-sha1', created: now(), updated: now() };
      a.providers.set(name, x);
      return { SAMLProvider: view(x, false) };
    }
    case 'UpdateSAMLProvider': {
      if (!existing) throw new ApiError(404, 'EntityNotExist.SAMLProvider', `The SAML provider ${name} does not exist.`);
      const doc = p['NewEncodedSAMLMetadataDocument'];
      if (doc === undefined && p['NewDescription'] === undefined && algo === undefined)
        throw new ApiError(400, 'MissingParameter', 'Nothing to update.');
      if (doc !== undefined) {
        checkMetadata(doc);
        existing.doc = doc;
      }
      if (p['NewDescription'] !== undefined) {
        lengthCheck(p['NewDescription'], 'Description', 0, 256);
        existing.description = p['NewDescription'];
      }
      if (algo !== undefined) existing.algo = algo;
      existing.updated = now();
      return { SAMLProvider: view(existing, false) };
    }
    default:
      throw unknownAction(action);
  }
}
