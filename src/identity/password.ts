import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// scrypt rather than argon2id: it ships with Node, so no native addon to build on
// a fresh machine. N=2^16 (~0.3 s on this machine kind) is one step under OWASP's
// N=2^17, which took 0.55 s per login here and ties up a libuv thread that long.
export const DEFAULT_SCRYPT = { N: 2 ** 16, r: 8, p: 1 } as const;
const DEFAULT = DEFAULT_SCRYPT;
const KEYLEN = 32;

/** The key derivation behind every verification; a parameter so a test can count the work a login does. */
export type Kdf = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) => Promise<Buffer>;

export const scryptKdf: Kdf = (password, salt, keylen, opts) =>
  new Promise((resolve, reject) => scrypt(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
const scryptAsync = scryptKdf;

const maxmem = (N: number, r: number) => 256 * N * r;

export async function hashPassword(password: string, params: { N: number; r: number; p: number } = DEFAULT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password.normalize('NFC'), salt, KEYLEN, { ...params, maxmem: maxmem(params.N, params.r) });
  return `$scrypt$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const FORMAT = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

export function isPasswordHash(value: string): boolean {
  return FORMAT.test(value);
}

export async function verifyPassword(password: string, encoded: string, kdf: Kdf = scryptKdf): Promise<boolean> {
  const m = FORMAT.exec(encoded);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Refuse parameters that would let an edited file pin the CPU or memory.
  if (N > 2 ** 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(m[4] ?? '', 'base64');
  const expected = Buffer.from(m[5] ?? '', 'base64');
  const actual = await kdf(password.normalize('NFC'), salt, expected.length, { N, r, p, maxmem: maxmem(N, r) });
  return timingSafeEqual(actual, expected);
}

export function decoyHash(): string {
  const { N, r, p } = DEFAULT;
  return `$scrypt$N=${N},r=${r},p=${p}$${randomBytes(16).toString('base64')}$${randomBytes(KEYLEN).toString('base64')}`;
}
