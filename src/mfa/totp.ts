import { createHmac, randomBytes } from 'node:crypto';

// TOTP (RFC 6238) on HOTP (RFC 4226) with node:crypto alone: 30-second steps, 6 digits,
// HMAC-SHA1 by default, which is what every authenticator app implements. The other
// hashes are here for RFC 6238's published test vectors (Appendix B).

export type TotpHash = 'sha1' | 'sha256' | 'sha512';

export interface TotpParams {
  readonly digits: number;
  readonly periodSeconds: number;
  readonly hash: TotpHash;
}

export const TOTP_DEFAULTS: TotpParams = { digits: 6, periodSeconds: 30, hash: 'sha1' };

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding: how authenticator apps take a secret. */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32.charAt((value << (5 - bits)) & 31);
  return out;
}

/** Case-insensitive, spaces and padding ignored; undefined for anything that is not base32. */
export function base32Decode(text: string): Buffer | undefined {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const i = BASE32.indexOf(ch);
    if (i < 0) return undefined;
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** 20 random bytes (160 bits, RFC 4226's recommended length for HMAC-SHA1). */
export function newTotpSecret(): Buffer {
  return randomBytes(20);
}

/** HOTP value for one counter (RFC 4226 section 5.3: dynamic truncation). */
export function hotp(secret: Uint8Array, counter: number, params: Pick<TotpParams, 'digits' | 'hash'> = TOTP_DEFAULTS): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(params.hash, secret).update(msg).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** params.digits).padStart(params.digits, '0');
}

/** The time step for an instant (ms). */
export function totpStep(nowMs: number, periodSeconds = TOTP_DEFAULTS.periodSeconds): number {
  return Math.floor(nowMs / 1000 / periodSeconds);
}

export function totp(secret: Uint8Array, nowMs: number, params: TotpParams = TOTP_DEFAULTS): string {
  return hotp(secret, totpStep(nowMs, params.periodSeconds), params);
}

/**
 * The step whose code matches, looking `skewSteps` steps either side of now (clock drift
 * between phone and server), or undefined. Every candidate is computed and compared, so
 * the time taken does not say which step matched.
 */
export function matchTotp(
  secret: Uint8Array,
  code: string,
  nowMs: number,
  skewSteps: number,
  params: TotpParams = TOTP_DEFAULTS,
): number | undefined {
  if (!new RegExp(`^\\d{${params.digits}}$`).test(code)) return undefined;
  const now = totpStep(nowMs, params.periodSeconds);
  let found: number | undefined;
  for (let step = now - skewSteps; step <= now + skewSteps; step++) {
    const candidate = hotp(secret, step, params);
    let diff = 0;
    for (let i = 0; i < candidate.length; i++) diff |= candidate.charCodeAt(i) ^ code.charCodeAt(i);
    if (diff === 0 && found === undefined) found = step;
  }
  return found;
}

/** The otpauth:// URI authenticator apps read (Google Authenticator's Key Uri Format). */
export function otpauthUri(opts: { issuer: string; account: string; secret: Uint8Array; params?: TotpParams }): string {
  const p = opts.params ?? TOTP_DEFAULTS;
  const label = `${encodeURIComponent(opts.issuer)}:${encodeURIComponent(opts.account)}`;
  const q = new URLSearchParams({
    secret: base32Encode(opts.secret),
    issuer: opts.issuer,
    algorithm: p.hash.toUpperCase(),
    digits: String(p.digits),
    period: String(p.periodSeconds),
  });
  return `otpauth://totp/${label}?${q.toString()}`;
}
