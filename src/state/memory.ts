import type { StateStore } from './store.js';

interface Entry {
  value: string | Set<string>;
  expiresAt: number;
}

/** One process's state: the embedded default. Expired entries are dropped on read and by a periodic sweep. */
export function createMemoryStore(now: () => number = Date.now, sweepMs = 60_000): StateStore {
  const map = new Map<string, Entry>();
  const live = (key: string): Entry | undefined => {
    const e = map.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= now()) {
      map.delete(key);
      return undefined;
    }
    return e;
  };
  const str = (key: string): string | undefined => {
    const e = live(key);
    return e && typeof e.value === 'string' ? e.value : undefined;
  };
  const sweep = setInterval(() => {
    const t = now();
    for (const [k, e] of map) if (e.expiresAt <= t) map.delete(k);
  }, sweepMs);
  sweep.unref();

  return {
    kind: 'memory',
    get: async (key) => str(key),
    async set(key, value, ttlMs) {
      map.set(key, { value, expiresAt: now() + ttlMs });
    },
    async add(key, value, ttlMs) {
      if (live(key)) return false;
      map.set(key, { value, expiresAt: now() + ttlMs });
      return true;
    },
    async take(key) {
      const v = str(key);
      map.delete(key);
      return v;
    },
    async del(key) {
      map.delete(key);
    },
    async incr(key, ttlMs) {
      const e = live(key);
      const n = (e && typeof e.value === 'string' ? Number(e.value) : 0) + 1;
      map.set(key, { value: String(n), expiresAt: e ? e.expiresAt : now() + ttlMs });
      return n;
    },
    async ttl(key) {
      const e = live(key);
      return e ? e.expiresAt - now() : undefined;
    },
    async sadd(key, member, ttlMs) {
      const e = live(key);
      const set = e && e.value instanceof Set ? e.value : new Set<string>();
      set.add(member);
      map.set(key, { value: set, expiresAt: now() + ttlMs });
    },
    async srem(key, member) {
      const e = live(key);
      if (e && e.value instanceof Set) e.value.delete(member);
    },
    async smembers(key) {
      const e = live(key);
      return e && e.value instanceof Set ? [...e.value] : [];
    },
    mget: async (keys) => keys.map(str),
    async scan(prefix) {
      return [...map.keys()].filter((k) => k.startsWith(prefix) && live(k) !== undefined);
    },
    ready: async () => ({ ok: true }),
    async close() {
      clearInterval(sweep);
      map.clear();
    },
  };
}
