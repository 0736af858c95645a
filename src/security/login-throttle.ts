import { createHash } from 'node:crypto';
import type { StateStore } from '../state/store.js';
import type { LoginThrottleConfig } from '../config/throttle-schema.js';

/**
 * Failed sign-ins counted per username and per client address in the shared StateStore,
 * so every process and replica sees the same counts and lockouts.
 *
 * Per scope (a normalised username, or a client address), over `windowSeconds` from the
 * first failure:
 *   failures 1..freeFailures           no wait
 *   failure k beyond freeFailures      the next try waits min(baseDelay * 2^(k-1), maxDelay)
 *   failure number lockoutAfter        locked for lockoutSeconds * 2^(lockouts so far),
 *                                      at most maxLockoutSeconds; the count starts over
 * A username's try is counted *before* the password is checked (and forgotten again on
 * success), so a burst of parallel guesses cannot all slip past the check: at most
 * `lockoutAfter` of them reach the directory. Address counts grow on failure only, so an
 * office behind one address is not locked out by its own successful sign-ins.
 * `attemptsPerMinute` additionally caps every POST /login per address (the old per-process
 * @fastify/rate-limit setting, now shared).
 *
 * Store errors (StoreUnavailableError) propagate: the caller refuses, never lets a try through.
 */

export type ThrottleScope = 'username' | 'address' | 'rate';

export interface Blocked {
  readonly scope: ThrottleScope;
  /** Whole seconds until a try is accepted again (Retry-After). */
  readonly retryAfterSeconds: number;
  /** A lockout, as opposed to a backoff wait or the per-minute cap. */
  readonly locked: boolean;
}

/** A lockout that this failure started (for the `login.locked` audit line). */
export interface LockStarted {
  readonly scope: 'username' | 'address';
  readonly seconds: number;
  readonly failures: number;
}

export interface Admitted {
  readonly usernameKey: string | undefined;
  readonly address: string;
  /** This try's number among the username's recent failures (it counts as one until it succeeds). */
  readonly attempt: number;
}

export interface LoginThrottle {
  /** Before a password check: undefined-free verdict, either the try may proceed or it is blocked. */
  admit(username: string, address: string): Promise<{ admitted: Admitted } | { blocked: Blocked }>;
  /** The password was wrong (or the source refused): waits and lockouts follow from the counts. */
  failed(a: Admitted): Promise<LockStarted[]>;
  /** The right password: the username starts over. The address keeps its count. */
  succeeded(a: Admitted): Promise<void>;
  /** Upstream callbacks (OIDC, SAML ACS): per address only. */
  checkAddress(address: string): Promise<Blocked | undefined>;
  /**
   * An upstream callback arriving: counted against `attemptsPerMinute` for the address
   * (apart from POST /login's count) before its body is parsed, then checkAddress.
   */
  admitCallback(address: string): Promise<Blocked | undefined>;
  failedAddress(address: string): Promise<LockStarted[]>;
}

/** NFKC, trimmed, lower-case: "Alice", " alice" and "ａｌｉｃｅ" are one account to the throttle. */
export function normaliseUsername(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase();
}

const hashed = (v: string) => createHash('sha256').update(v, 'utf8').digest('base64url').slice(0, 32);
// IPv4-mapped IPv6 (::ffff:192.0.2.1) is the same client as 192.0.2.1.
const plainAddress = (a: string) => (a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a).toLowerCase();

const PREFIX = 'throttle:';

export function createLoginThrottle(store: StateStore, cfg: LoginThrottleConfig, opts: { attemptsPerMinute: number }): LoginThrottle {
  const windowMs = cfg.windowSeconds * 1000;
  // Lockouts are remembered long enough for the doubling to matter.
  const lockMemoryMs = Math.max(cfg.maxLockoutSeconds, 86400) * 1000;

  const keys = (scope: 'u' | 'a', id: string) => ({
    fails: `${PREFIX}${scope}:fails:${id}`,
    wait: `${PREFIX}${scope}:wait:${id}`,
    lock: `${PREFIX}${scope}:lock:${id}`,
    locks: `${PREFIX}${scope}:locks:${id}`,
  });

  const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

  /** The longer of an active wait and an active lockout, or undefined. */
  const activeBlock = async (scope: 'u' | 'a', id: string): Promise<Blocked | undefined> => {
    const k = keys(scope, id);
    const [lock, wait] = await Promise.all([store.ttl(k.lock), store.ttl(k.wait)]);
    const name = scope === 'u' ? 'username' : 'address';
    if (lock !== undefined && lock >= (wait ?? 0)) return { scope: name, retryAfterSeconds: seconds(lock), locked: true };
    if (wait !== undefined) return { scope: name, retryAfterSeconds: seconds(wait), locked: false };
    return undefined;
  };

  const lock = async (scope: 'u' | 'a', id: string, failures: number): Promise<LockStarted | undefined> => {
    const k = keys(scope, id);
    if ((await store.ttl(k.lock)) !== undefined) return undefined; // a parallel try locked it already
    const n = await store.incr(k.locks, lockMemoryMs);
    const ms = Math.min(cfg.lockoutSeconds * 1000 * 2 ** Math.min(n - 1, 30), cfg.maxLockoutSeconds * 1000);
    await store.set(k.lock, String(failures), ms);
    await store.del(k.fails);
    return { scope: scope === 'u' ? 'username' : 'address', seconds: Math.round(ms / 1000), failures };
  };

  /** After failure number `n` of a scope: nothing, a wait before the next try, or a lockout. */
  const afterFailure = async (scope: 'u' | 'a', id: string, n: number): Promise<LockStarted | undefined> => {
    const limits = scope === 'u' ? cfg.username : cfg.address;
    if (n >= limits.lockoutAfter) return lock(scope, id, n);
    const beyond = n - limits.freeFailures;
    if (beyond > 0) {
      const ms = Math.min(cfg.baseDelaySeconds * 1000 * 2 ** Math.min(beyond - 1, 30), cfg.maxDelaySeconds * 1000);
      await store.set(keys(scope, id).wait, String(n), ms);
    }
    return undefined;
  };

  const addressFailed = async (address: string): Promise<LockStarted[]> => {
    const id = plainAddress(address);
    const n = await store.incr(keys('a', id).fails, windowMs);
    const started = await afterFailure('a', id, n);
    return started ? [started] : [];
  };

  return {
    async admit(username, address) {
      const addr = plainAddress(address);
      const rateKey = `${PREFIX}rate:${addr}`;
      const tries = await store.incr(rateKey, 60_000);
      if (tries > opts.attemptsPerMinute) {
        return { blocked: { scope: 'rate', retryAfterSeconds: seconds((await store.ttl(rateKey)) ?? 60_000), locked: false } };
      }
      const normalised = normaliseUsername(username);
      const usernameKey = normalised === '' ? undefined : hashed(normalised);
      const [byName, byAddress] = await Promise.all([
        usernameKey === undefined ? undefined : activeBlock('u', usernameKey),
        activeBlock('a', addr),
      ]);
      const blocked = [byName, byAddress]
        .filter((b): b is Blocked => b !== undefined)
        .sort((x, y) => y.retryAfterSeconds - x.retryAfterSeconds)[0];
      if (blocked) return { blocked };
      if (usernameKey === undefined) return { admitted: { usernameKey, address: addr, attempt: 0 } };
      // Counted now, before the password check: parallel tries each get their own number.
      const attempt = await store.incr(keys('u', usernameKey).fails, windowMs);
      if (attempt > cfg.username.lockoutAfter) {
        await lock('u', usernameKey, attempt);
        const now = await activeBlock('u', usernameKey);
        return { blocked: now ?? { scope: 'username', retryAfterSeconds: cfg.lockoutSeconds, locked: true } };
      }
      return { admitted: { usernameKey, address: addr, attempt } };
    },
    async failed(a) {
      const started: LockStarted[] = [];
      if (a.usernameKey !== undefined) {
        const s = await afterFailure('u', a.usernameKey, a.attempt);
        if (s) started.push(s);
      }
      started.push(...(await addressFailed(a.address)));
      return started;
    },
    async succeeded(a) {
      if (a.usernameKey === undefined) return;
      const k = keys('u', a.usernameKey);
      await Promise.all([store.del(k.fails), store.del(k.wait), store.del(k.locks)]);
    },
    checkAddress: (address) => activeBlock('a', plainAddress(address)),
    async admitCallback(address) {
      const addr = plainAddress(address);
      const rateKey = `${PREFIX}cbrate:${addr}`;
      if ((await store.incr(rateKey, 60_000)) > opts.attemptsPerMinute) {
        return { scope: 'rate', retryAfterSeconds: seconds((await store.ttl(rateKey)) ?? 60_000), locked: false };
      }
      return activeBlock('a', addr);
    },
    failedAddress: addressFailed,
  };
}
