import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { Jar, baseConfig, login, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { readUsers, writeUsers } from '../../src/identity/users-file.js';

const PASSWORD = 'correct horse battery';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const audits = (g: TestGateway, event: string) => g.logs.filter((l) => l['audit'] === event);

function config() {
  return baseConfig({ session: { groupsMaxAgeSeconds: 60 } });
}

async function editUsers(g: TestGateway, change: (doc: NonNullable<Awaited<ReturnType<typeof readUsers>>>) => void) {
  const doc = (await readUsers(g.config.identity.local.usersFile)) ?? {};
  change(doc);
  await writeUsers(g.config.identity.local.usersFile, doc);
}

/**
 * The local directory picks up the file within its 2-second poll; until then a refresh
 * reads the old copy. Each round lets the session's groups age past the maximum again.
 */
async function openPaiUntil(g: TestGateway, jar: Jar, done: (status: number) => boolean) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    g.clock.now += 61_000;
    const res = await request(g, jar, 'GET', '/sso/pai');
    if (done(res.statusCode) || Date.now() > deadline) return res;
    await sleep(200);
  }
}

describe('group freshness', () => {
  it('uses the groups in the session while they are younger than groupsMaxAgeSeconds', async () => {
    gw = await startGateway({ config: config() });
    const { jar } = await login(gw, 'alice', PASSWORD);
    gw.clock.now += 59_000;
    expect((await request(gw, jar, 'GET', '/sso/pai')).statusCode).toBe(200);
    expect(audits(gw, 'groups.refresh')).toHaveLength(0);
    gw.clock.now += 2_000;
    expect((await request(gw, jar, 'GET', '/sso/pai')).statusCode).toBe(200);
    expect(audits(gw, 'groups.refresh')).toMatchObject([{ result: 'updated', user: 'alice', source: 'local', groups: ['ml'] }]);
    // Refreshed: the next request within the age uses the cookie again.
    expect((await request(gw, jar, 'GET', '/sso/pai')).statusCode).toBe(200);
    expect(audits(gw, 'groups.refresh')).toHaveLength(1);
  });

  it('gives a local user whose groups changed the 403 page once the groups are re-read', async () => {
    gw = await startGateway({ config: config() });
    const { jar } = await login(gw, 'alice', PASSWORD);
    expect((await request(gw, jar, 'GET', '/sso/pai')).statusCode).toBe(200);
    await editUsers(gw, (doc) => {
      const alice = doc['alice'];
      if (alice) doc['alice'] = { ...alice, groups: ['sales'] };
    });
    const res = await openPaiUntil(gw, jar, (s) => s !== 200);
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('not mapped to any Alibaba Cloud role');
    expect(res.body).not.toContain('SAMLResponse');
    expect(audits(gw, 'groups.refresh').at(-1)).toMatchObject({ result: 'updated', user: 'alice', groups: [] });
    expect(audits(gw, 'assertion.denied').at(-1)).toMatchObject({ reason: 'no-role', user: 'alice' });
  });

  it('signs out a local user who was removed', async () => {
    gw = await startGateway({ config: config() });
    const { jar } = await login(gw, 'alice', PASSWORD);
    await editUsers(gw, (doc) => {
      delete doc['alice'];
    });
    const res = await openPaiUntil(gw, jar, (s) => s !== 200);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toMatch(/^\/login\?returnTo=/);
    expect(jar.get('pai_sso')).toBeUndefined();
    // The session check re-reads local users on every request, so it refuses before freshness is asked.
    expect(audits(gw, 'session.refused').at(-1)).toMatchObject({ reason: 'user-gone', user: 'alice' });
    // Signed out for good: the next request goes to the login too.
    expect((await request(gw, jar, 'GET', '/sso/pai')).statusCode).toBe(302);
  });
});
