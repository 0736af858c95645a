import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { loadOrCreateKeys, type KeyMaterial } from '../../src/keys/store.js';
import { hashPassword } from '../../src/identity/password.js';
import { writeUsers, type UsersDocument } from '../../src/identity/users-file.js';
import { createLocalSource } from '../../src/identity/local.js';
import { configuredKinds, fromList } from '../../src/identity/sources.js';
import type { IdentitySource } from '../../src/identity/user.js';
import { buildServer } from '../../src/server.js';
import { createLogger } from '../../src/logger.js';
import type { StateStore } from '../../src/state/store.js';

/** Cheap scrypt for fixtures: the cost parameter is stored in the hash, so logins stay real. */
export const FAST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };

export const ACCOUNT = '1234567890123456';

export function baseConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    server: { baseUrl: 'http://localhost:8080' },
    idp: { entityId: 'https://sso.example.test/saml/metadata', site: 'cn' },
    accounts: { prod: { accountId: ACCOUNT, samlProvider: 'corp-idp', label: 'Production' } },
    roles: {
      dev: { account: 'prod', roleName: 'pai-developer', label: 'PAI developer', sessionDuration: 3600 },
      admin: { account: 'prod', roleName: 'pai-admin', label: 'PAI admin', sessionDuration: 7200 },
    },
    mappings: [
      { group: 'ml', roles: ['dev'] },
      { group: 'ml-admins', roles: ['dev', 'admin'] },
    ],
    targets: {
      pai: { url: 'https://pai.console.aliyun.com/?regionId=cn-hangzhou#/workspace/overview', label: 'PAI Hangzhou' },
      dsw: { url: 'https://pai.console.aliyun.com/?regionId=cn-hangzhou#/dsw', label: 'DSW' },
    },
    ...overrides,
  };
}

export interface FixtureUser {
  readonly password: string;
  readonly groups: readonly string[];
  readonly displayName?: string;
  readonly email?: string;
  readonly id?: string;
}

export interface TestGateway {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly keys: KeyMaterial;
  readonly dir: string;
  /** Every log line the server wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Raw log text, for "never appears in any log" checks. */
  logText(): string;
  clock: { now: number };
  close(): Promise<void>;
}

export async function startGateway(opts: {
  config?: Record<string, unknown>;
  users?: Record<string, FixtureUser>;
  keysDir?: string;
  /** Sources beside the local directory (header, upstream IdPs) built by the test. */
  extraSources?: IdentitySource[];
  /** Shared state; default: the server's own memory store. */
  store?: StateStore;
  /** How often the local source polls the users file (default 2 s, as in production). */
  watchIntervalMs?: number;
} = {}): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'pai-sso-test-'));
  const raw = opts.config ?? baseConfig();
  const withPaths = {
    ...raw,
    keys: { dir: opts.keysDir ?? join(dir, 'certs') },
    identity: { source: 'local', ...(raw['identity'] as object | undefined), local: { usersFile: join(dir, 'users.yaml') } },
    log: { level: 'info' },
  };
  const config = parseConfig(stringify(withPaths), 'test');
  const keys = await loadOrCreateKeys({ dir: config.keys.dir, commonName: 'sso.example.test', certValidityDays: 30 });
  const users: UsersDocument = {};
  for (const [name, u] of Object.entries(opts.users ?? { alice: { password: 'correct horse battery', groups: ['ml'] } })) {
    users[name] = {
      id: u.id ?? `id-${name}`,
      displayName: u.displayName ?? name,
      email: u.email,
      groups: [...u.groups],
      passwordHash: await hashPassword(u.password, FAST_SCRYPT),
    };
  }
  await writeUsers(config.identity.local.usersFile, users);
  // The local directory joins only when the config selects it, as in production.
  const local = configuredKinds(config).includes('local') ? [await createLocalSource({ usersFile: config.identity.local.usersFile, ...(opts.watchIntervalMs ? { watchIntervalMs: opts.watchIntervalMs } : {}) })] : [];
  const sources = fromList([...local, ...(opts.extraSources ?? [])]);

  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const clock = { now: Date.now() };
  const app = await buildServer({ config, keys, sources, logger: createLogger('info', sink), now: () => clock.now, ...(opts.store ? { store: opts.store } : {}) });
  await app.ready();
  return {
    app,
    config,
    keys,
    dir,
    clock,
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => lines.join('\n'),
    async close() {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A cookie jar good enough for one host: name -> value, cleared on Max-Age=0/expiry. */
export class Jar {
  private readonly cookies = new Map<string, string>();

  take(res: LightMyRequestResponse): void {
    const header = res.headers['set-cookie'];
    const list = header === undefined ? [] : Array.isArray(header) ? header : [header];
    for (const c of list) {
      const [pair = '', ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  set(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export function hiddenField(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m?.[1]) throw new Error(`no hidden field ${name} in page`);
  return m[1].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export async function request(gw: TestGateway, jar: Jar, method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<LightMyRequestResponse> {
  const res = await gw.app.inject({
    method,
    url,
    headers: {
      cookie: jar.header(),
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    ...(form ? { payload: new URLSearchParams(form).toString() } : {}),
  });
  jar.take(res);
  return res;
}

/** Signs in through the real login form; returns the jar holding the session. */
export async function login(gw: TestGateway, username: string, password: string, returnTo = '/'): Promise<{ jar: Jar; res: LightMyRequestResponse }> {
  const jar = new Jar();
  const page = await request(gw, jar, 'GET', `/login?returnTo=${encodeURIComponent(returnTo)}`);
  const csrf = hiddenField(page.body, 'csrf');
  const res = await request(gw, jar, 'POST', '/login', { username, password, csrf });
  return { jar, res };
}
