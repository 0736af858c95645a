import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, unlink, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FILES, KeyStoreError, loadOrCreateKeys } from '../../src/keys/store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pai-sso-keys-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const opts = () => ({ dir: join(dir, 'certs'), commonName: 'sso.example.test', certValidityDays: 30 });

describe('key store', () => {
  it('creates an RSA-2048 key (0600) and a self-signed SHA-256 certificate on first start', async () => {
    const k = await loadOrCreateKeys(opts());
    expect(k.created).toHaveLength(3);
    expect((await stat(join(dir, 'certs', FILES.key))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'certs', FILES.session))).mode & 0o777).toBe(0o600);
    expect(k.privateKey.asymmetricKeyDetails?.modulusLength).toBeGreaterThanOrEqual(2048);
    const cert = new X509Certificate(await readFile(join(dir, 'certs', FILES.cert)));
    expect(cert.subject).toContain('CN=sso.example.test');
    expect(cert.checkPrivateKey(k.privateKey)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    // node exposes no signature-algorithm field; the DER carries the OID of sha256WithRSAEncryption.
    expect(cert.raw.includes(Buffer.from('2a864886f70d01010b', 'hex'))).toBe(true);
  });

  it('loads the same key on the next start, creating nothing', async () => {
    const first = await loadOrCreateKeys(opts());
    const second = await loadOrCreateKeys(opts());
    expect(second.created).toEqual([]);
    expect(second.current.sha256).toBe(first.current.sha256);
    expect(second.sessionSecret.equals(first.sessionSecret)).toBe(true);
  });

  it('refuses a key without its certificate rather than replacing it', async () => {
    await loadOrCreateKeys(opts());
    await unlink(join(dir, 'certs', FILES.cert));
    await expect(loadOrCreateKeys(opts())).rejects.toThrow(KeyStoreError);
    // A runtime failure (exit 1), not a config error: the config is fine, the files are not.
    await expect(loadOrCreateKeys(opts())).rejects.toMatchObject({ name: 'KeyStoreError', code: 'PAI_SSO_KEY_STORE', kind: 'runtime' });
  });

  it('refuses a certificate that belongs to another key', async () => {
    await loadOrCreateKeys(opts());
    const other = await loadOrCreateKeys({ ...opts(), dir: join(dir, 'other') });
    await writeFile(join(dir, 'certs', FILES.cert), other.current.pem);
    await expect(loadOrCreateKeys(opts())).rejects.toThrow(/does not match/);
  });

  it('publishes a next certificate for rotation without signing with it', async () => {
    const other = await loadOrCreateKeys({ ...opts(), dir: join(dir, 'other') });
    await loadOrCreateKeys(opts());
    await writeFile(join(dir, 'certs', FILES.nextCert), other.current.pem);
    const k = await loadOrCreateKeys(opts());
    expect(k.next?.sha256).toBe(other.current.sha256);
    expect(k.current.sha256).not.toBe(other.current.sha256);
  });

  it('warns when the private key is readable by others', async () => {
    await loadOrCreateKeys(opts());
    const { chmod } = await import('node:fs/promises');
    await chmod(join(dir, 'certs', FILES.key), 0o644);
    const warnings: string[] = [];
    await loadOrCreateKeys({ ...opts(), warn: (m) => warnings.push(m) });
    expect(warnings.join()).toMatch(/readable by group or others/);
  });
});
