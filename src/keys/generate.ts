import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface GeneratedPair {
  readonly keyPem: string;
  readonly certPem: string;
}

/** RSA-2048 key and a self-signed SHA-256 certificate for the signing key. */
export async function generateSigningPair(commonName: string, validityDays: number, bits = 2048): Promise<GeneratedPair> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  // Loaded only when a key is generated. A CommonJS module: Node hands named exports,
  // a bundle may hand only `default`.
  const selfsigned: typeof import('selfsigned') & { default?: typeof import('selfsigned') } = await import('selfsigned');
  const generate = selfsigned.default?.generate ?? selfsigned.generate;
  const notBefore = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyPair: { privateKey, publicKey },
    // selfsigned defaults to sha1; Alibaba and every modern verifier expect sha256.
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: new Date(notBefore.getTime() + validityDays * 86_400_000),
  });
  return { keyPem: privateKey, certPem: pems.cert };
}
