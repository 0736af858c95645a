import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { loadOrCreateKeys, type KeyMaterial } from '../../src/keys/store.js';
import { hashPassword } from '../../src/identity/password.js';
import { writeUsers } from '../../src/identity/users-file.js';
import type { User } from '../../src/identity/user.js';
import { createRoleMapper, type GrantedRole } from '../../src/mapping/roles.js';

// One deployment shape for every implementation, so "equivalent assertion" means the
// same issuer, site, NameID, one role, RoleSessionName and SessionDuration everywhere.

export const USERNAME = 'alice';
export const PASSWORD = 'correct horse battery';
/** The cost test fixtures use (test/helpers/gateway.ts); stored in the hash, so logins stay real scrypt. */
export const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };

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

/** An ephemeral port picked by the kernel; the tiny race before the server binds is acceptable here. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function rawConfig(dir: string, port: number, extra: { workers?: number; logLevel?: string; redisUrl?: string } = {}): Record<string, unknown> {
  return {
    server: {
      baseUrl: `http://127.0.0.1:${port}`,
      host: '127.0.0.1',
      port,
      // The soak sends failed logins from one address; the default 20/min would turn them into 429s.
      loginAttemptsPerMinute: 10000,
      ...(extra.workers !== undefined ? { workers: extra.workers } : {}),
    },
    idp: { entityId: 'https://sso.example.test/saml/metadata', site: 'cn' },
    accounts: { prod: { accountId: '1234567890123456', samlProvider: 'corp-idp', label: 'Production' } },
    roles: { dev: { account: 'prod', roleName: 'pai-developer', label: 'PAI developer', sessionDuration: 3600 } },
    mappings: [{ group: 'ml', roles: ['dev'] }],
    targets: { pai: { url: 'https://pai.console.aliyun.com/?regionId=cn-hangzhou#/workspace/overview', label: 'PAI Hangzhou' } },
    keys: { dir: join(dir, 'certs') },
    identity: { source: 'local', local: { usersFile: join(dir, 'users.yaml') } },
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
export async function createFixture(opts: { workers?: number; port?: number; logLevel?: string; redisUrl?: string } = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'pai-sso-bench-'));
  const port = opts.port ?? (await freePort());
  const raw = rawConfig(dir, port, opts);
  const text = stringify(raw);
  const configPath = join(dir, 'gateway.yaml');
  await writeFile(configPath, text);
  const config = parseConfig(text, configPath);
  const keys = await loadOrCreateKeys({ dir: config.keys.dir, commonName: 'sso.example.test', certValidityDays: 30 });
  await writeUsers(config.identity.local.usersFile, {
    [USERNAME]: { id: `id-${USERNAME}`, displayName: 'Alice', groups: ['ml'], passwordHash: await hashPassword(PASSWORD, FAST_SCRYPT) },
  });
  const user: User = { id: `id-${USERNAME}`, username: USERNAME, displayName: 'Alice', groups: ['ml'], source: 'local' };
  const roles = createRoleMapper(config)(user).roles;
  return { dir, configPath, config, keys, port, user, roles, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
