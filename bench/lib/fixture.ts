import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { KeyMaterial } from '../../src/keys/store.js';
import type { User } from '../../src/identity/user.js';
import { createRoleMapper, type GrantedRole } from '../../src/mapping/roles.js';
import {
  PASSWORD,
  USERNAME,
  fixtureKeys,
  freePort,
  localFiles,
  minimalConfig,
  tempDir,
  writeFixtureUsers,
} from '../../test/helpers/fixture.js';

// One deployment shape for every implementation, so "equivalent assertion" means the
// same issuer, site, NameID, one role, RoleSessionName and SessionDuration everywhere.
// The deployment, users, keys and scrypt cost are the tests' (test/helpers/fixture.ts).

export { PASSWORD, USERNAME } from '../../test/helpers/fixture.js';

export interface Fixture {
  readonly dir: string;
  readonly configPath: string;
  readonly config: Config;
  readonly keys: KeyMaterial;
  readonly port: number;
  readonly user: User;
  readonly roles: readonly GrantedRole[];
  cleanup(): Promise<void>;
}

export function rawConfig(
  dir: string,
  port: number,
  extra: { workers?: number; logLevel?: string; redisUrl?: string } = {},
): Record<string, unknown> {
  return {
    ...minimalConfig(),
    server: {
      baseUrl: `http://127.0.0.1:${port}`,
      host: '127.0.0.1',
      port,
      // The soak sends failed logins from one address; the default 20/min would turn them into 429s.
      loginAttemptsPerMinute: 10000,
      ...(extra.workers !== undefined ? { workers: extra.workers } : {}),
    },
    ...localFiles(dir),
    // info is the shipped default: per-request and audit lines are part of the real cost.
    log: { level: extra.logLevel ?? 'info' },
    // Several workers need a shared store (the memory store is refused with workers > 1).
    ...(extra.redisUrl !== undefined ? { state: { store: 'redis', redis: { url: extra.redisUrl, keyPrefix: 'pai-sso-bench:' } } } : {}),
  };
}

/** Whether src/config/schema.ts knows `server.workers` yet (cluster mode is being built concurrently). */
export function supportsWorkers(): boolean {
  try {
    parseConfig(stringify(rawConfig('/tmp', 1, { workers: 2, redisUrl: 'redis://127.0.0.1:6379' })), 'probe');
    return true;
  } catch {
    return false;
  }
}

/** Temp dir with keys already created, a users file and a config file the real CLI can load. */
export async function createFixture(
  opts: { workers?: number; port?: number; logLevel?: string; redisUrl?: string } = {},
): Promise<Fixture> {
  const dir = await tempDir('pai-sso-bench-');
  const port = opts.port ?? (await freePort());
  const raw = rawConfig(dir, port, opts);
  const text = stringify(raw);
  const configPath = join(dir, 'gateway.yaml');
  await writeFile(configPath, text);
  const config = parseConfig(text, configPath);
  const keys = await fixtureKeys(config.keys.dir);
  await writeFixtureUsers(config.identity.local.usersFile, { [USERNAME]: { password: PASSWORD, displayName: 'Alice', groups: ['ml'] } });
  const user: User = { id: `id-${USERNAME}`, username: USERNAME, displayName: 'Alice', groups: ['ml'], source: 'local' };
  const roles = createRoleMapper(config)(user).roles;
  return { dir, configPath, config, keys, port, user, roles, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
