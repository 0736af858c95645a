import { X509Certificate } from 'node:crypto';

// What the gateway needs to know about a signing certificate. Pure (no files): the key
// store reads certificates through it, and `register` uses it to name certs in a plan.

export interface SigningCert {
  readonly pem: string;
  /** Base64 DER, as it goes into ds:X509Certificate. */
  readonly base64: string;
  readonly sha256: string;
  readonly notAfter: Date;
  readonly subject: string;
}

/** Reads a certificate: a parsed one, a PEM string, or DER bytes. Throws on anything else. */
export function readSigningCert(cert: X509Certificate | string | Buffer): SigningCert {
  const x = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  return {
    pem: x.toString(),
    base64: x.raw.toString('base64'),
    sha256: x.fingerprint256,
    notAfter: new Date(x.validTo),
    subject: x.subject,
  };
}
