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

  it('refuses what is not a certificate', () => {
    expect(() => readSigningCert(Buffer.from('AAAA', 'base64'))).toThrow();
    expect(() => readSigningCert('not a pem')).toThrow();
  });
});
