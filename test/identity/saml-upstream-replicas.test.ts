import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { ENTRA_GROUPS_CLAIM, SamlIdentitySchema, type SamlIdentityConfig } from '../../src/config/identity-saml-schema.js';
import { createSamlUpstreamSource, SAML_UPSTREAM_PATHS } from '../../src/identity/saml-upstream.js';
import { createStoreReplayCache } from '../../src/identity/saml-upstream-replay.js';
import { generateSigningPair, type GeneratedPair } from '../../src/keys/generate.js';
import { createMemoryStore } from '../../src/state/memory.js';
import type { StateStore } from '../../src/state/store.js';
import { Jar, baseConfig, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { idpForm, startTestIdp, type TestIdp } from './saml-upstream-idp.js';

// Two gateways with the same config, keys and store: two replicas behind a balancer.

const BASE = 'http://localhost:8080';

let idpPair: GeneratedPair;
let idp: TestIdp;
let dir: string;
const open: TestGateway[] = [];

beforeAll(async () => {
  idpPair = await generateSigningPair('idp.example.test', 30);
  idp = await startTestIdp({ pair: idpPair });
  idp.user = { nameId: 'alice@example.com', attributes: { [ENTRA_GROUPS_CLAIM]: ['ml'] } };
  dir = await mkdtemp(join(tmpdir(), 'pai-sso-replicas-'));
});
afterAll(async () => {
  await Promise.all(open.map((g) => g.close()));
  await idp.close();
  await rm(dir, { recursive: true, force: true });
});

async function replica(store: StateStore): Promise<TestGateway> {
  const cfg = Value.Default(SamlIdentitySchema, {
    entryPoint: idp.ssoUrl,
    idpIssuer: idp.entityId,
    idpCertPem: idpPair.certPem,
    probeEntryPoint: false,
  }) as SamlIdentityConfig;
  const source = await createSamlUpstreamSource(cfg, { baseUrl: BASE, cookieName: 'pai_sso_saml' });
  const gw = await startGateway({
    config: baseConfig({ identity: { source: ['saml'], saml: cfg } }),
    extraSources: [source],
    keysDir: join(dir, 'keys'),
    store,
  });
  open.push(gw);
  idp.trustSp((await gw.app.inject({ method: 'GET', url: SAML_UPSTREAM_PATHS.metadata })).body);
  return gw;
}

/** Starts the login on `g`, signs in at the IdP, and returns the form plus a copy of the browser's state cookie. */
async function signInAtIdp(g: TestGateway) {
  const jar = new Jar();
  await request(g, jar, 'GET', '/login?returnTo=%2Fsso%2Fpai');
  const start = await request(g, jar, 'GET', SAML_UPSTREAM_PATHS.login);
  const form = idpForm(await (await fetch(String(start.headers.location))).text());
  const copy = new Jar();
  const state = jar.get('pai_sso_saml');
  if (state) copy.set('pai_sso_saml', state);
  return { jar, copy, form };
}

const post = (g: TestGateway, jar: Jar, samlResponse: string) =>
  request(g, jar, 'POST', SAML_UPSTREAM_PATHS.acs, { SAMLResponse: samlResponse });
const reasons = (g: TestGateway) => g.logs.filter((l) => l['audit'] === 'login.failed').map((l) => l['reason']);

describe('upstream SAML replay cache on the state store', () => {
  it('refuses on replica B a response accepted on replica A', async () => {
    const shared = createMemoryStore();
    const a = await replica(shared);
    const b = await replica(shared);
    const { jar, copy, form } = await signInAtIdp(a);
    expect((await post(a, jar, form.samlResponse)).statusCode).toBe(303);
    // The same response and the same browser state, at the other replica.
    const replay = await post(b, copy, form.samlResponse);
    expect(replay.statusCode).toBe(403);
    expect(reasons(b)).toEqual(['replayed-assertion']);
    expect(copy.get('pai_sso')).toBeUndefined();
  });

  it('(control) a replica with a store of its own would have accepted it', async () => {
    const a = await replica(createMemoryStore());
    const alone = await replica(createMemoryStore());
    const { jar, copy, form } = await signInAtIdp(a);
    expect((await post(a, jar, form.samlResponse)).statusCode).toBe(303);
    expect((await post(alone, copy, form.samlResponse)).statusCode).toBe(303);
  });

  it('sends an upstream SAML session whose groups are older than groupsMaxAgeSeconds to sign in again', async () => {
    const a = await replica(createMemoryStore());
    const { jar, form } = await signInAtIdp(a);
    expect((await post(a, jar, form.samlResponse)).statusCode).toBe(303);
    expect((await request(a, jar, 'GET', '/sso/pai')).statusCode).toBe(200);
    a.clock.now += 901_000;
    const res = await request(a, jar, 'GET', '/sso/pai');
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/login?returnTo=%2Fsso%2Fpai');
    expect(jar.get('pai_sso')).toBeUndefined();
    expect(a.logs.filter((l) => l['audit'] === 'groups.refresh')).toMatchObject([
      { result: 'sign-in-again', source: 'saml', user: 'alice@example.com' },
    ]);
  });

  it('remembers an ID until the assertion expires, then forgets it', async () => {
    const clock = { t: 1_000_000 };
    const store = createMemoryStore(() => clock.t);
    const cache = createStoreReplayCache(store, () => clock.t);
    expect(await cache.firstUse('_a', clock.t + 5000)).toBe(true);
    expect(await cache.firstUse('_a', clock.t + 5000)).toBe(false);
    clock.t += 5001;
    expect(await cache.firstUse('_a', clock.t + 5000)).toBe(true);
  });
});
