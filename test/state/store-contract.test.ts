import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/state/memory.js';
import { createRedisStore } from '../../src/state/redis.js';
import { StoreUnavailableError, type StateStore } from '../../src/state/store.js';
import { httpStatusFor } from '../../src/errors.js';
import { REDIS_MISSING, startRedis, type RedisServer } from '../helpers/redis-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One contract, run against every store: callers must not be able to tell them apart. */
function contract(name: string, make: () => Promise<StateStore>) {
  describe(`${name} store contract`, () => {
    let store: StateStore;
    // A fresh namespace per test so the suites never see each other's keys.
    let ns = '';
    beforeAll(async () => {
      store = await make();
    });
    afterAll(() => store.close());
    const k = (s: string) => `${ns}${s}`;
    const fresh = () => {
      ns = `t${randomBytes(4).toString('hex')}:`;
    };

    it('get/set/del with expiry', async () => {
      fresh();
      expect(await store.get(k('a'))).toBeUndefined();
      await store.set(k('a'), 'one', 60_000);
      expect(await store.get(k('a'))).toBe('one');
      await store.set(k('a'), 'two', 60_000);
      expect(await store.get(k('a'))).toBe('two');
      await store.del(k('a'));
      expect(await store.get(k('a'))).toBeUndefined();
      await store.set(k('short'), 'x', 50);
      await sleep(120);
      expect(await store.get(k('short'))).toBeUndefined();
    });

    it('add sets only once (replay caches, one-time codes)', async () => {
      fresh();
      expect(await store.add(k('id'), '1', 60_000)).toBe(true);
      expect(await store.add(k('id'), '2', 60_000)).toBe(false);
      expect(await store.get(k('id'))).toBe('1');
      const racing = await Promise.all(Array.from({ length: 10 }, (_, i) => store.add(k('race'), String(i), 60_000)));
      expect(racing.filter(Boolean)).toHaveLength(1);
    });

    it('take reads and deletes in one step', async () => {
      fresh();
      await store.set(k('code'), 'v', 60_000);
      const both = await Promise.all([store.take(k('code')), store.take(k('code'))]);
      expect(both.filter((v) => v === 'v')).toHaveLength(1);
      expect(await store.get(k('code'))).toBeUndefined();
      expect(await store.take(k('none'))).toBeUndefined();
    });

    it('incr counts atomically; the window starts at the first increment', async () => {
      fresh();
      const counts = await Promise.all(Array.from({ length: 20 }, () => store.incr(k('n'), 60_000)));
      expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const ttl = await store.ttl(k('n'));
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      await store.incr(k('w'), 150);
      await sleep(80);
      await store.incr(k('w'), 150); // does not extend the window
      await sleep(120);
      expect(await store.get(k('w'))).toBeUndefined();
      expect(await store.incr(k('w'), 150)).toBe(1);
    });

    it('ttl is undefined for a missing key', async () => {
      fresh();
      expect(await store.ttl(k('missing'))).toBeUndefined();
      await store.set(k('t'), 'x', 10_000);
      expect(await store.ttl(k('t'))).toBeGreaterThan(9_000);
    });

    it('sets: sadd/srem/smembers, living from the last add', async () => {
      fresh();
      expect(await store.smembers(k('s'))).toEqual([]);
      await store.sadd(k('s'), 'a', 60_000);
      await store.sadd(k('s'), 'b', 60_000);
      await store.sadd(k('s'), 'a', 60_000);
      expect((await store.smembers(k('s'))).sort()).toEqual(['a', 'b']);
      await store.srem(k('s'), 'a');
      expect(await store.smembers(k('s'))).toEqual(['b']);
      await store.srem(k('nothing'), 'a');
    });

    it('mget reads several keys at once, undefined for the missing ones', async () => {
      fresh();
      await store.set(k('x'), '1', 60_000);
      await store.set(k('z'), '3', 60_000);
      expect(await store.mget([k('x'), k('y'), k('z')])).toEqual(['1', undefined, '3']);
      expect(await store.mget([])).toEqual([]);
    });

    it('scan lists live keys by prefix, without the store prefix', async () => {
      fresh();
      await store.set(k('p:1'), '1', 60_000);
      await store.set(k('p:2'), '2', 60_000);
      await store.set(k('q:1'), '3', 60_000);
      await store.set(k('p:gone'), '4', 30);
      await sleep(80);
      expect((await store.scan(k('p:'))).sort()).toEqual([k('p:1'), k('p:2')]);
    });

    it('is ready', async () => {
      expect(await store.ready()).toEqual({ ok: true });
    });
  });
}

contract('memory', async () => createMemoryStore());

describe.skipIf(REDIS_MISSING !== undefined)('redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  // Unset when beforeAll failed: that failure is the one to report.
  afterAll(() => (redis as RedisServer | undefined)?.close());

  contract('redis', async () => {
    const store = createRedisStore({ url: redis.url, keyPrefix: 'contract:' });
    for (let i = 0; i < 100 && !(await store.ready()).ok; i++) await sleep(20);
    return store;
  });

  it('keeps its keys under the configured prefix', async () => {
    const a = createRedisStore({ url: redis.url, keyPrefix: 'a:' });
    const b = createRedisStore({ url: redis.url, keyPrefix: 'b:' });
    try {
      for (let i = 0; i < 100 && !((await a.ready()).ok && (await b.ready()).ok); i++) await sleep(20);
      await a.set('k', 'from-a', 60_000);
      expect(await b.get('k')).toBeUndefined();
      expect(await a.get('k')).toBe('from-a');
      expect(await b.scan('')).not.toContain('k');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('fails fast and closed while the server is down, and recovers by itself', async () => {
    const store = createRedisStore({ url: redis.url, keyPrefix: 'down:' });
    try {
      for (let i = 0; i < 100 && !(await store.ready()).ok; i++) await sleep(20);
      await store.set('k', 'v', 60_000);
      await redis.stop();
      const started = Date.now();
      const err = await store.get('k').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(httpStatusFor(err)).toBe(503);
      expect(Date.now() - started).toBeLessThan(1500);
      expect((await store.ready()).ok).toBe(false);
      await expect(store.incr('n', 1000)).rejects.toBeInstanceOf(StoreUnavailableError);
      await redis.start();
      let ready = false;
      for (let i = 0; i < 200 && !ready; i++) {
        ready = (await store.ready()).ok;
        if (!ready) await sleep(25);
      }
      expect(ready).toBe(true);
      // Nothing is persisted by the test server: the old key is gone, and writes work again.
      await store.set('k2', 'v2', 60_000);
      expect(await store.get('k2')).toBe('v2');
    } finally {
      await store.close();
    }
  });
});
