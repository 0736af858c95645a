import { rm } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { KeyMaterial } from '../../src/keys/store.js';
import { createLocalSource } from '../../src/identity/local.js';
import { configuredKinds, fromList } from '../../src/identity/sources.js';
import type { IdentitySource } from '../../src/identity/source.js';
import { buildServer } from '../../src/server.js';
import { createLogger } from '../../src/logger.js';
import {
  PASSWORD,
  USERNAME,
  baseConfig,
  captureLogs,
  fixtureKeys,
  localFiles,
  tempDir,
  writeFixtureUsers,
  type FixtureUser,
} from './fixture.js';
import type { StateStore } from '../../src/state/store.js';
import { createMemoryStore } from '../../src/state/memory.js';

// The in-process gateway most tests drive with app.inject, plus a cookie jar and the
// login form. The deployment itself (config, users, keys, fast scrypt) is in fixture.ts.

export { ACCOUNT, FAST_SCRYPT, baseConfig, type FixtureUser } from './fixture.js';

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

export async function startGateway(
  opts: {
    config?: Record<string, unknown>;
    users?: Record<string, FixtureUser>;
    keysDir?: string;
    /** Sources beside the local directory (header, upstream IdPs) built by the test. */
    extraSources?: IdentitySource[];
    /** Shared state; default: a memory store on the gateway's clock. Pass one store to two gateways for "replicas". */
    store?: StateStore;
    /** How often the local source polls the users file (default 2 s, as in production). */
    watchIntervalMs?: number;
  } = {},
): Promise<TestGateway> {
  const dir = await tempDir('pai-sso-test-');
  const raw = opts.config ?? baseConfig();
  const files = localFiles(dir);
  const withPaths = {
    ...raw,
    keys: { dir: opts.keysDir ?? files.keys.dir },
    identity: { source: 'local', ...(raw['identity'] as object | undefined), local: files.identity.local },
    log: { level: 'info' },
  };
  const config = parseConfig(stringify(withPaths), 'test');
  const keys = await fixtureKeys(config.keys.dir);
  await writeFixtureUsers(config.identity.local.usersFile, opts.users ?? { [USERNAME]: { password: PASSWORD, groups: ['ml'] } });
  // The local directory joins only when the config selects it, as in production.
  const local = configuredKinds(config).includes('local')
    ? [
        await createLocalSource({
          usersFile: config.identity.local.usersFile,
          ...(opts.watchIntervalMs ? { watchIntervalMs: opts.watchIntervalMs } : {}),
        }),
      ]
    : [];
  const sources = fromList([...local, ...(opts.extraSources ?? [])]);

  const logs = captureLogs();
  const clock = { now: Date.now() };
  const app = await buildServer({
    config,
    keys,
    sources,
    logger: createLogger('info', logs.sink),
    now: () => clock.now,
    store: opts.store ?? createMemoryStore(() => clock.now),
    adminToken: ADMIN_TOKEN,
  });
  await app.ready();
  return {
    app,
    config,
    keys,
    dir,
    clock,
    get logs() {
      return logs.records();
    },
    logText: () => logs.text(),
    async close() {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The admin token every test gateway accepts (server.adminTokenEnv in production). */
export const ADMIN_TOKEN = 'test-admin-token-4c1f9e2b7a';
/** Headers that make /readyz on the main port show its reasons. */
export const ASADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

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
  return m[1]
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export async function request(
  gw: TestGateway,
  jar: Jar,
  method: 'GET' | 'POST',
  url: string,
  form?: Record<string, string>,
): Promise<LightMyRequestResponse> {
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
export async function login(
  gw: TestGateway,
  username: string,
  password: string,
  returnTo = '/',
): Promise<{ jar: Jar; res: LightMyRequestResponse }> {
  const jar = new Jar();
  const page = await request(gw, jar, 'GET', `/login?returnTo=${encodeURIComponent(returnTo)}`);
  const csrf = hiddenField(page.body, 'csrf');
  const res = await request(gw, jar, 'POST', '/login', { username, password, csrf });
  return { jar, res };
}
