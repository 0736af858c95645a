import fc from 'fast-check';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcIdentitySchema, type OidcIdentityConfig } from '../../src/config/identity-oidc-schema.js';
import { createOidcSource } from '../../src/identity/oidc.js';
import { Jar, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startProvider, type TestProvider } from '../identity/oidc-provider.js';
import {
  SEED,
  applyMutation,
  cookieBytes,
  fuzz,
  fuzzConfig,
  hostileString,
  isHandoff,
  issuedCookies,
  mutation,
  noServerError,
  type Mutation,
  verifyHandoff,
} from './fuzz.js';

// The OIDC callback (src/identity/oidc.ts) against a real OpenID Provider, with random and
// mutated state, code and iss parameters and flow cookies: a session only for the code the
// provider issued for this flow, returned unchanged.

const CLIENT_ID = 'pai-sso-fuzz';
const CLIENT_SECRET = 'oidc-client-secret-fuzz-0123456789';
const BASE_URL = 'http://localhost:8080';
const ALICE_GROUPS = ['ml', 'sales'];

let idp: TestProvider;
let gw: TestGateway;
beforeAll(async () => {
  idp = await startProvider({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: `${BASE_URL}/oidc/callback`,
    accounts: { alice: { preferred_username: 'alice', email: 'alice@example.com', email_verified: true, groups: ALICE_GROUPS } },
  });
  const oidc = { issuer: idp.issuer, clientId: CLIENT_ID, scopes: ['openid', 'profile', 'email', 'groups'] };
  const cfg = Value.Default(OidcIdentitySchema, oidc) as OidcIdentityConfig;
  gw = await startGateway({
    config: fuzzConfig({ identity: { source: ['oidc'], oidc } }),
    extraSources: [createOidcSource(cfg, { baseUrl: BASE_URL, env: { PAI_SSO_OIDC_CLIENT_SECRET: CLIENT_SECRET } })],
  });
});
afterAll(async () => {
  await gw.close();
  await idp.close();
});

type Param = { kind: 'value'; m: Mutation } | { kind: 'absent' } | { kind: 'twice' };
/** A callback parameter: the provider's value (usually unchanged), left out, or sent twice. */
const param = (): fc.Arbitrary<Param> =>
  fc.oneof(
    { weight: 6, arbitrary: mutation(6).map((m) => ({ kind: 'value' as const, m })) },
    fc.constant({ kind: 'absent' as const }),
    fc.constant({ kind: 'twice' as const }),
  );

const KEEP: Param = { kind: 'value', m: { op: 'keep' } };
const PRISTINE = {
  state: KEEP,
  code: KEEP,
  iss: { kind: 'real' as const },
  error: undefined,
  extra: {},
  flowCookie: { m: { op: 'keep' as const } },
};

const tampered = fc.record({
  state: param(),
  code: param(),
  iss: fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: 'real' as const }) },
    fc.constant({ kind: 'absent' as const }),
    fc.record({ kind: fc.constant('other' as const), value: fc.oneof(fc.constant('https://evil.example'), hostileString(30)) }),
  ),
  error: fc.option(fc.record({ error: hostileString(20), description: hostileString(40) }), { nil: undefined, freq: 6 }),
  extra: fc.dictionary(hostileString(10), hostileString(20), { maxKeys: 2 }),
  flowCookie: fc.oneof({ weight: 6, arbitrary: mutation(8).map((m) => ({ m })) }, fc.constant(undefined)),
});
// A third of the runs bring back a code the provider really issued; a third of those
// return everything unchanged (the path that must succeed), the rest are tampered with.
const callbackCase = fc
  .tuple(
    fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 2, arbitrary: fc.constant(false) }),
    fc.oneof({ weight: 1, arbitrary: fc.constant(PRISTINE) }, { weight: 2, arbitrary: tampered }),
  )
  .map(([realCode, rest]) => ({ realCode, ...rest }));

describe(`fuzz the OIDC callback (seed ${SEED})`, () => {
  it('random state, code and iss: never a 5xx; a session only for the unchanged code of this flow; hand-offs verify', async () => {
    let sessions = 0;
    await fuzz(callbackCase, 60, async (c) => {
      const jar = new Jar();
      const start = await gw.app.inject({ method: 'GET', url: '/oidc/login' });
      expect(start.statusCode).toBe(302);
      jar.take(start);
      const authorizationUrl = new URL(String(start.headers.location));
      const real = c.realCode
        ? (await idp.authorize(authorizationUrl.href, 'alice')).searchParams
        : new URLSearchParams({
            state: authorizationUrl.searchParams.get('state') ?? '',
            code: 'not-a-code-from-the-provider',
            iss: idp.issuer,
          });
      const q = new URLSearchParams();
      const put = (name: string, p: Param): string | undefined => {
        const value = real.get(name) ?? '';
        if (p.kind === 'absent') return undefined;
        if (p.kind === 'twice') {
          q.append(name, value);
          q.append(name, value);
          return undefined;
        }
        const sent = applyMutation(value, p.m);
        q.append(name, sent);
        return sent;
      };
      const sentState = put('state', c.state);
      const sentCode = put('code', c.code);
      if (c.iss.kind === 'real') q.append('iss', real.get('iss') ?? idp.issuer);
      else if (c.iss.kind === 'other') q.append('iss', c.iss.value);
      if (c.error) {
        q.append('error', c.error.error);
        q.append('error_description', c.error.description);
      }
      for (const [k, v] of Object.entries(c.extra)) q.append(k, v);

      const flow = jar.get('pai_sso_oidc') ?? '';
      const sentFlow = c.flowCookie === undefined ? undefined : applyMutation(flow, c.flowCookie.m);
      const cookie = [
        jar.get('pai_sso_login') ? `pai_sso_login=${jar.get('pai_sso_login')}` : '',
        sentFlow === undefined ? '' : `pai_sso_oidc=${sentFlow}`,
      ]
        .filter(Boolean)
        .join('; ');
      const res = await gw.app.inject({ method: 'GET', url: `/oidc/callback?${q.toString()}`, headers: { cookie } });
      noServerError(res, 'GET /oidc/callback');
      expect(isHandoff(res)).toBe(false);
      if (res.headers.location !== undefined) expect(res.headers.location).toMatch(/^\/(?![/\\])/);
      if (issuedCookies(res, 'pai_sso').length === 0) return;

      sessions++;
      expect(c.realCode).toBe(true);
      expect(sentState).toBe(real.get('state'));
      expect(sentCode).toBe(real.get('code'));
      expect(cookieBytes(sentFlow ?? '')).toBe(cookieBytes(flow));
      expect(c.error).toBeUndefined();
      jar.take(res);
      const sso = await gw.app.inject({ method: 'GET', url: '/sso/pai?target=pai', headers: { cookie: jar.header() } });
      noServerError(sso, 'GET /sso/pai');
      expect(isHandoff(sso)).toBe(true);
      const { nameId } = await verifyHandoff(sso, gw.keys.current.pem, ALICE_GROUPS);
      expect(nameId).toBe('alice');
    });
    expect(sessions).toBeGreaterThan(0);
  });
});
