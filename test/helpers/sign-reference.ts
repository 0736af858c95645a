import { SignedXml } from 'xml-crypto';
import { ALGORITHMS, type ResponseSigner, type SignerKeys } from '../../src/saml/sign.js';
import { joinUnsigned } from '../../src/saml/assertion.js';

// The straightforward signer: parse, XPath, canonicalise, sign with xml-crypto. Kept as
// the reference the fast signer is proven byte-identical against, and as the benchmark
// baseline (bench/impl/xml-crypto-naive.ts). Not on the request path, so it lives with the
// tests and xml-crypto is a dev dependency.

const RESPONSE = "/*[local-name()='Response' and namespace-uri()='urn:oasis:names:tc:SAML:2.0:protocol']";
const ASSERTION = `${RESPONSE}/*[local-name()='Assertion' and namespace-uri()='urn:oasis:names:tc:SAML:2.0:assertion']`;
const issuerOf = (path: string) => `${path}/*[local-name()='Issuer']`;

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

export function createReferenceSigner(keys: SignerKeys, opts: { signResponse: boolean }): ResponseSigner {
  return {
    sign(parts) {
      const signedAssertion = signOnce(joinUnsigned(parts), keys, ASSERTION);
      return opts.signResponse ? signOnce(signedAssertion, keys, RESPONSE) : signedAssertion;
    },
  };
}
