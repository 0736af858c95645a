import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeaderSource } from '../../src/identity/header.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { SEED, applyMutation, fuzz, fuzzConfig, hostileString, isHandoff, mutation, noServerError, verifyHandoff } from './fuzz.js';

// Proxy headers: identity asserted by an authenticating proxy (src/identity/header.ts) and
// X-Forwarded-* believed from server.trustedProxies only, under random peers and headers.

const SECRET = 'proxy-shared-secret-0123456789';
const IDENTITY_PROXY = '10.0.0.5';
const REVERSE_PROXY = '10.0.0.9';
const header = {
  label: 'Proxy',
  trustedSources: [IDENTITY_PROXY],
  secretHeader: 'x-proxy-secret',
  secretEnv: 'PAI_SSO_PROXY_SECRET',
  userHeader: 'x-forwarded-user',
  emailHeader: 'x-forwarded-email',
  groupsHeader: 'x-forwarded-groups',
  groupsSeparator: ',',
};

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({
    config: fuzzConfig({
      server: { trustedProxies: [REVERSE_PROXY] },
      identity: { source: ['header', 'local'], header },
    }),
    extraSources: [createHeaderSource(header, { PAI_SSO_PROXY_SECRET: SECRET })],
  });
});
afterAll(() => gw.close());

/** Header values a client can put on the wire (visible ASCII and tab). */
const wire = (max = 40) => hostileString(max).map((s) => s.replace(/[^\t\x20-\x7e]/g, ''));
const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom(IDENTITY_PROXY, REVERSE_PROXY, '127.0.0.1', 'unknown', '10.0.0.5, 10.0.0.5'));
const groupList = fc.array(
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom('ml', 'ml-admins', 'sales', ' ml-admins ', 'ML-ADMINS') }, wire(16)),
  { maxLength: 4 },
);

const headerCase = fc.record({
  peer: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(IDENTITY_PROXY, `::ffff:${IDENTITY_PROXY}`) },
    fc.constantFrom(REVERSE_PROXY, '192.0.2.7', '127.0.0.1', '::1', '10.0.0.6'),
  ),
  secret: fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('one' as const), m: mutation(12) }) },
    fc.constant({ kind: 'twice' as const }),
    fc.constant({ kind: 'none' as const }),
  ),
  user: fc.option(fc.oneof(fc.constantFrom('zoe', 'admin', 'alice'), wire(20)), { nil: undefined, freq: 6 }),
  userTwice: fc.boolean(),
  email: fc.option(wire(30), { nil: undefined }),
  groups: fc.oneof({ weight: 3, arbitrary: groupList.map((g) => [g]) }, fc.array(groupList, { maxLength: 3 })),
  forwardedFor: fc.option(fc.array(ip, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  forwardedProto: fc.option(fc.constantFrom('https', 'http', 'gopher', ''), { nil: undefined }),
  forwardedHost: fc.option(fc.oneof(fc.constant('evil.example'), wire(20)), { nil: undefined }),
  extra: fc.dictionary(
    fc.constantFrom('x-real-ip', 'forwarded', 'x-forwarded-port', 'x-original-url', 'host', 'x-forwarded-user '),
    wire(30),
    { maxKeys: 2 },
  ),
  path: fc.constantFrom('/sso/pai?target=pai', '/sso/pai?target=pai&role=admin', '/', '/login'),
});

describe(`fuzz proxy headers (seed ${SEED})`, () => {
  it('the well-formed request from the identity proxy is a hand-off (what the fuzzing departs from)', async () => {
    const res = await gw.app.inject({
      method: 'GET',
      url: '/sso/pai?target=pai',
      headers: { 'x-proxy-secret': SECRET, 'x-forwarded-user': 'zoe', 'x-forwarded-groups': 'sales, ml' },
      remoteAddress: IDENTITY_PROXY,
    });
    expect(isHandoff(res)).toBe(true);
    await verifyHandoff(res, gw.keys.current.pem, ['sales', 'ml']);
  });

  it('random peers and headers: never a 5xx; a hand-off only from the identity proxy with its secret, for groups it sent, never through X-Forwarded-For', async () => {
    let handoffs = 0;
    await fuzz(headerCase, 200, async (c) => {
      const headers: Record<string, string | string[]> = { ...c.extra };
      let sentSecret: string | undefined;
      if (c.secret.kind === 'one') headers['x-proxy-secret'] = sentSecret = applyMutation(SECRET, c.secret.m);
      else if (c.secret.kind === 'twice') headers['x-proxy-secret'] = [SECRET, SECRET];
      if (c.user !== undefined) headers['x-forwarded-user'] = c.userTwice ? [c.user, 'ceo'] : c.user;
      if (c.email !== undefined) headers['x-forwarded-email'] = c.email;
      if (c.groups.length === 1) headers['x-forwarded-groups'] = (c.groups[0] ?? []).join(',');
      else if (c.groups.length > 1) headers['x-forwarded-groups'] = c.groups.map((g) => g.join(','));
      if (c.forwardedFor) headers['x-forwarded-for'] = c.forwardedFor.join(', ');
      if (c.forwardedProto !== undefined) headers['x-forwarded-proto'] = c.forwardedProto;
      if (c.forwardedHost !== undefined) headers['x-forwarded-host'] = c.forwardedHost;
      let res;
      try {
        res = await gw.app.inject({ method: 'GET', url: c.path, headers, remoteAddress: c.peer });
      } catch (err) {
        // Only what Node itself refuses to put on the wire may fail before reaching the server.
        expect(String(err)).toMatch(/Invalid|header/i);
        return;
      }
      noServerError(res, `GET ${c.path}`);
      if (!isHandoff(res)) return;
      handoffs++;
      expect(c.path.startsWith('/sso/pai')).toBe(true);
      expect(c.peer.replace(/^::ffff:/, '')).toBe(IDENTITY_PROXY);
      // A header value's leading and trailing blanks are not part of it (RFC 9110, 5.5).
      expect(sentSecret?.replace(/^[ \t]+|[ \t]+$/g, '')).toBe(SECRET);
      expect(c.user).toBeDefined();
      // Whatever the gateway made of several groups headers, only groups the proxy sent count
      // (a value holding the separator is several groups).
      const sent = c.groups
        .flat()
        .join(header.groupsSeparator)
        .split(header.groupsSeparator)
        .map((g) => g.trim());
      await verifyHandoff(res, gw.keys.current.pem, sent);
    });
    expect(handoffs).toBeGreaterThan(0);
  });
});
