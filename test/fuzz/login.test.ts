import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Jar, hiddenField, startGateway, type TestGateway } from '../helpers/gateway.js';
import {
  SEED,
  applyMutation,
  cookieBytes,
  cookieValues,
  fuzz,
  fuzzConfig,
  hostileString,
  isHandoff,
  issuedCookies,
  mutation,
  noServerError,
  verifyHandoff,
} from './fuzz.js';

// GET/POST /login and POST /logout (src/http/routes/login.ts) under random and mutated
// forms, flow cookies and query strings.

const USERS = {
  alice: { password: 'correct horse battery', groups: ['ml'] },
  carol: { password: 'carol-password-1234', groups: ['ml-admins'] },
  dave: { password: 'dave-password-12345', groups: ['sales'] },
};
type Name = keyof typeof USERS;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({ config: fuzzConfig(), users: USERS });
});
afterAll(() => gw.close());

/** Redirects stay on this site: a relative path, never `//host` or `/\host`. */
function sameSiteRedirect(res: LightMyRequestResponse): void {
  const location = res.headers.location;
  if (location === undefined) return;
  expect(location).toMatch(/^\/(?![/\\])/);
}

const loginCase = fc.record({
  returnTo: fc.oneof(fc.constant('/sso/pai?target=pai'), hostileString()),
  extraQuery: fc.option(fc.tuple(hostileString(10), hostileString(20)), { nil: undefined }),
  user: fc.constantFrom<Name>('alice', 'carol', 'dave'),
  username: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, hostileString()),
  password: fc.oneof(
    { weight: 4, arbitrary: fc.constant(undefined) },
    mutation().map((m) => ({ m })),
  ),
  csrf: mutation(8),
  flowCookie: mutation(8),
  source: fc.option(fc.oneof(fc.constant('local'), hostileString(12)), { nil: undefined, freq: 3 }),
  extraFields: fc.dictionary(hostileString(10), hostileString(20), { maxKeys: 2 }),
  encoding: fc.constantFrom('form', 'form', 'form', 'json', 'text', 'raw-form', 'multipart', 'none'),
  raw: hostileString(200),
  logout: fc.boolean(),
  logoutCsrf: mutation(),
});

describe(`fuzz /login and /logout (seed ${SEED})`, () => {
  it('random and mutated sign-in forms: never a 5xx; a session only for the right password with the real CSRF token and flow; hand-offs verify', async () => {
    const seen = { sessions: 0, handoffs: 0, logouts: 0 };
    await fuzz(loginCase, 120, async (c) => {
      const jar = new Jar();
      const query = new URLSearchParams({ returnTo: c.returnTo });
      if (c.extraQuery) query.append(c.extraQuery[0], c.extraQuery[1]);
      const page = await gw.app.inject({ method: 'GET', url: `/login?${query.toString()}` });
      noServerError(page, 'GET /login');
      sameSiteRedirect(page);
      jar.take(page);
      // A refused query (400) still needs a form to fuzz: a plain one.
      const form = page.statusCode === 200 ? page : await gw.app.inject({ method: 'GET', url: '/login' });
      if (form !== page) jar.take(form);
      const csrf = hiddenField(form.body, 'csrf');
      const flow = jar.get('pai_sso_login') ?? '';

      const sentCsrf = applyMutation(csrf, c.csrf);
      const sentFlow = applyMutation(flow, c.flowCookie);
      const username = c.username ?? c.user;
      const truePassword = USERS[c.user].password;
      const password = c.password === undefined ? truePassword : applyMutation(truePassword, c.password.m);
      const fields: Record<string, string> = { ...c.extraFields, username, password, csrf: sentCsrf };
      if (c.source !== undefined) fields['source'] = c.source;
      const cookie = `pai_sso_login=${sentFlow}`;
      const bodies: Record<string, { type?: string; payload?: string }> = {
        form: { type: 'application/x-www-form-urlencoded', payload: new URLSearchParams(fields).toString() },
        json: { type: 'application/json', payload: JSON.stringify(fields) },
        text: { type: 'text/plain', payload: c.raw },
        'raw-form': { type: 'application/x-www-form-urlencoded', payload: c.raw },
        multipart: { type: 'multipart/form-data; boundary=x', payload: `--x\r\n${c.raw}\r\n--x--` },
        none: {},
      };
      const body = bodies[c.encoding] ?? {};
      const res = await gw.app.inject({
        method: 'POST',
        url: '/login',
        headers: { cookie, ...(body.type ? { 'content-type': body.type } : {}) },
        ...(body.payload === undefined ? {} : { payload: body.payload }),
      });
      noServerError(res, 'POST /login');
      sameSiteRedirect(res);
      expect(isHandoff(res)).toBe(false);
      const sessions = issuedCookies(res, 'pai_sso');
      if (sessions.length > 0) {
        seen.sessions++;
        // What must all have been right for a session to exist.
        expect(c.encoding === 'form' || c.encoding === 'json').toBe(true);
        expect(Object.hasOwn(USERS, username)).toBe(true);
        expect(password).toBe(USERS[username as Name].password);
        expect(sentCsrf).toBe(csrf);
        expect(cookieBytes(sentFlow)).toBe(cookieBytes(flow));
        expect(res.statusCode).toBe(303);
      }
      jar.take(res);

      // The hand-off, with whatever cookies the client now holds.
      const sso = await gw.app.inject({ method: 'GET', url: '/sso/pai?target=pai', headers: { cookie: jar.header() } });
      noServerError(sso, 'GET /sso/pai');
      if (isHandoff(sso)) {
        seen.handoffs++;
        expect(sessions.length).toBeGreaterThan(0);
        const { nameId } = await verifyHandoff(sso, gw.keys.current.pem, USERS[username as Name].groups);
        expect(nameId).toBe(`id-${username}`);
      } else if (sessions.length > 0) {
        // Signed in: the hand-off is refused only for a user without a role.
        expect(sso.statusCode).toBe(USERS[username as Name].groups.includes('sales') ? 403 : 200);
      }
      jar.take(sso);

      if (c.logout) {
        const landing = await gw.app.inject({ method: 'GET', url: '/', headers: { cookie: jar.header() } });
        noServerError(landing, 'GET /');
        const sessionCsrf = landing.statusCode === 200 ? hiddenField(landing.body, 'csrf') : 'none';
        const out = await gw.app.inject({
          method: 'POST',
          url: '/logout',
          headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ csrf: applyMutation(sessionCsrf, c.logoutCsrf) }).toString(),
        });
        noServerError(out, 'POST /logout');
        sameSiteRedirect(out);
        jar.take(out);
        const after = await gw.app.inject({ method: 'GET', url: '/sso/pai?target=pai', headers: { cookie: jar.header() } });
        noServerError(after, 'GET /sso/pai after logout');
        // Signed out (303): that session hands nothing off again, from any copy of the cookie.
        if (out.statusCode === 303) {
          if (sessions.length > 0) seen.logouts++;
          for (const s of sessions) {
            const replay = await gw.app.inject({ method: 'GET', url: '/sso/pai?target=pai', headers: { cookie: `pai_sso=${s}` } });
            expect(isHandoff(replay)).toBe(false);
          }
        }
      }
    });
    // Not vacuous: the valid path was taken too (a run with none would prove nothing about it).
    expect(seen.sessions).toBeGreaterThan(0);
    expect(seen.handoffs).toBeGreaterThan(0);
  });

  it('a hand-off needs a session cookie the server issued: mutated or foreign cookies never get one', async () => {
    // One real session to mutate.
    const jar = new Jar();
    const page = await gw.app.inject({ method: 'GET', url: '/login' });
    jar.take(page);
    const signIn = await gw.app.inject({
      method: 'POST',
      url: '/login',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: 'alice', password: USERS.alice.password, csrf: hiddenField(page.body, 'csrf') }).toString(),
    });
    expect(signIn.statusCode).toBe(303);
    const issued = new Set(issuedCookies(signIn, 'pai_sso').map(cookieBytes));
    const session = issuedCookies(signIn, 'pai_sso')[0] ?? '';
    const flow = issuedCookies(page, 'pai_sso_login')[0] ?? '';

    const cookieCase = fc.record({
      session: mutation(),
      // Cookies a client may add: another copy, the flow cookie under the session's name, junk.
      extras: fc.array(
        fc.oneof(
          fc.tuple(fc.constantFrom('pai_sso', 'pai_sso_login', 'PAI_SSO', 'pai_sso '), fc.oneof(fc.constant(flow), hostileString(40))),
          fc.tuple(hostileString(10), hostileString(40)),
        ),
        { maxLength: 3 },
      ),
      sessionFirst: fc.boolean(),
      path: fc.constantFrom('/sso/pai?target=pai', '/sso/pai', '/'),
    });
    let handoffs = 0;
    await fuzz(cookieCase, 150, async (c) => {
      const pairs = c.extras.map(([k, v]) => `${k}=${v}`);
      const mine = `pai_sso=${applyMutation(session, c.session)}`;
      const header = (c.sessionFirst ? [mine, ...pairs] : [...pairs, mine]).join('; ');
      const res = await gw.app.inject({ method: 'GET', url: c.path, headers: { cookie: header } });
      noServerError(res, `GET ${c.path}`);
      for (const v of issuedCookies(res, 'pai_sso')) issued.add(cookieBytes(v));
      if (isHandoff(res)) {
        handoffs++;
        expect(cookieValues(header, 'pai_sso').some((v) => issued.has(cookieBytes(v)))).toBe(true);
        await verifyHandoff(res, gw.keys.current.pem, USERS.alice.groups);
      }
    });
    expect(handoffs).toBeGreaterThan(0);
  });
});
