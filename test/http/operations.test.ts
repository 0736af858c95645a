import { afterEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ASADMIN, baseConfig, startGateway, type TestGateway } from '../helpers/gateway.js';
import { buildAdminServer } from '../../src/http/admin-server.js';
import { parseListenAddress, readAdminToken } from '../../src/config/admin-listener.js';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/config/errors.js';

let gw: TestGateway | undefined;
let admin: FastifyInstance | undefined;
afterEach(async () => {
  await admin?.close();
  await gw?.close();
  gw = undefined;
  admin = undefined;
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
    const ready = await gw.app.inject({ url: '/readyz', headers: ASADMIN });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { config: { ok: true }, signingKey: { ok: true }, identity: { ok: true }, state: { ok: true } },
    });
  });

  it('is not ready when the signing certificate has expired', async () => {
    gw = await startGateway();
    gw.clock.now += 31 * 86_400_000;
    const ready = await gw.app.inject({ url: '/readyz', headers: ASADMIN });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.signingKey).toEqual({ ok: false, reason: 'signing certificate expired' });
  });

  it('is not ready with an empty user directory', async () => {
    gw = await startGateway({ users: {} });
    const ready = await gw.app.inject({ url: '/readyz', headers: ASADMIN });
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

describe('HSTS', () => {
  it('tells browsers to stay on https for a year when baseUrl is https, on every response', async () => {
    gw = await startGateway({ config: baseConfig({ server: { baseUrl: 'https://sso.example.test' } }) });
    for (const url of ['/login', '/healthz', '/saml/metadata', '/no-such-page']) {
      expect((await gw.app.inject(url)).headers['strict-transport-security'], url).toBe('max-age=31536000; includeSubDomains');
    }
  });

  it('sends no HSTS header when baseUrl is plain http (a local test setup)', async () => {
    gw = await startGateway();
    expect((await gw.app.inject('/login')).headers['strict-transport-security']).toBeUndefined();
  });
});

describe('what the probes tell whom', () => {
  it('gives a public /readyz caller only the status, never the reasons', async () => {
    gw = await startGateway({ users: {} });
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: ASADMIN.authorization.replace('Bearer', 'Basic') },
    ]) {
      const ready = await gw.app.inject({ url: '/readyz', headers });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({ status: 'not ready' });
      expect(ready.headers['cache-control']).toBe('no-store');
    }
    const full = await gw.app.inject({ url: '/readyz', headers: ASADMIN });
    expect(full.json()).toMatchObject({ status: 'not ready', checks: { identity: { ok: false, reason: expect.any(String) } } });
  });

  it('keeps /metrics on the main port by default, and moves it to the admin listener when server.adminListen is set', async () => {
    gw = await startGateway({ config: baseConfig({ server: { baseUrl: 'http://localhost:8080', adminListen: '127.0.0.1:0' } }) });
    expect((await gw.app.inject('/metrics')).statusCode).toBe(404);
    admin = await buildAdminServer(gw.app);
    await gw.app.inject('/sso/pai?target=nowhere');
    const metrics = await admin.inject('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('pai_sso_assertions_denied_total{reason="unknown-target"} 1');
    const ready = await admin.inject('/readyz');
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { config: { ok: true }, signingKey: { ok: true }, identity: { ok: true }, state: { ok: true } },
    });
    expect((await admin.inject('/healthz')).json()).toEqual({ status: 'ok' });
    // Only the operator routes: no login page, no assertions on the admin port.
    expect((await admin.inject('/login')).statusCode).toBe(404);
    expect((await admin.inject('/sso/pai')).statusCode).toBe(404);
  });

  it('serves the admin routes on a real second listener, with reasons, and follows the gateway into draining', async () => {
    gw = await startGateway({
      users: {},
      config: baseConfig({ server: { baseUrl: 'http://localhost:8080', adminListen: '127.0.0.1:0' } }),
    });
    admin = await buildAdminServer(gw.app);
    await gw.app.listen({ host: '127.0.0.1', port: 0 });
    await admin.listen(parseListenAddress('127.0.0.1:0'));
    const main = `http://127.0.0.1:${(gw.app.server.address() as AddressInfo).port}`;
    const side = `http://127.0.0.1:${(admin.server.address() as AddressInfo).port}`;
    expect(side).not.toBe(main);
    const publicReady = await fetch(`${main}/readyz`);
    expect(publicReady.status).toBe(503);
    expect(await publicReady.json()).toEqual({ status: 'not ready' });
    expect((await fetch(`${main}/metrics`)).status).toBe(404);
    const adminReady = await fetch(`${side}/readyz`);
    expect(adminReady.status).toBe(503);
    expect(await adminReady.json()).toMatchObject({ checks: { identity: { ok: false, reason: expect.stringContaining('local') } } });
    expect((await fetch(`${side}/metrics`)).status).toBe(200);
    gw.app.drain();
    expect(await (await fetch(`${side}/readyz`)).json()).toMatchObject({ status: 'draining' });
  });

  it('validates server.adminListen and server.adminTokenEnv', () => {
    const problems = (server: Record<string, unknown>) => {
      const v = validateConfig(baseConfig({ server: { baseUrl: 'http://localhost:8080', ...server } }));
      return v.ok ? [] : v.problems.map((p) => p.path);
    };
    expect(problems({ adminListen: '127.0.0.1:9090', adminTokenEnv: 'PAI_SSO_ADMIN_TOKEN' })).toEqual([]);
    expect(problems({ adminListen: '[::1]:9090' })).toEqual([]);
    expect(problems({ adminListen: '9090' })).toEqual(['server.adminListen']);
    expect(problems({ adminListen: 'http://x:1' })).toEqual(['server.adminListen']);
    expect(problems({ adminTokenEnv: 'not a name' })).toEqual(['server.adminTokenEnv']);
    expect(parseListenAddress('[::1]:9090')).toEqual({ host: '::1', port: 9090 });
    expect(parseListenAddress('0.0.0.0:9090')).toEqual({ host: '0.0.0.0', port: 9090 });
    expect(() => parseListenAddress('x:99999')).toThrow(ConfigError);
    expect(readAdminToken({}, {}, 'f')).toBeUndefined();
    expect(readAdminToken({ adminTokenEnv: 'T' }, { T: 'long-enough-token-123' }, 'f')).toBe('long-enough-token-123');
    expect(() => readAdminToken({ adminTokenEnv: 'T' }, { T: 'short' }, 'f')).toThrow(/server\.adminTokenEnv: environment variable T/);
    try {
      readAdminToken({ adminTokenEnv: 'T' }, { T: 'short' }, 'f');
    } catch (e) {
      expect(String(e)).not.toContain('short');
    }
  });
});
