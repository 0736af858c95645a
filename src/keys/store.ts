import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PaiSsoError } from '../errors.js';
import { readSigningCert, type SigningCert } from './cert.js';
import { generateSigningPair } from './generate.js';

export type { SigningCert } from './cert.js';

export interface KeyMaterial {
  /** Parsed once: re-parsing the PEM for every signature would cost ~0.7 ms each. */
  readonly privateKey: KeyObject;
  readonly current: SigningCert;
  /** Published in metadata ahead of a rotation, never used to sign. */
  readonly next: SigningCert | undefined;
  /** 32 bytes for session cookie encryption, shared by every process using this dir. */
  readonly sessionSecret: Buffer;
  readonly created: readonly string[];
}

export const FILES = {
  key: 'signing.key',
  cert: 'signing.crt',
  nextCert: 'next.crt',
  session: 'session.key',
} as const;

/** The key directory holds something unusable; the message names the file and the fix. */
export class KeyStoreError extends PaiSsoError {
  constructor(message: string, options?: ErrorOptions) {
    super('PAI_SSO_KEY_STORE', 'runtime', message, options);
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeyStoreError(`${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function writeSecret(path: string, data: string | Buffer): Promise<void> {
  await writeFile(path, data, { mode: 0o600, flag: 'wx' });
  // The umask can only remove bits, but a pre-existing ACL default could add some back.
  await chmod(path, 0o600);
}

async function warnIfOpen(path: string, warn: (msg: string) => void): Promise<void> {
  const s = await stat(path);
  if ((s.mode & 0o077) !== 0) warn(`${path} is readable by group or others (mode ${(s.mode & 0o777).toString(8)}); chmod 600 it`);
}

export interface KeyStoreOptions {
  readonly dir: string;
  readonly commonName: string;
  readonly certValidityDays: number;
  readonly warn?: (msg: string) => void;
}

/**
 * Loads the signing key, certificate and session secret from `dir`, creating what is
 * missing. A key without its certificate (or the reverse) is refused rather than
 * silently replaced: the published metadata would no longer match.
 */
export async function loadOrCreateKeys(opts: KeyStoreOptions): Promise<KeyMaterial> {
  const warn = opts.warn ?? (() => {});
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const keyPath = join(opts.dir, FILES.key);
  const certPath = join(opts.dir, FILES.cert);
  const sessionPath = join(opts.dir, FILES.session);
  const created: string[] = [];

  let keyPem = await readIfExists(keyPath);
  let certPem = await readIfExists(certPath);
  if (keyPem === undefined && certPem === undefined) {
    const pair = await generateSigningPair(opts.commonName, opts.certValidityDays);
    await writeSecret(keyPath, pair.keyPem);
    await writeFile(certPath, pair.certPem, { mode: 0o644, flag: 'wx' });
    keyPem = pair.keyPem;
    certPem = pair.certPem;
    created.push(keyPath, certPath);
  } else if (keyPem === undefined || certPem === undefined) {
    throw new KeyStoreError(
      `${keyPath} and ${certPath} must exist together; restore the missing one or remove both to generate a new pair`,
    );
  } else {
    await warnIfOpen(keyPath, warn);
  }

  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch {
    throw new KeyStoreError(`${keyPath}: not a readable PEM private key`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa' || (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new KeyStoreError(`${keyPath}: must be an RSA key of at least 2048 bits`);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch {
    throw new KeyStoreError(`${certPath}: not a readable PEM certificate`);
  }
  if (!x509.checkPrivateKey(privateKey)) throw new KeyStoreError(`${certPath}: certificate does not match ${keyPath}`);
  const current = readSigningCert(x509);
  if (current.notAfter.getTime() < Date.now()) warn(`${certPath} expired on ${current.notAfter.toISOString()}`);

  const nextPem = await readIfExists(join(opts.dir, FILES.nextCert));
  let next: SigningCert | undefined;
  if (nextPem !== undefined) {
    try {
      next = readSigningCert(nextPem);
    } catch {
      throw new KeyStoreError(`${join(opts.dir, FILES.nextCert)}: not a readable PEM certificate`);
    }
  }

  let session = await readIfExists(sessionPath);
  if (session === undefined) {
    session = randomBytes(32).toString('base64');
    await writeSecret(sessionPath, `${session}\n`);
    created.push(sessionPath);
  } else {
    await warnIfOpen(sessionPath, warn);
  }
  const sessionSecret = Buffer.from(session.trim(), 'base64');
  if (sessionSecret.length !== 32) throw new KeyStoreError(`${sessionPath}: must hold 32 bytes, base64`);

  return { privateKey, current, next, sessionSecret, created };
}
