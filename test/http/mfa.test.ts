import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { ATTR_ROLE } from '../../src/alibaba.js';
import { base32Decode, totp } from '../../src/mfa/totp.js';
import { AUTHN_CONTEXT_MFA, AUTHN_CONTEXT_PASSWORD } from '../../src/saml/assertion.js';
import { ACCOUNT, Jar, baseConfig, hiddenField, login, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { alibabaSp, extractForm, responseFacts } from '../helpers/saml-sp.js';

// The gateway's own second factor through its real routes, on the test clock: enrolment at
// /account/security, TOTP at sign-in (valid, replayed, skewed, wrong), recovery codes,
// requireMfa roles, identity.mfa modes, the lockout, and the AuthnContextClassRef of
// every assertion, each checked by node-saml as Alibaba's SP.

const PASSWORD = 'correct horse battery';
const ADMIN = `acs:ram::${ACCOUNT}:role/pai-admin,acs:ram::${ACCOUNT}:saml-provider/corp-idp`;
const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const audits = (g: TestGateway, event: string) => g.logs.filter((l) => l['audit'] === event);

async function gateway(identity: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<TestGateway> {
  const base = baseConfig();
  const g = await startGateway({
    config: {
      ...base,
      server: { baseUrl: 'http://localhost:8080', loginAttemptsPerMinute: 1000, ...(extra['server'] as object | undefined) },
      identity: { source: 'local', ...identity },
      roles: {
        ...(base['roles'] as object),
        admin: { account: 'prod', roleName: 'pai-admin', label: 'PAI admin', requireMfa: identity['mfa'] !== 'off' },
      },
    },
    users: {
      alice: { password: PASSWORD, groups: ['ml'] },
      root: { password: PASSWORD, groups: ['ml-admins'] },
    },
  });
  g.clock.now = T0;
  return g;
}

/** Enrols TOTP for a signed-in jar; returns the secret and the recovery codes shown once. */
async function enrolTotp(
  g: TestGateway,
  jar: Jar,
  returnTo?: string,
): Promise<{ secret: Buffer; codes: string[]; done: LightMyRequestResponse }> {
  const page = await request(g, jar, 'GET', `/account/security${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ''}`);
  expect(page.statusCode).toBe(200);
  const csrf = hiddenField(page.body, 'csrf');
  const setup = await request(g, jar, 'POST', '/account/security/totp/begin', {
    csrf,
    ...(returnTo ? { returnTo: hiddenField(page.body, 'returnTo') } : {}),
  });
  expect(setup.statusCode).toBe(200);
  const text = /<code id="totp-secret">([^<]+)<\/code>/.exec(setup.body)?.[1] ?? '';
  const secret = base32Decode(text)!;
  expect(secret.length).toBe(20);
  const done = await request(g, jar, 'POST', '/account/security/totp', { csrf, code: totp(secret, g.clock.now) });
  expect(done.statusCode).toBe(200);
  const codes = [...done.body.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((m) => m[1] as string);
  return { secret, codes, done };
}

/** Password, then the second-factor page; returns the jar and its form token. */
async function passwordStep(
  g: TestGateway,
  username: string,
  returnTo = '/',
): Promise<{ jar: Jar; csrf: string; page: LightMyRequestResponse }> {
  const { jar, res } = await login(g, username, PASSWORD, returnTo);
  expect(res.statusCode).toBe(303);
  expect(res.headers.location).toBe('/login/mfa');
  expect(jar.get('pai_sso')).toBeUndefined();
  const page = await request(g, jar, 'GET', '/login/mfa');
  expect(page.statusCode).toBe(200);
  return { jar, csrf: hiddenField(page.body, 'csrf'), page };
}

async function assertionFor(g: TestGateway, jar: Jar, url: string) {
  const res = await request(g, jar, 'GET', url);
  expect(res.statusCode).toBe(200);
  const { samlResponse } = extractForm(res.body);
  // Alibaba's SP (node-saml) on the test clock's time.
  const { profile } = await alibabaSp('cn', g.keys.current.pem, 10 * 365 * 86400_000).validatePostResponseAsync({
    SAMLResponse: samlResponse,
  });
  const facts = responseFacts(Buffer.from(samlResponse, 'base64').toString('utf8'));
  const classRef = facts.authn?.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'AuthnContextClassRef')[0]?.textContent;
  return { profile, classRef };
}

describe('TOTP enrolment and sign-in', () => {
  it('enrols after a password sign-in, then asks for the code at every sign-in; the assertion says multi-factor', async () => {
    gw = await gateway();
    const first = await login(gw, 'alice', PASSWORD);
    expect(first.res.headers.location).toBe('/');
    const password = await assertionFor(gw, first.jar, '/sso/pai');
    expect(password.classRef).toBe(AUTHN_CONTEXT_PASSWORD);

    const { secret, codes } = await enrolTotp(gw, first.jar);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    expect(audits(gw, 'mfa.enrolled')).toMatchObject([{ user: 'alice', method: 'totp', source: 'local' }]);
    // Enrolling proved possession: this session is now a multi-factor one.
    expect((await assertionFor(gw, first.jar, '/sso/pai')).classRef).toBe(AUTHN_CONTEXT_MFA);

    // At rest: one 0600 file in a 0700 directory, the secret and the codes nowhere in clear.
    const dir = join(gw.dir, 'mfa');
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, files[0]!))).mode & 0o777).toBe(0o600);
    const text = await readFile(join(dir, files[0]!), 'utf8');
    const b32 = /<code id="totp-secret">/.test('') ? '' : Buffer.from(secret).toString('hex');
    expect(text).not.toContain(b32);
    expect(text).not.toMatch(/[A-Z2-7]{32}/);
    for (const c of codes) expect(text).not.toContain(c);
    expect(JSON.parse(text)).toMatchObject({ username: 'alice', source: 'local', key: 'local:id-alice' });

    gw.clock.now += 30_000;
    const { jar, csrf } = await passwordStep(gw, 'alice', '/sso/pai?target=pai');
    const ok = await request(gw, jar, 'POST', '/login/mfa/totp', { csrf, code: totp(secret, gw.clock.now) });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/sso/pai?target=pai');
    const { profile, classRef } = await assertionFor(gw, jar, '/sso/pai?target=pai');
    expect(profile?.[ATTR_ROLE]).toContain('pai-developer');
    expect(classRef).toBe(AUTHN_CONTEXT_MFA);
    expect(audits(gw, 'mfa.verified')).toMatchObject([{ user: 'alice', method: 'totp' }]);
    expect(audits(gw, 'login.succeeded').at(-1)).toMatchObject({ user: 'alice', mfa: 'totp' });
    expect(audits(gw, 'assertion.issued').at(-1)).toMatchObject({ authnContext: AUTHN_CONTEXT_MFA });
    expect(gw.logText()).not.toContain(totp(secret, gw.clock.now));
  });

  it('refuses a replayed code inside its window, a code two steps off, and a wrong code; accepts one step of skew', async () => {
    gw = await gateway();
    const { jar: j0 } = await login(gw, 'alice', PASSWORD);
    const { secret } = await enrolTotp(gw, j0);
    gw.clock.now += 90_000;

    const a = await passwordStep(gw, 'alice');
    const code = totp(secret, gw.clock.now);
    expect((await request(gw, a.jar, 'POST', '/login/mfa/totp', { csrf: a.csrf, code })).statusCode).toBe(303);

    // The same code again, 10 s later, in another sign-in: refused.
    gw.clock.now += 10_000;
    const b = await passwordStep(gw, 'alice');
    const replay = await request(gw, b.jar, 'POST', '/login/mfa/totp', { csrf: b.csrf, code });
    expect(replay.statusCode).toBe(401);
    expect(replay.headers['set-cookie']?.toString() ?? '').not.toMatch(/pai_sso=[^;]/);
    expect(audits(gw, 'mfa.failed').at(-1)).toMatchObject({ reason: 'replayed-code', method: 'totp' });

    // Two steps behind (60 s): outside the one-step skew.
    const skewed = await request(gw, b.jar, 'POST', '/login/mfa/totp', { csrf: b.csrf, code: totp(secret, gw.clock.now - 60_000) });
    expect(skewed.statusCode).toBe(401);
    expect(audits(gw, 'mfa.failed').at(-1)).toMatchObject({ reason: 'wrong-code' });

    const wrong = await request(gw, b.jar, 'POST', '/login/mfa/totp', { csrf: b.csrf, code: code === '000000' ? '111111' : '000000' });
    expect(wrong.statusCode).toBe(401);

    // One step ahead (a phone clock 30 s fast) is accepted.
    gw.clock.now += 60_000;
    const ahead = await request(gw, b.jar, 'POST', '/login/mfa/totp', { csrf: b.csrf, code: totp(secret, gw.clock.now + 30_000) });
    expect(ahead.statusCode).toBe(303);
    // ...and after it, a code of the current (older) step is refused: steps only move forward.
    const c = await passwordStep(gw, 'alice');
    const older = await request(gw, c.jar, 'POST', '/login/mfa/totp', { csrf: c.csrf, code: totp(secret, gw.clock.now) });
    expect(older.statusCode).toBe(401);
    expect(audits(gw, 'mfa.failed').at(-1)).toMatchObject({ reason: 'replayed-code' });
  });

  it('accepts each recovery code once', async () => {
    gw = await gateway();
    const { jar: j0 } = await login(gw, 'alice', PASSWORD);
    const { codes } = await enrolTotp(gw, j0);
    const code = codes[3]!;

    const a = await passwordStep(gw, 'alice');
    const used = await request(gw, a.jar, 'POST', '/login/mfa/recovery', { csrf: a.csrf, code: code.toUpperCase() });
    expect(used.statusCode).toBe(303);
    expect((await assertionFor(gw, a.jar, '/sso/pai')).classRef).toBe(AUTHN_CONTEXT_MFA);
    expect(audits(gw, 'mfa.verified')).toMatchObject([{ method: 'recovery' }]);

    const b = await passwordStep(gw, 'alice');
    expect(b.page.body).toContain('9'.length ? 'recovery code' : '');
    const again = await request(gw, b.jar, 'POST', '/login/mfa/recovery', { csrf: b.csrf, code });
    expect(again.statusCode).toBe(401);
    expect(audits(gw, 'mfa.failed').at(-1)).toMatchObject({ method: 'recovery', reason: 'wrong-recovery-code' });
    // Another one still works.
    const other = await request(gw, b.jar, 'POST', '/login/mfa/recovery', { csrf: b.csrf, code: codes[4]! });
    expect(other.statusCode).toBe(303);
  });

  it('refuses the second step without the pending sign-in, or with a foreign form token', async () => {
    gw = await gateway();
    const { jar: j0 } = await login(gw, 'alice', PASSWORD);
    const { secret } = await enrolTotp(gw, j0);
    gw.clock.now += 30_000;
    const stranger = new Jar();
    const none = await request(gw, stranger, 'POST', '/login/mfa/totp', { csrf: 'x', code: totp(secret, gw.clock.now) });
    expect(none.statusCode).toBe(403);
    const a = await passwordStep(gw, 'alice');
    const forged = await request(gw, a.jar, 'POST', '/login/mfa/totp', { csrf: 'not-the-token', code: totp(secret, gw.clock.now) });
    expect(forged.statusCode).toBe(403);
    expect(forged.headers['set-cookie']?.toString() ?? '').not.toMatch(/pai_sso=[^;]/);
  });

  it('counts wrong second factors toward the lockout, and the lockout holds for the password too', async () => {
    gw = await gateway({}, { server: { loginThrottle: { username: { freeFailures: 2, lockoutAfter: 4 } } } });
    const { jar: j0 } = await login(gw, 'alice', PASSWORD);
    const { secret } = await enrolTotp(gw, j0);
    gw.clock.now += 30_000;
    const a = await passwordStep(gw, 'alice'); // try 1 (stays counted: no second factor yet)
    const bad = (jar: Jar, csrf: string) =>
      request(gw!, jar, 'POST', '/login/mfa/totp', { csrf, code: '000000' === totp(secret, gw!.clock.now) ? '111111' : '000000' });
    expect((await bad(a.jar, a.csrf)).statusCode).toBe(401); // try 2
    expect((await bad(a.jar, a.csrf)).statusCode).toBe(401); // try 3: a wait follows
    gw.clock.now += 5_000;
    expect((await bad(a.jar, a.csrf)).statusCode).toBe(401); // try 4: locked
    expect(audits(gw, 'login.locked')).toMatchObject([{ scope: 'username', user: 'alice', path: '/login/mfa/totp' }]);
    // The right code is refused while locked, and so is the password.
    const right = await request(gw, a.jar, 'POST', '/login/mfa/totp', { csrf: a.csrf, code: totp(secret, gw.clock.now) });
    expect(right.statusCode).toBe(429);
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(60);
    const pw = await login(gw, 'alice', PASSWORD);
    expect(pw.res.statusCode).toBe(429);
  });
});

describe('requireMfa roles and identity.mfa', () => {
  it('refuses a requireMfa role after a password-only sign-in (enrolment first) and grants it after the second factor', async () => {
    gw = await gateway();
    const { jar } = await login(gw, 'root', PASSWORD);
    // dev needs no second factor: issued with PasswordProtectedTransport.
    expect((await assertionFor(gw, jar, '/sso/pai?role=dev')).classRef).toBe(AUTHN_CONTEXT_PASSWORD);
    const refused = await request(gw, jar, 'GET', '/sso/pai?role=admin');
    expect(refused.statusCode).toBe(302);
    expect(refused.headers.location).toBe(`/login/mfa?returnTo=${encodeURIComponent('/sso/pai?role=admin')}`);
    expect(audits(gw, 'assertion.issued').filter((a) => (a['roles'] as string[]).includes(ADMIN.split(',')[0]!))).toHaveLength(0);
    expect(audits(gw, 'mfa.step-up')).toMatchObject([{ user: 'root', reason: 'role-requires-mfa' }]);
    // Not enrolled: on to /account/security, which leads back.
    const toEnrol = await request(gw, jar, 'GET', String(refused.headers.location));
    expect(toEnrol.statusCode).toBe(302);
    expect(toEnrol.headers.location).toBe(`/account/security?returnTo=${encodeURIComponent('/sso/pai?role=admin')}`);
    const { secret, done } = await enrolTotp(gw, jar, '/sso/pai?role=admin');
    // The recovery codes page continues to where the user was going.
    expect(done.body).toContain('href="/sso/pai?role=admin"');
    const granted = await assertionFor(gw, jar, '/sso/pai?role=admin');
    expect(granted.profile?.[ATTR_ROLE]).toBe(ADMIN);
    expect(granted.classRef).toBe(AUTHN_CONTEXT_MFA);

    // Next day, a new sign-in: password, then the code, then the admin role.
    gw.clock.now += 60_000;
    const b = await passwordStep(gw, 'root', '/sso/pai?role=admin');
    expect((await request(gw, b.jar, 'POST', '/login/mfa/totp', { csrf: b.csrf, code: totp(secret, gw.clock.now) })).statusCode).toBe(303);
    const again = await assertionFor(gw, b.jar, '/sso/pai?role=admin');
    expect(again.profile?.[ATTR_ROLE]).toBe(ADMIN);
    expect(again.classRef).toBe(AUTHN_CONTEXT_MFA);
  });

  it('a password-only session of a user who enrolled elsewhere can neither change factors nor get the role until it steps up', async () => {
    gw = await gateway();
    const older = await login(gw, 'root', PASSWORD); // before any enrolment: password only
    const { jar: other } = await login(gw, 'root', PASSWORD);
    const { secret } = await enrolTotp(gw, other);
    gw.clock.now += 30_000;

    // Changing factors on the password alone is refused (someone holding only the password and a cookie).
    const page = await request(gw, older.jar, 'GET', '/account/security');
    expect(page.body).toContain('confirm it is you');
    // The session's form token, from the sign-out form of the landing page.
    const csrf = hiddenField((await request(gw, older.jar, 'GET', '/')).body, 'csrf');
    const change = await request(gw, older.jar, 'POST', '/account/security/totp/begin', { csrf });
    expect(change.statusCode).toBe(403);
    expect(change.body).not.toContain('totp-secret');
    expect(audits(gw, 'mfa.failed')).toMatchObject([{ user: 'root', reason: 'change-without-mfa' }]);

    // The admin role asks for a step-up on this session.
    const refused = await request(gw, older.jar, 'GET', '/sso/pai?role=admin');
    expect(refused.headers.location).toBe(`/login/mfa?returnTo=${encodeURIComponent('/sso/pai?role=admin')}`);
    const challenge = await request(gw, older.jar, 'GET', String(refused.headers.location));
    expect(challenge.statusCode).toBe(200);
    const oldCookie = older.jar.get('pai_sso');
    const ok = await request(gw, older.jar, 'POST', '/login/mfa/totp', {
      csrf: hiddenField(challenge.body, 'csrf'),
      code: totp(secret, gw.clock.now),
    });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/sso/pai?role=admin');
    const granted = await assertionFor(gw, older.jar, '/sso/pai?role=admin');
    expect(granted.profile?.[ATTR_ROLE]).toBe(ADMIN);
    expect(granted.classRef).toBe(AUTHN_CONTEXT_MFA);
    // The password-only session it replaced is revoked.
    const stale = new Jar();
    stale.set('pai_sso', oldCookie!);
    expect((await request(gw, stale, 'GET', '/')).statusCode).toBe(302);
  });

  it('required: a user without a second factor gets no assertion until they enrol', async () => {
    gw = await gateway({ mfa: 'required' });
    const { jar } = await login(gw, 'alice', PASSWORD);
    const res = await request(gw, jar, 'GET', '/sso/pai');
    expect(res.statusCode).toBe(302);
    expect(audits(gw, 'assertion.issued')).toHaveLength(0);
    expect(audits(gw, 'mfa.step-up')).toMatchObject([{ reason: 'mfa-required' }]);
    await enrolTotp(gw, jar);
    expect((await assertionFor(gw, jar, '/sso/pai')).classRef).toBe(AUTHN_CONTEXT_MFA);
  });

  it('off: no enrolment pages, and the password alone signs in', async () => {
    gw = await gateway({ mfa: 'off', source: 'local' });
    const { jar, res } = await login(gw, 'alice', PASSWORD);
    expect(res.headers.location).toBe('/');
    expect((await request(gw, jar, 'GET', '/account/security')).statusCode).toBe(404);
    expect((await assertionFor(gw, jar, '/sso/pai')).classRef).toBe(AUTHN_CONTEXT_PASSWORD);
  });

  it('an enrolment file that does not open (tampered, or another session secret) refuses the sign-in with 503, never the password alone', async () => {
    gw = await gateway();
    const { jar: j0 } = await login(gw, 'alice', PASSWORD);
    await enrolTotp(gw, j0);
    const dir = join(gw.dir, 'mfa');
    const [file] = await readdir(dir);
    const doc = JSON.parse(await readFile(join(dir, file!), 'utf8'));
    doc.sealed = `${doc.sealed.slice(0, -4)}AAAA`;
    await writeFile(join(dir, file!), JSON.stringify(doc));
    const { res } = await login(gw, 'alice', PASSWORD);
    expect(res.statusCode).toBe(503);
    expect(res.headers['set-cookie']?.toString() ?? '').not.toMatch(/pai_sso=[^;]/);
  });
});
