import type { StateConfig } from '../config/schema.js';
import { ConfigError } from '../config/errors.js';
import { createMemoryStore } from './memory.js';
import type { StateStore } from './store.js';

export interface StoreHooks {
  readonly env: NodeJS.ProcessEnv;
  readonly onError?: (err: Error) => void;
  readonly onReady?: () => void;
}

/** The store `state.store` names. Redis is imported only when configured (ioredis is ~100 ms of cold start). */
export async function createStore(state: StateConfig, hooks: StoreHooks, source = 'config'): Promise<StateStore> {
  if (state.store === 'memory') return createMemoryStore();
  const redis = state.redis;
  if (!redis) throw new ConfigError(source, [{ path: 'state.redis.url', reason: 'is required when state.store is "redis"' }]);
  let password: string | undefined;
  if (redis.passwordEnv !== undefined) {
    password = hooks.env[redis.passwordEnv];
    if (!password)
      throw new ConfigError(source, [{ path: 'state.redis.passwordEnv', reason: `environment variable ${redis.passwordEnv} is not set` }]);
  }
  const { createRedisStore } = await import('./redis.js');
  return createRedisStore({
    url: redis.url,
    keyPrefix: redis.keyPrefix,
    password,
    caFile: redis.tls?.caFile,
    tls: redis.tls !== undefined,
    connectTimeoutMs: redis.connectTimeoutMs,
    commandTimeoutMs: redis.commandTimeoutMs,
    ...(hooks.onError ? { onError: hooks.onError } : {}),
    ...(hooks.onReady ? { onReady: hooks.onReady } : {}),
  });
}
