import { createHash, sign as rsaSign, type KeyObject } from 'node:crypto';
import type { ResponseParts } from './assertion.js';
import { NS } from './xml.js';

export const ALGORITHMS = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const;

export interface SignerKeys {
  /** Parsed once at start; never a PEM string here. */
  readonly privateKey: KeyObject;
  readonly certPem: string;
}

export interface ResponseSigner {
  /** Signs the Assertion (and the Response when configured); returns the whole signed Response. */
  sign(parts: ResponseParts): string;
}

const NCNAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Base64 DER of a PEM certificate, as ds:X509Certificate carries it. */
function certBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/**
 * Enveloped XML-DSig over text that is already canonical (see buildResponseParts).
 *
 * With the enveloped-signature transform the signed element's digest is the digest of
 * its canonical form without the Signature, which is exactly the text we built. The
 * SignedInfo is ours too, so its canonical form is a template. That leaves one SHA-256
 * and one RSA operation per signature: no parse, no XPath, no canonicaliser. The
 * differential test proves the bytes equal xml-crypto's for the same input.
 */
export function createSigner(keys: SignerKeys, opts: { signResponse: boolean }): ResponseSigner {
  const keyInfo = `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBody(keys.certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`;
  const signedInfoBody = (id: string, digest: string) =>
    `<ds:CanonicalizationMethod Algorithm="${ALGORITHMS.excC14n}"></ds:CanonicalizationMethod>` +
    `<ds:SignatureMethod Algorithm="${ALGORITHMS.rsaSha256}"></ds:SignatureMethod>` +
    `<ds:Reference URI="#${id}"><ds:Transforms>` +
    `<ds:Transform Algorithm="${ALGORITHMS.enveloped}"></ds:Transform>` +
    `<ds:Transform Algorithm="${ALGORITHMS.excC14n}"></ds:Transform>` +
    `</ds:Transforms><ds:DigestMethod Algorithm="${ALGORITHMS.sha256}"></ds:DigestMethod>` +
    `<ds:DigestValue>${digest}</ds:DigestValue></ds:Reference>`;

  const signature = (id: string, canonical: string): string => {
    const digest = createHash('sha256').update(canonical, 'utf8').digest('base64');
    const body = signedInfoBody(id, digest);
    // Canonical SignedInfo declares ds itself: the verifier canonicalises it as an apex.
    const value = rsaSign(
      'sha256',
      Buffer.from(`<ds:SignedInfo xmlns:ds="${NS.dsig}">${body}</ds:SignedInfo>`, 'utf8'),
      keys.privateKey,
    ).toString('base64');
    return `<ds:Signature xmlns:ds="${NS.dsig}"><ds:SignedInfo>${body}</ds:SignedInfo><ds:SignatureValue>${value}</ds:SignatureValue>${keyInfo}</ds:Signature>`;
  };

  return {
    sign(p) {
      // IDs go into the Reference URI unescaped: only NCNames that need no escaping.
      if (!NCNAME.test(p.assertionId) || !NCNAME.test(p.responseId)) throw new RangeError('IDs must be plain NCNames');
      const assertion = p.assertionHead + signature(p.assertionId, p.assertionHead + p.assertionTail) + p.assertionTail;
      if (!opts.signResponse) return p.responseHead + assertion + p.responseTail;
      const responseSig = signature(p.responseId, p.responseHead + assertion + p.responseTail);
      return (
        p.responseHead.slice(0, p.responseIssuerEnd) + responseSig + p.responseHead.slice(p.responseIssuerEnd) + assertion + p.responseTail
      );
    },
  };
}
