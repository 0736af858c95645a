import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

describe('operator endpoints', () => {
  it('serves IdP metadata with our current certificate', async () => {
    gw = await startGateway();
    const res = await gw.app.inject('/saml/metadata');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/samlmetadata\+xml/);
    expect(res.body).toContain(`<ds:X509Certificate>${gw.keys.current.base64}</ds:X509Certificate>`);
    expect(res.body).toContain('entityID="https://sso.example.test/saml/metadata"');
  });

  it('answers /healthz and /readyz in JSON', async () => {
    gw = await startGateway();
    expect((await gw.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await gw.app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { config: { ok: true }, signingKey: { ok: true }, identity: { ok: true }, state: { ok: true } },
    });
  });

  it('is not ready when the signing certificate has expired', async () => {
    gw = await startGateway();
    gw.clock.now += 31 * 86_400_000;
    const ready = await gw.app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.signingKey).toEqual({ ok: false, reason: 'signing certificate expired' });
  });

  it('is not ready with an empty user directory', async () => {
    gw = await startGateway({ users: {} });
    const ready = await gw.app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.identity.ok).toBe(false);
  });

  it('drains before shutdown: not ready, and every response closes its connection', async () => {
    gw = await startGateway();
    expect((await gw.app.inject('/healthz')).headers.connection).not.toBe('close');
    gw.app.drain();
    const ready = await gw.app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().status).toBe('draining');
    const page = await gw.app.inject('/login');
    expect(page.statusCode).toBe(200);
    expect(page.headers.connection).toBe('close');
  });

  it('exposes Prometheus metrics that count decisions', async () => {
    gw = await startGateway();
    await gw.app.inject('/sso/pai?target=nowhere');
    const res = await gw.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('pai_sso_assertions_denied_total{reason="unknown-target"} 1');
    expect(res.body).toContain('pai_sso_process_resident_memory_bytes');
  });

  it('sets protective headers on every response', async () => {
    gw = await startGateway();
    const res = await gw.app.inject('/login');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(String(res.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    expect(String(res.headers['content-security-policy'])).toContain("form-action 'self'");
  });
});
