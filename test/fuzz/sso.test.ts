import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, startGateway, type Jar, type TestGateway } from '../helpers/gateway.js';
import { SEED, fuzz, fuzzConfig, hostileString, isHandoff, noServerError, verifyHandoff } from './fuzz.js';

// GET /sso/pai and GET / (src/http/routes/sso.ts) with random query strings, for a user the
// mapping grants two roles (the picker) and one it grants none.

const USERS = {
  carol: { password: 'carol-password-1234', groups: ['ml-admins'] },
  dave: { password: 'dave-password-12345', groups: ['sales'] },
};
const TARGETS = ['pai', 'dsw'];
const ROLES = ['dev', 'admin'];

let gw: TestGateway;
let carol: Jar;
let dave: Jar;
beforeAll(async () => {
  gw = await startGateway({ config: fuzzConfig(), users: USERS });
  carol = (await login(gw, 'carol', USERS.carol.password)).jar;
  dave = (await login(gw, 'dave', USERS.dave.password)).jar;
});
afterAll(() => gw.close());

const param = fc.oneof(
  fc.tuple(fc.constantFrom('target'), fc.oneof(fc.constantFrom(...TARGETS), hostileString(20))),
  fc.tuple(fc.constantFrom('role'), fc.oneof(fc.constantFrom(...ROLES), hostileString(20))),
  fc.tuple(hostileString(12), hostileString(20)),
);

const queryCase = fc.record({
  path: fc.constantFrom('/sso/pai', '/sso/pai', '/', '/login'),
  params: fc.array(param, { maxLength: 4 }),
  // Raw, not URL-encoded: what a hand-typed or hostile URL can hold.
  raw: fc.option(hostileString(60), { nil: undefined, freq: 4 }),
  who: fc.constantFrom('carol', 'carol', 'dave', 'nobody'),
});

describe(`fuzz /sso/pai and / (seed ${SEED})`, () => {
  it('random query strings: never a 5xx; a hand-off only with a session, for a role the mapping grants, verifying as Alibaba verifies', async () => {
    const seen = { handoffs: 0 };
    await fuzz(queryCase, 200, async (c) => {
      const qs = c.raw ?? new URLSearchParams(c.params).toString();
      let url = `${c.path}?${qs}`;
      // light-my-request refuses some URLs outright (a client could not send them either).
      try {
        new URL(url, 'http://localhost');
      } catch {
        url = c.path;
      }
      const jar = c.who === 'carol' ? carol : c.who === 'dave' ? dave : undefined;
      const res = await gw.app.inject({ method: 'GET', url, headers: jar ? { cookie: jar.header() } : {} });
      noServerError(res, `GET ${url}`);
      if (res.headers.location !== undefined) expect(res.headers.location).toMatch(/^\/(?![/\\])/);
      if (!isHandoff(res)) return;
      seen.handoffs++;
      expect(c.path).toBe('/sso/pai');
      expect(c.who).toBe('carol');
      const { roles } = await verifyHandoff(res, gw.keys.current.pem, USERS.carol.groups);
      // One role per assertion (roleSelection: gateway), the one asked for.
      expect(roles).toHaveLength(1);
      const asked = new URL(url, 'http://localhost').searchParams.get('role');
      expect(roles[0]).toContain(asked === 'admin' ? ':role/pai-admin,' : ':role/pai-developer,');
    });
    expect(seen.handoffs).toBeGreaterThan(0);
  });
});
