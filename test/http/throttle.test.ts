import { afterEach, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { Jar, baseConfig, hiddenField, startGateway, type TestGateway } from '../helpers/gateway.js';
import { validateConfig } from '../../src/config/validate.js';
import { trustedProxyList } from '../../src/config/trusted-proxies.js';
import { createLoginThrottle, normaliseUsername } from '../../src/security/login-throttle.js';
import { createMemoryStore } from '../../src/state/memory.js';
import { StoreUnavailableError, type StateStore } from '../../src/state/store.js';
import { LoginThrottleSchema } from '../../src/config/throttle-schema.js';
import { Value } from '@sinclair/typebox/value';
import { createOidcSource } from '../../src/identity/oidc.js';
import { OidcIdentitySchema, type OidcIdentityConfig } from '../../src/config/identity-oidc-schema.js';

const PASSWORD = 'correct horse battery';
const PROXY = '10.0.0.5';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const audits = (g: TestGateway, event: string) => g.logs.filter((l) => l['audit'] === event);

function server(extra: Record<string, unknown> = {}) {
  return { baseUrl: 'http://localhost:8080', trustedProxies: [PROXY, '2001:db8::/64'], loginAttemptsPerMinute: 1000, ...extra };
}

interface From {
  readonly remoteAddress: string;
  readonly forwardedFor?: string;
}

/** One sign-in through the real form, from a given socket peer and X-Forwarded-For. */
async function attempt(g: TestGateway, username: string, password: string, from: From): Promise<LightMyRequestResponse> {
  const jar = new Jar();
  const headers = (extra: Record<string, string> = {}) => ({
    cookie: jar.header(),
    ...(from.forwardedFor ? { 'x-forwarded-for': from.forwardedFor } : {}),
    ...extra,
  });
  const page = await g.app.inject({ method: 'GET', url: '/login', headers: headers(), remoteAddress: from.remoteAddress });
  jar.take(page);
  const csrf = hiddenField(page.body, 'csrf');
  const res = await g.app.inject({
    method: 'POST',
    url: '/login',
    headers: headers({ 'content-type': 'application/x-www-form-urlencoded' }),
    payload: new URLSearchParams({ username, password, csrf }).toString(),
    remoteAddress: from.remoteAddress,
  });
  jar.take(res);
  return res;
}

const viaProxy = (i: number): From => ({ remoteAddress: PROXY, forwardedFor: `198.51.100.${i + 1}` });
const retryAfter = (res: LightMyRequestResponse) => Number(res.headers['retry-after']);
/** What differs between two renderings of one page by design: the CSP nonce and the CSRF token. */
const comparable = (body: string) =>
  body
    .replace(/nonce-[^']+'/g, "nonce-X'")
    .replace(/nonce="[^"]+"/g, 'nonce="X"')
    .replace(/name="csrf" value="[^"]*"/g, 'name="csrf" value="X"');

/** 30 wrong passwords, each from another forwarded address, waiting out each backoff (not lockouts). */
async function distributedGuessing(g: TestGateway, username: string) {
  const results: LightMyRequestResponse[] = [];
  for (let i = 0; i < 30; i++) {
    const res = await attempt(g, username, `guess-${i}`, viaProxy(i));
    results.push(res);
    if (res.statusCode === 429 && retryAfter(res) <= 60) g.clock.now += retryAfter(res) * 1000;
  }
  return results;
}

describe('login throttle', () => {
  it('locks one account guessed from 30 forwarded addresses; the same answers for a user who does not exist', async () => {
    gw = await startGateway({ config: baseConfig({ server: server() }) });
    const alice = await distributedGuessing(gw, 'alice');
    await gw.close();

    gw = await startGateway({ config: baseConfig({ server: server() }) });
    const nobody = await distributedGuessing(gw, 'nobody-here');

    for (const results of [alice, nobody]) {
      // 10 password checks at most, with growing waits between them, then a lockout.
      expect(results.filter((r) => r.statusCode === 401)).toHaveLength(10);
      const last = results.at(-1) as LightMyRequestResponse;
      expect(last.statusCode).toBe(429);
      expect(retryAfter(last)).toBeGreaterThan(800);
      expect(retryAfter(last)).toBeLessThanOrEqual(900);
      expect(last.body).toContain('Too many sign-in attempts');
    }
    expect(alice.map((r) => r.statusCode)).toEqual(nobody.map((r) => r.statusCode));
    expect(alice.map((r) => r.headers['retry-after'])).toEqual(nobody.map((r) => r.headers['retry-after']));
    expect(comparable((alice.at(-1) as LightMyRequestResponse).body.replace(/alice/g, 'U'))).toBe(
      comparable((nobody.at(-1) as LightMyRequestResponse).body.replace(/nobody-here/g, 'U')),
    );

    // The audit lines carry the forwarded client and the proxy that passed it on.
    const failed = audits(gw, 'login.failed');
    expect(new Set(failed.map((f) => f['ip'])).size).toBe(10);
    expect(failed.every((f) => f['peer'] === PROXY && String(f['ip']).startsWith('198.51.100.'))).toBe(true);
    expect(audits(gw, 'login.locked')).toMatchObject([{ scope: 'username', user: 'nobody-here', failures: 10, seconds: 900, peer: PROXY }]);
    expect(audits(gw, 'login.throttled').at(-1)).toMatchObject({ scope: 'username', locked: true, peer: PROXY });
  });

  it('counts one account under every spelling (NFKC, case, spaces)', async () => {
    expect(normaliseUsername('  ＡＬＩＣＥ ')).toBe('alice');
    gw = await startGateway({
      config: baseConfig({ server: server({ loginThrottle: { username: { freeFailures: 1, lockoutAfter: 3 } } }) }),
    });
    for (const [i, name] of ['alice', 'ALICE', ' Alice'].entries()) {
      const res = await attempt(gw, name, 'wrong', viaProxy(i));
      if (res.statusCode === 429) gw.clock.now += retryAfter(res) * 1000;
      else expect(res.statusCode).toBe(401);
      if (i > 0) gw.clock.now += 60_000;
    }
    const locked = await attempt(gw, 'ａｌｉｃｅ', PASSWORD, viaProxy(9));
    expect(locked.statusCode).toBe(429);
    expect(retryAfter(locked)).toBeGreaterThan(800);
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    gw = await startGateway({ config: baseConfig({ server: server() }) });
    await attempt(gw, 'alice', 'wrong', { remoteAddress: '192.0.2.9', forwardedFor: '198.51.100.77' });
    await attempt(gw, 'alice', 'wrong', { remoteAddress: PROXY, forwardedFor: '198.51.100.77' });
    await attempt(gw, 'alice', 'wrong', { remoteAddress: '2001:db8::5', forwardedFor: '2001:db8:ffff::1' });
    // A forger behind the proxy: the proxy appends the real client, which is what counts.
    await attempt(gw, 'alice', 'wrong', { remoteAddress: PROXY, forwardedFor: '203.0.113.1, 198.51.100.78' });
    expect(audits(gw, 'login.failed').map((f) => [f['ip'], f['peer']])).toEqual([
      ['192.0.2.9', '192.0.2.9'],
      ['198.51.100.77', PROXY],
      ['2001:db8:ffff::1', '2001:db8::5'],
      ['198.51.100.78', PROXY],
    ]);
  });

  it('makes each further failure wait twice as long, and answers early tries with 429 without checking the password', async () => {
    gw = await startGateway({ config: baseConfig({ server: server() }) });
    const from = viaProxy(0);
    for (let i = 0; i < 4; i++) expect((await attempt(gw, 'alice', 'wrong', from)).statusCode).toBe(401);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const early = await attempt(gw, 'alice', PASSWORD, from); // even the right password is not looked at
      expect(early.statusCode).toBe(429);
      waits.push(retryAfter(early));
      gw.clock.now += retryAfter(early) * 1000;
      expect((await attempt(gw, 'alice', 'wrong', from)).statusCode).toBe(401);
    }
    expect(waits).toEqual([1, 2, 4, 8, 16]);
    expect(audits(gw, 'login.succeeded')).toHaveLength(0);
    expect(audits(gw, 'login.failed')).toHaveLength(9);
  });

  it('starts the username over after a successful sign-in', async () => {
    gw = await startGateway({ config: baseConfig({ server: server() }) });
    const from = viaProxy(0);
    for (let i = 0; i < 3; i++) expect((await attempt(gw, 'alice', 'wrong', from)).statusCode).toBe(401);
    expect((await attempt(gw, 'alice', PASSWORD, from)).statusCode).toBe(303);
    // Without the reset the second of these would already have to wait.
    for (let i = 0; i < 4; i++) expect((await attempt(gw, 'alice', 'wrong', from)).statusCode).toBe(401);
    expect((await attempt(gw, 'alice', 'wrong', from)).statusCode).toBe(429);
  });

  it('lifts a lockout when it expires, and doubles the next one', async () => {
    gw = await startGateway({
      config: baseConfig({ server: server({ loginThrottle: { username: { freeFailures: 2, lockoutAfter: 3 }, lockoutSeconds: 600 } }) }),
    });
    // Two free failures, and the third locks: no waits in between.
    const fail = async (times: number) => {
      for (let i = 0; i < times; i++) expect((await attempt(gw as TestGateway, 'alice', 'wrong', viaProxy(i))).statusCode).toBe(401);
    };
    await fail(3);
    const locked = await attempt(gw, 'alice', PASSWORD, viaProxy(5));
    expect(locked.statusCode).toBe(429);
    expect(retryAfter(locked)).toBe(600);
    gw.clock.now += 599_000;
    expect((await attempt(gw, 'alice', PASSWORD, viaProxy(5))).statusCode).toBe(429);
    gw.clock.now += 2000;
    expect((await attempt(gw, 'alice', 'wrong', viaProxy(5))).statusCode).toBe(401);
    gw.clock.now += 60_000;
    await fail(2); // with the one above, three: the second lockout
    expect(retryAfter(await attempt(gw, 'alice', PASSWORD, viaProxy(5)))).toBe(1200);
    expect(audits(gw, 'login.locked').map((l) => l['seconds'])).toEqual([600, 1200]);
  });

  it('locks out an address that sprays many usernames', async () => {
    gw = await startGateway({
      config: baseConfig({ server: server({ loginThrottle: { address: { freeFailures: 3, lockoutAfter: 5 } } }) }),
    });
    const from = viaProxy(0);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await attempt(gw, `user${i}`, 'Winter2024!', from);
      statuses.push(res.statusCode);
      if (res.statusCode === 429 && retryAfter(res) <= 60) gw.clock.now += retryAfter(res) * 1000;
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(audits(gw, 'login.locked')).toMatchObject([{ scope: 'address', ip: '198.51.100.1', user: '-' }]);
    // Another address is not affected.
    expect((await attempt(gw, 'alice', PASSWORD, viaProxy(1))).statusCode).toBe(303);
  });

  it('keeps server.loginAttemptsPerMinute as a cap on every try from one address, shared by all that use the store', async () => {
    const store = createMemoryStore();
    const config = baseConfig({ server: server({ loginAttemptsPerMinute: 4 }) });
    gw = await startGateway({ config, store });
    const other = await startGateway({ config, store });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await attempt(i % 2 ? other : gw, `name${i}`, 'x', viaProxy(0))).statusCode);
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
      // Per address, not global: another client is still heard on both replicas.
      expect((await attempt(gw, 'name6', 'x', viaProxy(1))).statusCode).toBe(401);
      expect((await attempt(other, 'name7', 'x', viaProxy(1))).statusCode).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('refuses with 503, never a login, when the store is unavailable', async () => {
    const broken: StateStore = {
      ...createMemoryStore(),
      incr: async () => {
        throw new StoreUnavailableError('test: down');
      },
    };
    gw = await startGateway({ config: baseConfig({ server: server() }), store: broken });
    const res = await attempt(gw, 'alice', PASSWORD, viaProxy(0));
    expect(res.statusCode).toBe(503);
    expect(audits(gw, 'login.succeeded')).toHaveLength(0);
  });

  it('lets only lockoutAfter parallel guesses for one account reach the password check', async () => {
    const store = createMemoryStore();
    const t = createLoginThrottle(store, Value.Default(LoginThrottleSchema, {}) as never, { attemptsPerMinute: 1000 });
    const verdicts = await Promise.all(Array.from({ length: 50 }, (_, i) => t.admit('alice', `198.51.100.${i}`)));
    expect(verdicts.filter((v) => 'admitted' in v)).toHaveLength(10);
    expect(verdicts.filter((v) => 'blocked' in v && v.blocked.locked)).toHaveLength(40);
  });

  it('throttles the OIDC callback per client address', async () => {
    const oidc = createOidcSource(
      Value.Default(OidcIdentitySchema, {
        issuer: 'http://127.0.0.1:9/',
        clientId: 'pai-sso',
        tokenEndpointAuthMethod: 'none',
      }) as OidcIdentityConfig,
      {
        baseUrl: 'http://localhost:8080',
        env: {},
        rediscoverAfterMs: 3_600_000,
      },
    );
    gw = await startGateway({
      config: baseConfig({
        server: server({ loginThrottle: { address: { freeFailures: 2, lockoutAfter: 4 } } }),
        identity: { source: ['oidc'], oidc: { issuer: 'http://127.0.0.1:9/', clientId: 'pai-sso' } },
      }),
      extraSources: [oidc],
    });
    const g = gw;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await g.app.inject({
        method: 'GET',
        url: '/oidc/callback?code=x&state=y',
        remoteAddress: PROXY,
        headers: { 'x-forwarded-for': '198.51.100.9' },
      });
      if (r.statusCode === 429 && retryAfter(r) <= 60) g.clock.now += retryAfter(r) * 1000;
      statuses.push(r.statusCode);
    }
    expect(statuses.filter((s) => s === 400)).toHaveLength(4);
    expect(statuses.at(-1)).toBe(429);
    expect(audits(gw, 'login.locked')).toMatchObject([{ scope: 'address', path: '/oidc/callback', ip: '198.51.100.9', peer: PROXY }]);
    // A different client behind the same proxy still gets through to the checks.
    const other = await gw.app.inject({
      method: 'GET',
      url: '/oidc/callback?code=x&state=y',
      remoteAddress: PROXY,
      headers: { 'x-forwarded-for': '198.51.100.10' },
    });
    expect(other.statusCode).toBe(400);
  });
});

describe('trusted proxies in the config', () => {
  const problems = (serverCfg: Record<string, unknown>) => {
    const v = validateConfig(baseConfig({ server: { baseUrl: 'https://sso.example.test', ...serverCfg } }));
    return v.ok ? [] : v.problems;
  };

  it('refuses trustProxy: true and points to trustedProxies', () => {
    expect(problems({ trustProxy: true })).toEqual([
      { path: 'server.trustProxy', reason: expect.stringContaining('server.trustedProxies') },
    ]);
  });

  it('refuses a hop count', () => {
    expect(problems({ trustProxy: '1' })).toEqual([{ path: 'server.trustProxy', reason: expect.stringContaining('hop counts') }]);
  });

  it('checks every CIDR, IPv4 and IPv6, and refuses /0', () => {
    expect(
      problems({
        trustedProxies: [
          '10.0.0.5',
          '10.1.0.0/16',
          '2001:db8::/32',
          '::1',
          '10.0.0.0/33',
          'fe80::/129',
          'proxy.internal',
          '0.0.0.0/0',
          '::/0',
          '10.0.0.1/8/1',
          '10.0.0.0/x',
        ],
      }),
    ).toEqual([
      { path: 'server.trustedProxies.4', reason: expect.stringContaining('0..32') },
      { path: 'server.trustedProxies.5', reason: expect.stringContaining('0..128') },
      { path: 'server.trustedProxies.6', reason: expect.stringContaining('not an IPv4/IPv6 address or CIDR') },
      { path: 'server.trustedProxies.7', reason: expect.stringContaining('trusts every address') },
      { path: 'server.trustedProxies.8', reason: expect.stringContaining('trusts every address') },
      { path: 'server.trustedProxies.9', reason: expect.stringContaining('not an IPv4/IPv6') },
      { path: 'server.trustedProxies.10', reason: expect.stringContaining('prefix length') },
    ]);
  });

  it('reads trustProxy given as addresses as more trusted proxies', () => {
    expect(problems({ trustProxy: '10.0.0.1, 10.0.0.2', trustedProxies: ['10.0.0.3'] })).toEqual([]);
    expect(problems({ trustProxy: ['10.0.0.0/8', 'nope'] })).toEqual([
      { path: 'server.trustProxy.1', reason: expect.stringContaining('"nope"') },
    ]);
    expect(trustedProxyList({ trustProxy: '10.0.0.1, 10.0.0.2', trustedProxies: ['10.0.0.3', '10.0.0.1'] })).toEqual([
      '10.0.0.3',
      '10.0.0.1',
      '10.0.0.2',
    ]);
  });

  it('checks that the throttle numbers fit together', () => {
    expect(problems({ loginThrottle: { username: { freeFailures: 10, lockoutAfter: 5 } } })).toEqual([
      { path: 'server.loginThrottle.username.freeFailures', reason: expect.stringContaining('below') },
    ]);
  });
});
