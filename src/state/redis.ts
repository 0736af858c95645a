import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import { StoreUnavailableError, type StateStore, type StoreStatus } from './store.js';

// Client: ioredis 5. It speaks RESP2 to Redis 6.2+/7 and Valkey 7/8 alike, supports rediss://
// with a custom CA, AUTH (ACL user + password), key prefixing, MULTI and pipelining, reconnects
// by itself, and can refuse commands while disconnected (enableOfflineQueue: false), which
// is what failing closed needs. It is pure JavaScript: @valkey/valkey-glide ships a native
// Rust core per platform, a bigger install and bundle for the handful of commands we use.

export interface RedisStoreOptions {
  /** redis://[user:]@host:port/db or rediss:// for TLS. A password in the URL is refused by config validation. */
  readonly url: string;
  readonly keyPrefix: string;
  /** AUTH password (from the environment variable the config names; never from YAML). */
  readonly password?: string | undefined;
  /** PEM CA bundle for rediss:// (a private CA); Node's default CAs otherwise. */
  readonly caFile?: string | undefined;
  readonly tls?: boolean;
  readonly connectTimeoutMs?: number;
  readonly commandTimeoutMs?: number;
  /** Connection errors, at most one per state change; the store keeps reconnecting. */
  readonly onError?: (err: Error) => void;
  readonly onReady?: () => void;
}

/** `*`, `?`, `[`, `]` and `\` are glob characters in SCAN MATCH. */
const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');

export function redisOptions(opts: RedisStoreOptions): RedisOptions {
  const tls = opts.tls || opts.url.startsWith('rediss://') || opts.caFile !== undefined;
  return {
    keyPrefix: opts.keyPrefix,
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    ...(tls ? { tls: opts.caFile ? { ca: readFileSync(opts.caFile) } : {} } : {}),
    // Fail fast: a command while disconnected is refused at once, not queued until the
    // store comes back (a login would hang, then pass checks against a stale moment).
    enableOfflineQueue: false,
    connectTimeout: opts.connectTimeoutMs ?? 2000,
    commandTimeout: opts.commandTimeoutMs ?? 1000,
    maxRetriesPerRequest: 0,
    // Reconnect forever, backing off to 2 s; the gateway answers 503 meanwhile.
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
    // A command sent before the first connection completes is refused like any other.
    lazyConnect: false,
  };
}

export function createRedisStore(opts: RedisStoreOptions): StateStore {
  const client = new Redis(opts.url, redisOptions(opts));
  let lastError: string | undefined;
  // Without a listener, ioredis prints every reconnect failure to stderr.
  client.on('error', (err: Error) => {
    const message = err.message || (err as NodeJS.ErrnoException).code || 'connection error';
    if (lastError === undefined) opts.onError?.(err);
    lastError = message;
  });
  let wasReady = false;
  client.on('ready', () => {
    if (lastError !== undefined) opts.onReady?.();
    lastError = undefined;
    wasReady = true;
  });
  // A lost connection may come back before any attempt fails: say so once either way.
  client.on('close', () => {
    if (!wasReady) return;
    wasReady = false;
    lastError = 'connection closed';
    opts.onError?.(new Error('connection closed'));
  });

  const guard = async <T>(op: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw new StoreUnavailableError(`redis ${op}: ${(err as Error).message}`, { cause: err });
    }
  };
  /** MULTI replies are [error, value] pairs; an error inside fails the whole operation. */
  const exec = async (m: ReturnType<Redis['multi']>): Promise<unknown[]> => {
    const replies = await m.exec();
    if (!replies) throw new Error('transaction aborted');
    return replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  };
  const ms = (ttlMs: number) => Math.max(1, Math.ceil(ttlMs));

  return {
    kind: 'redis',
    get: (key) => guard('get', async () => (await client.get(key)) ?? undefined),
    set: (key, value, ttlMs) =>
      guard('set', async () => {
        await client.set(key, value, 'PX', ms(ttlMs));
      }),
    add: (key, value, ttlMs) => guard('add', async () => (await client.set(key, value, 'PX', ms(ttlMs), 'NX')) === 'OK'),
    // GETDEL: Redis 6.2+, Valkey.
    take: (key) => guard('take', async () => (await client.getdel(key)) ?? undefined),
    del: (key) =>
      guard('del', async () => {
        await client.del(key);
      }),
    incr: (key, ttlMs) =>
      guard('incr', async () => {
        // PEXPIRE NX (Redis 7+, Valkey): the window starts at the first increment and later ones don't extend it.
        const [n] = await exec(client.multi().incr(key).pexpire(key, ms(ttlMs), 'NX'));
        return Number(n);
      }),
    ttl: (key) =>
      guard('ttl', async () => {
        const t = await client.pttl(key);
        return t === -2 ? undefined : t === -1 ? Number.POSITIVE_INFINITY : t;
      }),
    sadd: (key, member, ttlMs) =>
      guard('sadd', async () => {
        await exec(client.multi().sadd(key, member).pexpire(key, ms(ttlMs)));
      }),
    srem: (key, member) =>
      guard('srem', async () => {
        await client.srem(key, member);
      }),
    smembers: (key) => guard('smembers', () => client.smembers(key)),
    mget: (keys) => guard('mget', async () => (keys.length ? await client.mget(...keys) : []).map((v) => v ?? undefined)),
    scan: (prefix) =>
      guard('scan', async () => {
        const out = new Set<string>();
        let cursor = '0';
        do {
          // SCAN's MATCH sees full key names: ioredis prefixes command keys, not patterns.
          const [next, keys] = await client.scan(cursor, 'MATCH', `${globEscape(opts.keyPrefix + prefix)}*`, 'COUNT', 500);
          for (const k of keys) out.add(k.slice(opts.keyPrefix.length));
          cursor = next;
        } while (cursor !== '0');
        return [...out];
      }),
    async ready(): Promise<StoreStatus> {
      if (client.status !== 'ready') return { ok: false, reason: `redis ${client.status}${lastError ? `: ${lastError}` : ''}` };
      try {
        await client.ping();
        return { ok: true };
      } catch (err) {
        return { ok: false, reason: `redis: ${(err as Error).message}` };
      }
    },
    async close() {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}
