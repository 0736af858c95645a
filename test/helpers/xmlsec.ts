import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createPublicKey, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Debian's xmlsec1 (.ci/run installs it), or undefined when missing. */
export const XMLSEC = existsSync('/usr/bin/xmlsec1') ? '/usr/bin/xmlsec1' : undefined;

const ASSERTION_ID_ATTR = 'urn:oasis:names:tc:SAML:2.0:assertion:Assertion';

/**
 * The key pinned, nothing taken from the document: `--trusted-pem` alone is not enough
 * (xmlsec1 1.2.37 still verifies with a raw <ds:KeyValue> the document carries), so the
 * only key data allowed is the certificate given here, and references must point into
 * the document itself.
 */
export const PINNED_VERIFY_ARGS = (certFile: string): string[] => [
  '--verify',
  '--pubkey-cert-pem',
  certFile,
  '--enabled-key-data',
  'raw-x509-cert',
  '--enabled-reference-uris',
  'same-doc',
  '--id-attr:ID',
  ASSERTION_ID_ATTR,
];

/** The verification the suite used to run, kept only to show the pitfall it has. */
export const TRUSTED_PEM_ARGS = (certFile: string): string[] => ['--verify', '--trusted-pem', certFile, '--id-attr:ID', ASSERTION_ID_ATTR];

/** Runs xmlsec1 on `xml` with `args(certFile)`; status 0 means the signature verified. */
export async function xmlsecVerify(
  dir: string,
  xml: string,
  certPem: string,
  args: (certFile: string) => string[] = PINNED_VERIFY_ARGS,
): Promise<SpawnSyncReturns<string>> {
  const tag = randomBytes(6).toString('hex');
  const file = join(dir, `xmlsec-${tag}.xml`);
  const cert = join(dir, `xmlsec-${tag}.pem`);
  await writeFile(file, xml);
  await writeFile(cert, certPem);
  return spawnSync(XMLSEC ?? 'xmlsec1', [...args(cert), file], { encoding: 'utf8' });
}

/**
 * The KeyValue forgery: a document signed by an unrelated key, whose every <ds:KeyInfo>
 * is replaced by that key as a bare <ds:KeyValue> (RSA modulus and exponent). A verifier
 * that takes key material from the document accepts it.
 */
export function withKeyValue(signedXml: string, signerPublicKeyPem: string): string {
  const jwk = createPublicKey(signerPublicKeyPem).export({ format: 'jwk' });
  const b64 = (v: string | undefined) => Buffer.from(v ?? '', 'base64url').toString('base64');
  // The same prefix (or none) as the Signature the KeyInfo sits in, so it stays in the dsig namespace.
  const out = signedXml.replace(/<([A-Za-z0-9]+:)?KeyInfo\b[^>]*>[\s\S]*?<\/\1?KeyInfo>/g, (_all, prefix: string | undefined) => {
    const p = prefix ?? '';
    return `<${p}KeyInfo><${p}KeyValue><${p}RSAKeyValue><${p}Modulus>${b64(jwk.n)}</${p}Modulus><${p}Exponent>${b64(jwk.e)}</${p}Exponent></${p}RSAKeyValue></${p}KeyValue></${p}KeyInfo>`;
  });
  if (out === signedXml) throw new Error('withKeyValue: no KeyInfo to replace');
  return out;
}
