import type { KeyObject } from 'node:crypto';
import { SignedXml } from 'xml-crypto';

export const ALGORITHMS = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const;

const RESPONSE = "/*[local-name()='Response' and namespace-uri()='urn:oasis:names:tc:SAML:2.0:protocol']";
const ASSERTION = `${RESPONSE}/*[local-name()='Assertion' and namespace-uri()='urn:oasis:names:tc:SAML:2.0:assertion']`;
const issuerOf = (path: string) => `${path}/*[local-name()='Issuer']`;

export interface SignerKeys {
  /** Parsed once at start; never a PEM string here. */
  readonly privateKey: KeyObject;
  readonly certPem: string;
}

export interface ResponseSigner {
  /** Signs the Assertion (and the Response when configured) of an unsigned samlp:Response. */
  sign(unsignedResponse: string): string;
}

function signOnce(xml: string, keys: SignerKeys, target: string): string {
  const sig = new SignedXml({
    privateKey: keys.privateKey,
    publicCert: keys.certPem,
    signatureAlgorithm: ALGORITHMS.rsaSha256,
    canonicalizationAlgorithm: ALGORITHMS.excC14n,
  });
  sig.addReference({
    xpath: target,
    transforms: [ALGORITHMS.enveloped, ALGORITHMS.excC14n],
    digestAlgorithm: ALGORITHMS.sha256,
  });
  // Saml schema order: the Signature sits right after Issuer. xml-crypto's default
  // (last child of the root) is rejected by node-saml and by strict SPs.
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: issuerOf(target), action: 'after' } });
  return sig.getSignedXml();
}

/** The one place responses are signed; a later fast path replaces only this. */
export function createSigner(keys: SignerKeys, opts: { signResponse: boolean }): ResponseSigner {
  return {
    sign(unsigned) {
      const signedAssertion = signOnce(unsigned, keys, ASSERTION);
      return opts.signResponse ? signOnce(signedAssertion, keys, RESPONSE) : signedAssertion;
    },
  };
}
