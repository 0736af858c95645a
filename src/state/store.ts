import { PaiSsoError } from '../errors.js';

// The state every replica must agree on (session records, revocations, throttle counters
// and lockouts, replay caches, one-time codes) goes through this one small interface, so
// the same checks hold whether the gateway runs as one process (memory) or as replicas
// sharing Redis/Valkey. The operations are the few that Redis makes atomic; callers build
// meaning (a session record, a lockout) on top in their own modules.

export interface StoreStatus {
  readonly ok: boolean;
  readonly reason?: string;
}

export interface StateStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | undefined>;
  /** Sets key to value for ttlMs (replacing what was there). */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets key only when it does not exist; true when this call set it (replay caches, one-time use). */
  add(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Reads and deletes in one step; a second take of the same key sees nothing. */
  take(key: string): Promise<string | undefined>;
  del(key: string): Promise<void>;
  /** Adds 1 and returns the new count; a new counter lives ttlMs from its first increment. */
  incr(key: string, ttlMs: number): Promise<number>;
  /** Milliseconds until key expires, or undefined when it does not exist. */
  ttl(key: string): Promise<number | undefined>;
  /** Set members (indexes such as user -> session ids); the set lives ttlMs from its last add. */
  sadd(key: string, member: string, ttlMs: number): Promise<void>;
  srem(key: string, member: string): Promise<void>;
  smembers(key: string): Promise<string[]>;
  /** Several string values in one round trip (the session check reads its record and revocation marks at once). */
  mget(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** Keys starting with prefix (without the store's own key prefix); for admin commands, not request paths. */
  scan(prefix: string): Promise<string[]>;
  /** Whether the store answers right now; /readyz and the fail-closed guard use it. */
  ready(): Promise<StoreStatus>;
  close(): Promise<void>;
}

/** The store could not be reached: every caller refuses (503), never grants. */
export class StoreUnavailableError extends PaiSsoError {
  constructor(reason: string, options?: ErrorOptions) {
    super('PAI_SSO_STATE_UNAVAILABLE', 'unavailable', `state store unavailable: ${reason}`, options);
  }
}
