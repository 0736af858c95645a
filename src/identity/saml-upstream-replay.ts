import { createHash } from 'node:crypto';
import type { StateStore } from '../state/store.js';

/**
 * Assertion IDs already used, each kept until the assertion itself would expire:
 * after that the time checks refuse it anyway, so remembering longer buys nothing.
 *
 * The gateway uses the StateStore one (below): every process and replica sharing the
 * store refuses a response another one accepted. The per-process cache is kept for
 * embedding and its tests.
 */
export interface SharedReplayCache {
  /** True the first time any process sharing the store sees the ID; false on a replay. Throws when the store is down. */
  firstUse(id: string, expiresAt: number): Promise<boolean>;
}

/** One atomic `add` per accepted assertion, living until the assertion expires. */
export function createStoreReplayCache(store: StateStore, now: () => number = Date.now): SharedReplayCache {
  return {
    firstUse(id, expiresAt) {
      // Hashed: the ID is the IdP's text, of its choosing length.
      const key = `saml-replay:${createHash('sha256').update(id, 'utf8').digest('base64url')}`;
      return store.add(key, '1', Math.max(1000, expiresAt - now()));
    },
  };
}

/** Per process: a response replayed to another process is not caught here. */
export interface ReplayCache {
  /** True the first time an ID is seen (and remembers it until `expiresAt`); false on a replay. */
  firstUse(id: string, expiresAt: number): boolean;
  readonly size: number;
}

export function createReplayCache(maxEntries: number, now: () => number = Date.now): ReplayCache {
  // Insertion order is roughly expiry order (lifetimes are similar), so pruning from the front is cheap.
  const seen = new Map<string, number>();

  const prune = (t: number) => {
    for (const [id, exp] of seen) {
      if (exp > t) break;
      seen.delete(id);
    }
  };

  return {
    firstUse(id, expiresAt) {
      const t = now();
      prune(t);
      const known = seen.get(id);
      if (known !== undefined && known > t) return false;
      if (seen.size >= maxEntries) {
        // Full of live entries: refusing logins would turn a flood into an outage, so the
        // oldest entry goes. Its assertion is the closest to expiring on its own.
        const oldest = seen.keys().next();
        if (!oldest.done) seen.delete(oldest.value);
      }
      seen.set(id, expiresAt);
      return true;
    },
    get size() {
      return seen.size;
    },
  };
}
