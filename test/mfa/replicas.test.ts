import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/state/create.js';
import type { StateStore } from '../../src/state/store.js';
import { base32Decode, totp } from '../../src/mfa/totp.js';
import { REDIS_MISSING, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { baseConfig, hiddenField, login, request, startGateway, type TestGateway } from '../helpers/gateway.js';

// Two replicas sharing Redis (the state store), the key directory (one session secret) and
// the enrolment directory: a TOTP code used on one is refused on the other inside its window.

const PASSWORD = 'correct horse battery';

describe.skipIf(REDIS_MISSING)('TOTP replay across replicas sharing Redis', () => {
  let redis: RedisServer;
  let dir: string;
  let stores: StateStore[] = [];
  let a: TestGateway;
  let b: TestGateway;

  beforeAll(async () => {
    redis = await startRedis();
    dir = await mkdtemp(join(tmpdir(), 'pai-sso-mfa-replicas-'));
    const config = baseConfig({ identity: { secondFactor: { dir: join(dir, 'mfa') } } });
    const store = () =>
      createStore(
        { store: 'redis', redis: { url: redis.url, keyPrefix: 'mfa-replicas:', connectTimeoutMs: 2000, commandTimeoutMs: 1000 } },
        { env: {} },
      );
    stores = [await store(), await store()];
    a = await startGateway({ config, keysDir: join(dir, 'certs'), store: stores[0] });
    b = await startGateway({ config, keysDir: join(dir, 'certs'), store: stores[1] });
    b.clock.now = a.clock.now;
  }, 60_000);
  afterAll(async () => {
    await a.close();
    await b.close();
    await Promise.all(stores.map((s) => s.close()));
    await redis.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts the code on A, refuses it on B', async () => {
    const { jar } = await login(a, 'alice', PASSWORD);
    const page = await request(a, jar, 'GET', '/account/security');
    const csrf = hiddenField(page.body, 'csrf');
    const setup = await request(a, jar, 'POST', '/account/security/totp/begin', { csrf });
    const secret = base32Decode(/<code id="totp-secret">([^<]+)<\/code>/.exec(setup.body)?.[1] ?? '')!;
    expect((await request(a, jar, 'POST', '/account/security/totp', { csrf, code: totp(secret, a.clock.now) })).statusCode).toBe(200);

    a.clock.now += 30_000;
    b.clock.now = a.clock.now;
    const code = totp(secret, a.clock.now);
    const onA = await login(a, 'alice', PASSWORD);
    expect(onA.res.headers.location).toBe('/login/mfa');
    const pageA = await request(a, onA.jar, 'GET', '/login/mfa');
    expect((await request(a, onA.jar, 'POST', '/login/mfa/totp', { csrf: hiddenField(pageA.body, 'csrf'), code })).statusCode).toBe(303);

    const onB = await login(b, 'alice', PASSWORD);
    expect(onB.res.headers.location).toBe('/login/mfa');
    const pageB = await request(b, onB.jar, 'GET', '/login/mfa');
    const replay = await request(b, onB.jar, 'POST', '/login/mfa/totp', { csrf: hiddenField(pageB.body, 'csrf'), code });
    expect(replay.statusCode).toBe(401);
    expect(b.logs.filter((l) => l['audit'] === 'mfa.failed')).toMatchObject([{ reason: 'replayed-code', user: 'alice' }]);
  });
});
