/**
 * Assertion IDs already used, each kept until the assertion itself would expire:
 * after that the time checks refuse it anyway, so remembering longer buys nothing.
 *
 * Per process. With several replicas (or server.workers > 1) a response replayed
 * to another process is not caught here; InResponseTo bound to the browser's sealed
 * state cookie, which is cleared on first use, is what narrows that window.
 */
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
