import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readSigningCert } from '../../src/keys/cert.js';
import { generateSigningPair } from '../../src/keys/generate.js';

describe('readSigningCert', () => {
  it('reads the same certificate from PEM and from DER', async () => {
    const { certPem } = await generateSigningPair('cert.test', 2);
    const fromPem = readSigningCert(certPem);
    const fromDer = readSigningCert(Buffer.from(fromPem.base64, 'base64'));
    expect(fromDer).toEqual(fromPem);
    expect(fromPem.subject).toContain('CN=cert.test');
    expect(fromPem.notAfter.getTime()).toBeGreaterThan(Date.now());
  });

  it('reports the DER bytes, their SHA-256 and the expiry, computed here without X509Certificate', async () => {
    const { certPem } = await generateSigningPair('cert.test', 2);
    const body = certPem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
    const der = Buffer.from(body, 'base64');
    const info = readSigningCert(der);
    expect(info.base64).toBe(body);
    const digest = createHash('sha256').update(der).digest('hex').toUpperCase();
    expect(info.sha256).toBe(digest.match(/../g)?.join(':'));
    expect(info.pem.replace(/\s+/g, '')).toBe(certPem.replace(/\s+/g, ''));
    // Valid for 2 days from now, to the second the certificate carries.
    const twoDays = Date.now() + 2 * 86_400_000;
    expect(Math.abs(info.notAfter.getTime() - twoDays)).toBeLessThan(120_000);
  });

  it('refuses what is not a certificate', () => {
    expect(() => readSigningCert(Buffer.from('AAAA', 'base64'))).toThrow();
    expect(() => readSigningCert('not a pem')).toThrow();
  });
});
