import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, hotp, matchTotp, otpauthUri, totp, type TotpParams } from '../../src/mfa/totp.js';

// RFC 6238 Appendix B: the seeds are the ASCII strings "12345678901234567890" repeated to
// the hash's key length; 8 digits; T0 = 0; X = 30.
const SEED = {
  sha1: Buffer.from('12345678901234567890', 'ascii'),
  sha256: Buffer.from('12345678901234567890123456789012', 'ascii'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'),
};
const VECTORS: [number, string, keyof typeof SEED][] = [
  [59, '94287082', 'sha1'],
  [59, '46119246', 'sha256'],
  [59, '90693936', 'sha512'],
  [1111111109, '07081804', 'sha1'],
  [1111111109, '68084774', 'sha256'],
  [1111111109, '25091201', 'sha512'],
  [1111111111, '14050471', 'sha1'],
  [1111111111, '67062674', 'sha256'],
  [1111111111, '99943326', 'sha512'],
  [1234567890, '89005924', 'sha1'],
  [1234567890, '91819424', 'sha256'],
  [1234567890, '93441116', 'sha512'],
  [2000000000, '69279037', 'sha1'],
  [2000000000, '90698825', 'sha256'],
  [2000000000, '38618901', 'sha512'],
  [20000000000, '65353130', 'sha1'],
  [20000000000, '77737706', 'sha256'],
  [20000000000, '47863826', 'sha512'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(VECTORS)('T=%i gives %s with %s (Appendix B)', (seconds, expected, hash) => {
    const params: TotpParams = { digits: 8, periodSeconds: 30, hash };
    expect(totp(SEED[hash], seconds * 1000, params)).toBe(expected);
  });

  it('HOTP matches RFC 4226 Appendix D', () => {
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    expected.forEach((code, counter) => expect(hotp(SEED.sha1, counter)).toBe(code));
  });

  it('matches within the skew only, and refuses what is not a code', () => {
    const secret = SEED.sha1;
    const now = 1_700_000_000_000;
    const step = Math.floor(now / 30_000);
    expect(matchTotp(secret, totp(secret, now), now, 1)).toBe(step);
    expect(matchTotp(secret, totp(secret, now - 30_000), now, 1)).toBe(step - 1);
    expect(matchTotp(secret, totp(secret, now + 30_000), now, 1)).toBe(step + 1);
    expect(matchTotp(secret, totp(secret, now - 60_000), now, 1)).toBeUndefined();
    expect(matchTotp(secret, totp(secret, now - 30_000), now, 0)).toBeUndefined();
    expect(matchTotp(secret, '12345', now, 1)).toBeUndefined();
    expect(matchTotp(secret, '１２３４５６', now, 1)).toBeUndefined();
    expect(matchTotp(secret, `${totp(secret, now)}0`, now, 1)).toBeUndefined();
  });

  it('base32 round-trips and refuses other alphabets; the otpauth URI carries the secret and issuer', () => {
    const bytes = Buffer.from('12345678901234567890', 'ascii');
    expect(base32Encode(bytes)).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(base32Decode('gezd gnbv gy3t qojq gezd gnbv gy3t qojq')).toEqual(bytes);
    expect(base32Decode('GEZDGNBV1')).toBeUndefined();
    const uri = new URL(otpauthUri({ issuer: 'pai-sso', account: 'alice', secret: bytes }));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(uri.searchParams.get('issuer')).toBe('pai-sso');
    expect(uri.searchParams.get('digits')).toBe('6');
  });
});
