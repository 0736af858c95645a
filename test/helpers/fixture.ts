import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadOrCreateKeys, type KeyMaterial } from '../../src/keys/store.js';
import { hashPassword } from '../../src/identity/password.js';
import { writeUsers, type UsersDocument } from '../../src/identity/users-file.js';

// The deployment every fixture starts from: the tests' in-process gateway (gateway.ts),
// the browser tests' listening gateway (test/e2e/gateway.ts) and the benchmark's config
// file (bench/lib/fixture.ts). Server modules stay out of this file: the benchmark's
// in-process rows import it, and their peak RSS is one of the numbers it reports.

/** Cheap scrypt for fixtures: the cost parameter is stored in the hash, so logins stay real. */
export const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };

export const ACCOUNT = '1234567890123456';
export const ENTITY_ID = 'https://sso.example.test/saml/metadata';
/** The commonName of fixture signing certificates. */
export const KEYS_CN = 'sso.example.test';

/** The user a fixture signs in with unless it says otherwise (in group `ml`, so granted `dev`). */
export const USERNAME = 'alice';
export const PASSWORD = 'correct horse battery';

/**
 * The smallest deployment: one account, one role (`dev`), one group mapping, one target.
 * Fresh objects on every call, so a test may change what it gets.
 */
export function minimalConfig(): Record<string, unknown> {
  return {
    server: { baseUrl: 'http://localhost:8080' },
    idp: { entityId: ENTITY_ID, site: 'cn' },
    accounts: { prod: { accountId: ACCOUNT, samlProvider: 'corp-idp', label: 'Production' } },
    roles: { dev: { account: 'prod', roleName: 'pai-developer', label: 'PAI developer', sessionDuration: 3600 } },
    mappings: [{ group: 'ml', roles: ['dev'] }],
    targets: { pai: { url: 'https://pai.console.aliyun.com/?regionId=cn-hangzhou#/workspace/overview', label: 'PAI Hangzhou' } },
  };
}

/** minimalConfig plus a second role (`admin`, for group `ml-admins`) and a second target (`dsw`). */
export function baseConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const min = minimalConfig();
  return {
    ...min,
    roles: {
      ...(min['roles'] as object),
      admin: { account: 'prod', roleName: 'pai-admin', label: 'PAI admin', sessionDuration: 7200 },
    },
    mappings: [...(min['mappings'] as object[]), { group: 'ml-admins', roles: ['dev', 'admin'] }],
    targets: {
      ...(min['targets'] as object),
      dsw: { url: 'https://pai.console.aliyun.com/?regionId=cn-hangzhou#/dsw', label: 'DSW' },
    },
    ...overrides,
  };
}

/** The config sections that point into a fixture's temp dir: keys in `certs/`, a local users file. */
export function localFiles(dir: string): { keys: { dir: string }; identity: { source: 'local'; local: { usersFile: string } } } {
  return { keys: { dir: join(dir, 'certs') }, identity: { source: 'local', local: { usersFile: join(dir, 'users.yaml') } } };
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
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

export interface FixtureUser {
  readonly password: string;
  readonly groups: readonly string[];
  readonly displayName?: string;
  readonly email?: string;
  readonly id?: string;
}

/** Writes a users file; ids default to `id-<name>`, display names to the username. */
export async function writeFixtureUsers(usersFile: string, users: Readonly<Record<string, FixtureUser>>): Promise<void> {
  const doc: UsersDocument = {};
  for (const [name, u] of Object.entries(users)) {
    doc[name] = {
      id: u.id ?? `id-${name}`,
      displayName: u.displayName ?? name,
      email: u.email,
      groups: [...u.groups],
      passwordHash: await hashPassword(u.password, FAST_SCRYPT),
    };
  }
  await writeUsers(usersFile, doc);
}

/** Creates (or loads) a signing key pair in `dir`. */
export function fixtureKeys(dir: string): Promise<KeyMaterial> {
  return loadOrCreateKeys({ dir, commonName: KEYS_CN, certValidityDays: 30 });
}

export interface LogCapture {
  /** A stream to hand to createLogger. */
  readonly sink: Writable;
  /** Every log line written so far, parsed. */
  records(): Record<string, unknown>[];
  /** The raw log text, for "never appears in any log" checks (a plain function: safe to pass around). */
  readonly text: () => string;
}

export function captureLogs(): LogCapture {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l.trim()),
      );
      cb();
    },
  });
  return {
    sink,
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => lines.join('\n'),
  };
}
