import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { ACCOUNT, Jar, baseConfig, hiddenField, login, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { alibabaSp } from '../helpers/saml-sp.js';
import { ATTR_ROLE, ATTR_SESSION_DURATION } from '../../src/alibaba.js';
import { createMemoryStore } from '../../src/state/memory.js';
import { createSessionRecords } from '../../src/state/sessions.js';

// The gateway's /cli/ routes driven with inject: the loopback flow (consent, code, PKCE),
// the device flow, refresh grants bound to the session, and the attacks, each a 4xx with
// an audit line.

const PASSWORD = 'correct horse battery';
const DEV_PAIR = `acs:ram::${ACCOUNT}:role/pai-developer,acs:ram::${ACCOUNT}:saml-provider/corp-idp`;
const REDIRECT = 'http://127.0.0.1:53682/callback';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const audits = (g: TestGateway, event: string) => g.logs.filter((l) => l['audit'] === event);
const lastDenied = (g: TestGateway) => audits(g, 'credentials.denied').at(-1);

function cliConfig(extra: Record<string, unknown> = {}) {
  const base = baseConfig();
  return {
    ...base,
    roles: {
      ...(base['roles'] as object),
      console: { account: 'prod', roleName: 'pai-console-only', label: 'Console only', cli: false },
    },
    mappings: [...(base['mappings'] as object[]), { group: 'ml', roles: ['console'] }],
    cli: { device: { intervalSeconds: 2 } },
    ...extra,
  };
}

async function gateway(extra: Record<string, unknown> = {}) {
  gw = await startGateway({
    config: cliConfig(extra),
    users: {
      alice: { password: PASSWORD, groups: ['ml'] },
      bob: { password: PASSWORD, groups: ['ml', 'ml-admins'] },
    },
  });
  return gw;
}

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

function authorizeUrl(over: Record<string, string> = {}) {
  const { challenge } = pkce();
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: 'pai-sso-cli',
    redirect_uri: REDIRECT,
    state: 'state-0123456789abcdef',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...over,
  });
  return `/cli/authorize?${q.toString()}`;
}

/** Signs in, opens the consent page and allows; returns the code from the loopback redirect. */
async function consent(g: TestGateway, user = 'alice', over: Record<string, string> = {}) {
  const p = pkce();
  const url = authorizeUrl({ code_challenge: p.challenge, ...over });
  const { jar } = await login(g, user, PASSWORD, url);
  const page = await request(g, jar, 'GET', url);
  expect(page.statusCode, page.body).toBe(200);
  const form: Record<string, string> = {
    csrf: hiddenField(page.body, 'csrf'),
    redirect_uri: hiddenField(page.body, 'redirect_uri'),
    state: hiddenField(page.body, 'state'),
    code_challenge: hiddenField(page.body, 'code_challenge'),
    role: over['role'] ?? /name="role" value="([^"]+)"/.exec(page.body)?.[1] ?? '',
    decision: 'allow',
  };
  if (over['duration']) form['duration'] = over['duration'];
  const res = await request(g, jar, 'POST', '/cli/authorize', form);
  return { jar, page, res, verifier: p.verifier, form };
}

const codeOf = (res: LightMyRequestResponse) => new URL(String(res.headers.location)).searchParams.get('code') ?? '';

const token = (g: TestGateway, body: Record<string, string>, headers: Record<string, string> = {}) =>
  g.app.inject({
    method: 'POST',
    url: '/cli/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams({ client_id: 'pai-sso-cli', ...body }).toString(),
  });

const exchange = (g: TestGateway, code: string, verifier: string, redirect = REDIRECT) =>
  token(g, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirect });

describe('loopback flow', () => {
  it('consent page, code on the loopback redirect, then the signed Response for the role in the token body', async () => {
    const g = await gateway();
    const anon = await request(g, new Jar(), 'GET', authorizeUrl());
    expect(anon.statusCode).toBe(302);
    expect(anon.headers.location).toMatch(/^\/login\?returnTo=%2Fcli%2Fauthorize%3F/);

    const { page, res, verifier, form } = await consent(g);
    expect(page.body).toContain('Allow the <strong>pai-sso</strong> command on this computer to get credentials for role');
    expect(page.body).toMatch(/<strong>PAI developer<\/strong> in\s+<strong>Production<\/strong> for 1 hour\?/);
    expect(page.body).not.toContain('Console only');
    expect(page.headers['cache-control']).toBe('no-store');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self' http://127.0.0.1:53682");

    expect(res.statusCode).toBe(303);
    const location = new URL(String(res.headers.location));
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('state')).toBe(form.state);
    const code = codeOf(res);
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const out = await exchange(g, code, verifier);
    expect(out.statusCode, out.body).toBe(200);
    expect(out.headers['cache-control']).toBe('no-store');
    const body = out.json<Record<string, unknown>>();
    expect(body['role']).toEqual({
      key: 'dev',
      label: 'PAI developer',
      account_label: 'Production',
      role_arn: `acs:ram::${ACCOUNT}:role/pai-developer`,
      provider_arn: `acs:ram::${ACCOUNT}:saml-provider/corp-idp`,
    });
    expect(body['duration_seconds']).toBe(3600);
    expect(body['refresh_token']).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    const saml = String(body['saml_response']);
    const { profile } = await alibabaSp('cn', g.keys.current.pem).validatePostResponseAsync({ SAMLResponse: saml });
    expect(profile?.[ATTR_ROLE]).toBe(DEV_PAIR);
    expect(profile?.[ATTR_SESSION_DURATION]).toBe('3600');

    const line = audits(g, 'credentials.authorized').at(-1)!;
    expect(line).toMatchObject({ user: 'alice', flow: 'loopback', grant: 'code', roleKey: 'dev', durationSeconds: 3600 });
    expect(line['role']).toBe(`acs:ram::${ACCOUNT}:role/pai-developer`);
    // Neither the code, the assertion nor the refresh token reaches a log.
    const logs = g.logText();
    expect(logs).not.toContain(code);
    expect(logs).not.toContain(saml.slice(0, 60));
    expect(logs).not.toContain(String(body['refresh_token']).split('.')[1]);
    expect(logs).not.toContain(verifier);
  });

  it('offers a picker when several roles are mapped, and clamps the duration to cli.maxDurationSeconds', async () => {
    const g = await gateway();
    const { page, res, verifier } = await consent(g, 'bob', { duration: '43200', role: 'admin' });
    expect(res.statusCode).toBe(303);
    const out = await exchange(g, codeOf(res), verifier);
    expect(out.json<Record<string, unknown>>()['duration_seconds']).toBe(3600);

    const picker = await request(g, (await login(g, 'bob', PASSWORD)).jar, 'GET', authorizeUrl());
    expect(picker.body).toContain('type="radio" name="role" value="dev"');
    expect(picker.body).toContain('type="radio" name="role" value="admin"');
    expect(picker.body).not.toContain('value="console"');
    expect(page.statusCode).toBe(200);
  });

  it('refuses a redirect_uri that is not a loopback address with a port: 400, audit, never a redirect', async () => {
    const g = await gateway();
    const { jar } = await login(g, 'alice', PASSWORD);
    for (const uri of [
      'https://evil.example/callback',
      'http://localhost:53682/callback',
      'http://127.0.0.1/callback',
      'http://127.0.0.1:53682@evil.example/callback',
      'http://evil.example:53682/callback',
      'http://127.0.0.2:53682/callback',
      'javascript:alert(1)',
    ]) {
      const res = await request(g, jar, 'GET', authorizeUrl({ redirect_uri: uri }));
      expect(res.statusCode, uri).toBe(400);
      expect(res.headers.location).toBeUndefined();
      expect(lastDenied(g)).toMatchObject({ reason: 'invalid-redirect-uri', user: 'alice', flow: 'loopback' });
    }
    const ipv6 = await request(g, jar, 'GET', authorizeUrl({ redirect_uri: 'http://[::1]:53682/callback' }));
    expect(ipv6.statusCode).toBe(200);
  });

  it('a code is single use', async () => {
    const g = await gateway();
    const { res, verifier } = await consent(g);
    const code = codeOf(res);
    expect((await exchange(g, code, verifier)).statusCode).toBe(200);
    const again = await exchange(g, code, verifier);
    expect(again.statusCode).toBe(400);
    expect(again.json()).toMatchObject({ error: 'invalid_grant' });
    expect(lastDenied(g)).toMatchObject({ reason: 'unknown-code' });
  });

  it('a code without the right verifier is refused, and burnt', async () => {
    const g = await gateway();
    const { res, verifier } = await consent(g);
    const code = codeOf(res);
    const wrong = await exchange(g, code, pkce().verifier);
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json()).toMatchObject({ error: 'invalid_grant' });
    expect(lastDenied(g)).toMatchObject({ reason: 'wrong-verifier' });
    expect((await exchange(g, code, verifier)).statusCode).toBe(400);
  });

  it('a code sent to another redirect_uri, and a code past 60 s, are refused', async () => {
    const g = await gateway();
    const a = await consent(g);
    expect((await exchange(g, codeOf(a.res), a.verifier, 'http://127.0.0.1:1/callback')).statusCode).toBe(400);
    expect(lastDenied(g)).toMatchObject({ reason: 'redirect-mismatch' });
    const b = await consent(g);
    g.clock.now += 61_000;
    expect((await exchange(g, codeOf(b.res), b.verifier)).statusCode).toBe(400);
    expect(lastDenied(g)).toMatchObject({ reason: 'unknown-code' });
  });

  it('refuses a cross-site POST of the consent form and one without the CSRF token', async () => {
    const g = await gateway();
    const p = pkce();
    const url = authorizeUrl({ code_challenge: p.challenge });
    const { jar } = await login(g, 'alice', PASSWORD, url);
    const page = await request(g, jar, 'GET', url);
    const form = {
      csrf: hiddenField(page.body, 'csrf'),
      redirect_uri: REDIRECT,
      state: 'state-0123456789abcdef',
      code_challenge: p.challenge,
      role: 'dev',
      decision: 'allow',
    };
    const cross = await g.app.inject({
      method: 'POST',
      url: '/cli/authorize',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      payload: new URLSearchParams(form).toString(),
    });
    expect(cross.statusCode).toBe(403);
    expect(cross.headers.location).toBeUndefined();
    expect(lastDenied(g)).toMatchObject({ reason: 'cross-site', user: 'alice' });

    const fetchSite = await g.app.inject({
      method: 'POST',
      url: '/cli/authorize',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' },
      payload: new URLSearchParams(form).toString(),
    });
    expect(fetchSite.statusCode).toBe(403);

    const noToken = await request(g, jar, 'POST', '/cli/authorize', { ...form, csrf: 'forged-token' });
    expect(noToken.statusCode).toBe(403);
    expect(lastDenied(g)).toMatchObject({ reason: 'csrf' });

    // A cross-site POST carries no session cookie (SameSite=Lax): refused as well.
    const noCookie = await request(g, new Jar(), 'POST', '/cli/authorize', form);
    expect(noCookie.statusCode).toBe(403);
    expect(lastDenied(g)).toMatchObject({ reason: 'no-session' });

    // The same form from the page itself goes through.
    const ok = await g.app.inject({
      method: 'POST',
      url: '/cli/authorize',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded', origin: 'http://localhost:8080' },
      payload: new URLSearchParams(form).toString(),
    });
    expect(ok.statusCode).toBe(303);
  });

  it('refuses a role the user does not have, and a role marked cli: false', async () => {
    const g = await gateway();
    const { jar } = await login(g, 'alice', PASSWORD);
    const lacks = await request(g, jar, 'GET', authorizeUrl({ role: 'admin' }));
    expect(lacks.statusCode).toBe(403);
    expect(lastDenied(g)).toMatchObject({ reason: 'role-not-granted', role: 'admin', user: 'alice' });
    const consoleOnly = await request(g, jar, 'GET', authorizeUrl({ role: 'console' }));
    expect(consoleOnly.statusCode).toBe(403);
    expect(consoleOnly.body).toContain('console only');
    // A link lets the waiting command know (it goes to the loopback, never elsewhere).
    expect(consoleOnly.body).toContain(
      'href="http://127.0.0.1:53682/callback?error=access_denied&amp;error_description=role-console-only&amp;state=state-0123456789abcdef"',
    );
    expect(lastDenied(g)).toMatchObject({ reason: 'role-console-only', role: 'console' });

    // A forged POST naming such a role is refused the same way.
    const page = await request(g, jar, 'GET', authorizeUrl());
    const forged = await request(g, jar, 'POST', '/cli/authorize', {
      csrf: hiddenField(page.body, 'csrf'),
      redirect_uri: REDIRECT,
      state: 'state-0123456789abcdef',
      code_challenge: pkce().challenge,
      role: 'console',
      decision: 'allow',
    });
    expect(forged.statusCode).toBe(403);
    expect(lastDenied(g)).toMatchObject({ reason: 'role-console-only' });
  });

  it('deny sends access_denied to the command', async () => {
    const g = await gateway();
    const p = pkce();
    const url = authorizeUrl({ code_challenge: p.challenge });
    const { jar } = await login(g, 'alice', PASSWORD, url);
    const page = await request(g, jar, 'GET', url);
    const res = await request(g, jar, 'POST', '/cli/authorize', {
      csrf: hiddenField(page.body, 'csrf'),
      redirect_uri: REDIRECT,
      state: 'state-0123456789abcdef',
      code_challenge: p.challenge,
      role: 'dev',
      decision: 'deny',
    });
    expect(res.statusCode).toBe(303);
    expect(new URL(String(res.headers.location)).searchParams.get('error')).toBe('access_denied');
    expect(lastDenied(g)).toMatchObject({ reason: 'user-denied' });
  });

  it('malformed token requests are JSON 400s with an audit line; bad tries from one address are throttled', async () => {
    const g = await gateway();
    const bad = await token(g, { grant_type: 'password' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'invalid_request' });
    expect(audits(g, 'request.rejected').at(-1)).toMatchObject({ path: '/cli/token', status: 400 });
    let last: LightMyRequestResponse | undefined;
    for (let i = 0; i < 30; i++) last = await exchange(g, randomBytes(32).toString('base64url'), pkce().verifier);
    expect(last!.statusCode).toBe(429);
    expect(last!.headers['retry-after']).toBeDefined();
    expect(audits(g, 'login.throttled').at(-1)).toMatchObject({ path: '/cli/token', scope: 'address' });
  });

  it('cli.enabled: false serves no /cli/ route', async () => {
    const g = await gateway({ cli: { enabled: false } });
    const { jar } = await login(g, 'alice', PASSWORD);
    expect((await request(g, jar, 'GET', authorizeUrl())).statusCode).toBe(404);
    expect((await token(g, { grant_type: 'refresh_token', refresh_token: 'x' })).statusCode).toBe(404);
  });
});

describe('refresh grants', () => {
  async function signedIn(g: TestGateway) {
    const { jar, res, verifier } = await consent(g);
    const out = await exchange(g, codeOf(res), verifier);
    return { jar, refresh: String(out.json<Record<string, unknown>>()['refresh_token']) };
  }
  const refresh = (g: TestGateway, t: string) => token(g, { grant_type: 'refresh_token', refresh_token: t });

  it('a refresh returns a fresh Response and a rotated token; a rotated-away token ends the grant', async () => {
    const g = await gateway();
    const { refresh: first } = await signedIn(g);
    g.clock.now += 3000_000;
    const r1 = await refresh(g, first);
    expect(r1.statusCode, r1.body).toBe(200);
    const second = String(r1.json<Record<string, unknown>>()['refresh_token']);
    expect(second).not.toBe(first);
    expect(audits(g, 'credentials.authorized').at(-1)).toMatchObject({ grant: 'refresh', flow: 'loopback' });

    const reused = await refresh(g, first);
    expect(reused.statusCode).toBe(400);
    expect(lastDenied(g)).toMatchObject({ reason: 'refresh-reused' });
    // Both copies are dead now.
    expect((await refresh(g, second)).statusCode).toBe(400);
  });

  it('signing out of the browser session stops refreshes', async () => {
    const g = await gateway();
    const { jar, refresh: t } = await signedIn(g);
    const home = await request(g, jar, 'GET', '/');
    await request(g, jar, 'POST', '/logout', { csrf: hiddenField(home.body, 'csrf') });
    const r = await refresh(g, t);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ error: 'invalid_grant' });
    expect(lastDenied(g)).toMatchObject({ reason: 'session-ended', user: 'alice' });
  });

  it('the grant ends with the session (absolute timeout)', async () => {
    const g = await gateway();
    const { refresh: t } = await signedIn(g);
    g.clock.now += g.config.session.absoluteTimeoutSeconds * 1000 + 1000;
    expect((await refresh(g, t)).statusCode).toBe(400);
  });

  it('`pai-sso session revoke --user` (the record revoked in the shared store) stops refreshes', async () => {
    const store = createMemoryStore();
    gw = await startGateway({ config: cliConfig(), users: { alice: { password: PASSWORD, groups: ['ml'] } }, store });
    const { refresh: t } = await signedIn(gw);
    await createSessionRecords(store, { absoluteTimeoutMs: 8 * 3600_000 }).revokeUser('alice');
    expect((await refresh(gw, t)).statusCode).toBe(400);
    expect(lastDenied(gw)).toMatchObject({ reason: 'session-ended' });
    await store.close();
  });

  it('/cli/revoke ends a grant', async () => {
    const g = await gateway();
    const { refresh: t } = await signedIn(g);
    const res = await g.app.inject({ method: 'POST', url: '/cli/revoke', payload: { token: t } });
    expect(res.statusCode).toBe(200);
    expect((await refresh(g, t)).statusCode).toBe(400);
  });
});

describe('device flow', () => {
  const start = async (g: TestGateway, body: Record<string, string> = {}) => {
    const res = await g.app.inject({
      method: 'POST',
      url: '/cli/device/code',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ client_id: 'pai-sso-cli', ...body }).toString(),
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{
      device_code: string;
      user_code: string;
      verification_uri: string;
      verification_uri_complete: string;
      interval: number;
      expires_in: number;
    }>();
  };
  const poll = (g: TestGateway, deviceCode: string) =>
    token(g, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode });

  it('pending, slow_down, approval in a signed-in browser, then the Response once', async () => {
    const g = await gateway();
    const d = await start(g);
    expect(d.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(d.verification_uri).toBe('http://localhost:8080/cli/device');
    expect(d).toMatchObject({ interval: 2, expires_in: 600 });

    expect((await poll(g, d.device_code)).json()).toMatchObject({ error: 'authorization_pending' });
    expect((await poll(g, d.device_code)).json()).toMatchObject({ error: 'slow_down' });

    const { jar } = await login(g, 'alice', PASSWORD);
    const page = await request(g, jar, 'GET', `/cli/device?user_code=${d.user_code.toLowerCase().replace('-', '')}`);
    expect(page.statusCode, page.body).toBe(200);
    expect(page.body).toContain(d.user_code);
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const done = await request(g, jar, 'POST', '/cli/device', {
      csrf: hiddenField(page.body, 'csrf'),
      user_code: d.user_code,
      role: 'dev',
      decision: 'allow',
    });
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('Access allowed');

    g.clock.now += 2000;
    const out = await poll(g, d.device_code);
    expect(out.statusCode, out.body).toBe(200);
    expect(out.json<Record<string, unknown>>()['role']).toMatchObject({ key: 'dev' });
    expect(audits(g, 'credentials.authorized').at(-1)).toMatchObject({ flow: 'device', grant: 'device_code', user: 'alice' });
    g.clock.now += 2000;
    expect((await poll(g, d.device_code)).json()).toMatchObject({ error: 'expired_token' });
    // The user code was used: entering it again is refused.
    expect((await request(g, jar, 'GET', `/cli/device?user_code=${d.user_code}`)).statusCode).toBe(400);
  });

  it('an expired device code is refused with expired_token and an audit line', async () => {
    const g = await gateway();
    const d = await start(g);
    g.clock.now += 601_000;
    const res = await poll(g, d.device_code);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'expired_token' });
    expect(lastDenied(g)).toMatchObject({ reason: 'device-code-expired', flow: 'device' });
    const { jar } = await login(g, 'alice', PASSWORD);
    expect((await request(g, jar, 'GET', `/cli/device?user_code=${d.user_code}`)).statusCode).toBe(400);
    expect(lastDenied(g)).toMatchObject({ reason: 'unknown-user-code' });
  });

  it('denied in the browser: access_denied; a cli: false role cannot be approved', async () => {
    const g = await gateway();
    const d = await start(g, { role: 'console' });
    const { jar } = await login(g, 'alice', PASSWORD);
    const page = await request(g, jar, 'GET', `/cli/device?user_code=${d.user_code}`);
    expect(page.statusCode).toBe(403);
    expect(lastDenied(g)).toMatchObject({ reason: 'role-console-only', flow: 'device' });

    const d2 = await start(g);
    const page2 = await request(g, jar, 'GET', `/cli/device?user_code=${d2.user_code}`);
    await request(g, jar, 'POST', '/cli/device', {
      csrf: hiddenField(page2.body, 'csrf'),
      user_code: d2.user_code,
      role: 'dev',
      decision: 'deny',
    });
    expect((await poll(g, d2.device_code)).json()).toMatchObject({ error: 'access_denied' });
  });
});
