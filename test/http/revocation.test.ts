import { afterEach, describe, expect, it } from 'vitest';
import { ASADMIN, Jar, login, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { readUsers, writeUsers } from '../../src/identity/users-file.js';
import { createMemoryStore } from '../../src/state/memory.js';
import { createSessionRecords } from '../../src/state/sessions.js';
import { StoreUnavailableError, type StateStore } from '../../src/state/store.js';

// The memory store: revocation, directory re-reads and failing closed within one process.
// test/state/replicas.test.ts proves the same across two gateway processes sharing Redis.

const PASSWORD = 'correct horse battery';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

/** A memory store that can be switched off, and counts the operations it was asked for. */
function switchable(inner: StateStore = createMemoryStore()) {
  const state = { down: false, calls: [] as string[] };
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'ready') return async () => (state.down ? { ok: false, reason: 'test: store switched off' } : { ok: true });
      if (prop === 'close') return value.bind(target);
      return async (...args: unknown[]) => {
        state.calls.push(String(prop));
        if (state.down) throw new StoreUnavailableError('test: store switched off');
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, state };
}

const openPai = (g: TestGateway, jar: Jar) => request(g, jar, 'GET', '/sso/pai?target=pai');
const copy = (jar: Jar) => {
  const c = new Jar();
  const v = jar.get('pai_sso');
  if (v) c.set('pai_sso', v);
  return c;
};
const csrfOf = (body: string) => /name="csrf" value="([^"]+)"/.exec(body)?.[1] ?? '';

describe('session records (memory store)', () => {
  it('POST /logout revokes: a saved copy of the cookie gets no assertion afterwards', async () => {
    gw = await startGateway();
    const { jar } = await login(gw, 'alice', PASSWORD);
    const saved = copy(jar);
    const landing = await request(gw, jar, 'GET', '/');
    expect((await openPai(gw, saved)).statusCode).toBe(200);
    const out = await request(gw, jar, 'POST', '/logout', { csrf: csrfOf(landing.body) });
    expect(out.statusCode).toBe(303);
    const replay = await openPai(gw, saved);
    expect(replay.statusCode).toBe(302);
    expect(replay.headers.location).toMatch(/^\/login/);
    expect(replay.body).not.toContain('SAMLResponse');
    expect(gw.logs.some((l) => l['audit'] === 'logout' && l['user'] === 'alice')).toBe(true);
  });

  it('a removed local user loses the session on the next request; a group change applies at once', async () => {
    gw = await startGateway({
      users: { alice: { password: PASSWORD, groups: ['ml'] }, bob: { password: PASSWORD, groups: ['ml'] } },
      watchIntervalMs: 50,
    });
    const file = gw.config.identity.local.usersFile;
    const alice = (await login(gw, 'alice', PASSWORD)).jar;
    const bob = (await login(gw, 'bob', PASSWORD)).jar;
    expect((await openPai(gw, alice)).statusCode).toBe(200);

    const users = (await readUsers(file)) ?? {};
    delete users['alice'];
    // bob keeps his account but leaves every mapped group.
    if (users['bob']) users['bob'].groups = ['marketing'];
    await writeUsers(file, users);
    await sleep(400);

    const a = await openPai(gw, alice);
    expect(a.statusCode).toBe(302);
    expect(a.body).not.toContain('SAMLResponse');
    const b = await openPai(gw, bob);
    expect(b.statusCode).toBe(403);
    expect(b.body).not.toContain('SAMLResponse');
  });

  it('admin revocation by user, by sid and of everything', async () => {
    const { store } = switchable();
    gw = await startGateway({
      store,
      users: { alice: { password: PASSWORD, groups: ['ml'] }, bob: { password: PASSWORD, groups: ['ml'] } },
    });
    const g = gw;
    const records = createSessionRecords(store, { absoluteTimeoutMs: 8 * 3600_000, now: () => g.clock.now });
    const a1 = (await login(g, 'alice', PASSWORD)).jar;
    const a2 = (await login(g, 'alice', PASSWORD)).jar;
    const b1 = (await login(g, 'bob', PASSWORD)).jar;
    const b2 = (await login(g, 'bob', PASSWORD)).jar;
    expect((await records.list()).map((r) => r.username).sort()).toEqual(['alice', 'alice', 'bob', 'bob']);
    expect(await records.list('alice')).toHaveLength(2);

    g.clock.now += 1;
    expect(await records.revokeUser('alice')).toHaveLength(2);
    expect((await openPai(g, a1)).statusCode).toBe(302);
    expect((await openPai(g, a2)).statusCode).toBe(302);
    expect((await openPai(g, b1)).statusCode).toBe(200);

    const [bobFirst] = await records.list('bob');
    expect(await records.revoke(bobFirst?.sid ?? '')).toMatchObject({ username: 'bob', revoked: true });
    const answers = [(await openPai(g, b1)).statusCode, (await openPai(g, b2)).statusCode].sort();
    expect(answers).toEqual([200, 302]);

    g.clock.now += 1;
    await records.revokeAll();
    expect((await openPai(g, b1)).statusCode).toBe(302);
    expect((await openPai(g, b2)).statusCode).toBe(302);
    expect((await records.list()).every((r) => r.revoked)).toBe(true);

    // A new login after the revocation works.
    g.clock.now += 1;
    expect((await openPai(g, (await login(g, 'bob', PASSWORD)).jar)).statusCode).toBe(200);
  });

  it('GET /sso/pai with a session costs exactly one store round trip', async () => {
    const { store, state } = switchable();
    gw = await startGateway({ store });
    const { jar } = await login(gw, 'alice', PASSWORD);
    state.calls.length = 0;
    expect((await openPai(gw, jar)).statusCode).toBe(200);
    expect(state.calls).toEqual(['mget']);
    state.calls.length = 0;
    await gw.app.inject('/readyz');
    await gw.app.inject('/healthz');
    expect(state.calls).toEqual([]);
  });

  it('fails closed while the store is down (503, not ready), and recovers by itself', async () => {
    const { store, state } = switchable();
    gw = await startGateway({ store });
    const { jar } = await login(gw, 'alice', PASSWORD);
    state.down = true;

    const pai = await openPai(gw, jar);
    expect(pai.statusCode).toBe(503);
    expect(pai.body).not.toContain('SAMLResponse');
    expect(pai.body).toContain('Temporarily unavailable');
    expect((await request(gw, jar, 'GET', '/')).statusCode).toBe(503);
    const ready = await gw.app.inject({ url: '/readyz', headers: ASADMIN });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'not ready', checks: { state: { ok: false, reason: 'test: store switched off' } } });
    expect((await gw.app.inject('/healthz')).statusCode).toBe(200);
    // A new login cannot start a session it could not record.
    const fresh = new Jar();
    const page = await request(gw, fresh, 'GET', '/login');
    const post = await request(gw, fresh, 'POST', '/login', { username: 'alice', password: PASSWORD, csrf: csrfOf(page.body) });
    expect(post.statusCode).toBe(503);
    expect(fresh.get('pai_sso')).toBeUndefined();

    state.down = false;
    expect((await gw.app.inject('/readyz')).statusCode).toBe(200);
    expect((await openPai(gw, jar)).statusCode).toBe(200);
  });
});
