import { createPrivateKey, createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT, harness, type Harness } from '../ram/helpers.js';
import { AlibabaEmulator } from '../emulators/alibaba.js';
import { createSigner } from '../../src/saml/sign.js';
import { buildResponseParts, type AssertionInput } from '../../src/saml/assertion.js';
import { newId } from '../../src/saml/issue.js';
import { SITES, roleArn as arnOfRole, samlProviderArn } from '../../src/alibaba.js';
import { generateSigningPair } from '../../src/keys/generate.js';
import { assumeRoleWithSaml, clampDuration, StsCallError, stsHint } from '../../src/sts/assume-role-with-saml.js';

// The emulator's STS judges assertions as STS does, after `register apply` created the
// provider (with the gateway's metadata) and the roles (with their trust policies). The
// client is the real @alicloud/sts20150401; every negative is refused with STS's error shape.

let h: Harness;
const DEV = arnOfRole(ACCOUNT, 'pai-developer');
const ADMIN = arnOfRole(ACCOUNT, 'pai-admin');
const PROVIDER = samlProviderArn(ACCOUNT, 'corp-idp');
const ENTITY = 'https://sso.example.test/saml/metadata';
let attacker: { privateKey: ReturnType<typeof createPrivateKey>; certPem: string };

beforeAll(async () => {
  h = await harness();
  const apply = await h.run(['apply', '--yes']);
  expect(apply.code, apply.stderr).toBe(0);
  const pair = await generateSigningPair('attacker.example', 30);
  attacker = { privateKey: createPrivateKey(pair.keyPem), certPem: pair.certPem };
});
afterAll(async () => {
  await h.close();
});

function response(over: Partial<AssertionInput> = {}, keys = { privateKey: h.keys.privateKey, certPem: h.keys.current.pem }): string {
  const now = new Date();
  const parts = buildResponseParts({
    issuer: ENTITY,
    acs: SITES.cn.acs,
    audience: SITES.cn.audience,
    now,
    responseId: newId(),
    assertionId: newId(),
    sessionIndex: '_s1',
    lifetimeSeconds: 300,
    skewSeconds: 60,
    nameId: { format: 'persistent', value: 'id-alice' },
    authnInstant: now,
    sessionNotOnOrAfter: new Date(now.getTime() + 7200_000),
    roles: [{ roleArn: DEV, providerArn: PROVIDER }],
    roleSessionName: 'alice',
    ...over,
  });
  return Buffer.from(createSigner(keys, { signResponse: false }).sign(parts), 'utf8').toString('base64');
}

const endpoint = () => `http://${h.emulator.endpoint}`;
const call = (samlResponse: string, over: { roleArn?: string; providerArn?: string; durationSeconds?: number } = {}) =>
  assumeRoleWithSaml({ endpoint: endpoint(), samlResponse, roleArn: DEV, providerArn: PROVIDER, durationSeconds: 3600, ...over });

async function refusal(p: Promise<unknown>): Promise<StsCallError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StsCallError);
  return err as StsCallError;
}

describe('STS AssumeRoleWithSAML in the emulator', () => {
  it('a gateway-signed assertion gets temporary credentials; the assertion travels in the body, never in the URL', async () => {
    const saml = response();
    const creds = await call(saml, { durationSeconds: 1800 });
    expect(creds.accessKeyId).toMatch(/^STS\./);
    expect(creds.securityToken.length).toBeGreaterThan(100);
    expect(creds.assumedRoleArn).toBe(`acs:ram::${ACCOUNT}:assumed-role/pai-developer/alice`);
    const issued = h.emulator.stsIssued.at(-1)!;
    expect(issued.accessKeyId).toBe(creds.accessKeyId);
    expect(issued.roleArn).toBe(DEV);
    const lifetime = Date.parse(creds.expiration) - Date.now();
    expect(lifetime).toBeGreaterThan(1700_000);
    expect(lifetime).toBeLessThanOrEqual(1800_000);
    const sts = h.emulator.calls.filter((c) => c.action === 'AssumeRoleWithSAML');
    expect(sts.at(-1)!.status).toBe(200);
    for (const c of sts) {
      expect(c.url).not.toContain('SAMLAssertion');
      expect(c.url.length).toBeLessThan(400);
    }
  });

  it('the token lives no longer than SessionNotOnOrAfter', async () => {
    const creds = await call(response({ sessionNotOnOrAfter: new Date(Date.now() + 1000_000) }), { durationSeconds: 3600 });
    expect(Date.parse(creds.expiration) - Date.now()).toBeLessThanOrEqual(1000_000);
  });

  it('refuses a provider that does not exist, and a role that does not exist', async () => {
    const e1 = await refusal(call(response(), { providerArn: samlProviderArn(ACCOUNT, 'nope') }));
    expect([e1.apiCode, e1.statusCode]).toEqual(['EntityNotExist.SAMLProvider', 404]);
    expect(e1.message).toContain('pai-sso register apply');
    const e2 = await refusal(call(response(), { roleArn: arnOfRole(ACCOUNT, 'ghost') }));
    expect([e2.apiCode, e2.statusCode]).toEqual(['EntityNotExist.RoleArn', 404]);
  });

  it('refuses a signature by another key, with its certificate in KeyInfo', async () => {
    const e = await refusal(call(response({}, attacker)));
    expect([e.apiCode, e.statusCode]).toEqual(['AuthenticationFail.SAMLAssertion.Invalid', 401]);
    expect(e.message).toContain('does not verify');
    expect(e.message).toContain('pai-sso register plan');
  });

  it('refuses a signature by another key that carries that key as a raw KeyValue (the key is pinned)', async () => {
    const xml = Buffer.from(response({}, attacker), 'base64').toString('utf8');
    const jwk = createPublicKey(attacker.privateKey).export({ format: 'jwk' });
    const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64url').toString('base64');
    const keyValue = `<ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>${b64(jwk.n)}</ds:Modulus><ds:Exponent>${b64(jwk.e)}</ds:Exponent></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo>`;
    const forged = xml.replace(/<ds:KeyInfo>.*?<\/ds:KeyInfo>/, keyValue);
    expect(forged).toContain('RSAKeyValue');
    const e = await refusal(call(Buffer.from(forged).toString('base64')));
    expect(e.apiCode).toBe('AuthenticationFail.SAMLAssertion.Invalid');
  });

  it('refuses a Role attribute changed after signing', async () => {
    const xml = Buffer.from(response(), 'base64').toString('utf8');
    const tampered = xml.replace(`${DEV},${PROVIDER}`, `${ADMIN},${PROVIDER}`);
    expect(tampered).not.toBe(xml);
    const e = await refusal(call(Buffer.from(tampered).toString('base64'), { roleArn: ADMIN }));
    expect(e.apiCode).toBe('AuthenticationFail.SAMLAssertion.Invalid');
  });

  it('refuses an Issuer other than the metadata entityID (trailing slash included)', async () => {
    const e = await refusal(call(response({ issuer: `${ENTITY}/` })));
    expect(e.apiCode).toBe('AuthenticationFail.SAMLAssertion.Invalid');
    expect(e.message).toContain('entityID');
  });

  it("refuses another site's audience", async () => {
    const e = await refusal(call(response({ audience: SITES.intl.audience })));
    expect(e.apiCode).toBe('AuthenticationFail.SAMLAssertion.Invalid');
    expect(e.message).toContain('Audience');
  });

  it("refuses a Recipient the role's saml:recipient condition does not allow", async () => {
    const e = await refusal(call(response({ acs: SITES.intl.acs })));
    expect([e.apiCode, e.statusCode]).toEqual(['NoPermission', 403]);
    expect(e.message).toContain('saml:recipient');
  });

  it('refuses when the trust policy does not trust the provider', async () => {
    const role = h.emulator.account(ACCOUNT).roles.get('pai-admin')!;
    const saved = role.trust;
    role.trust = saved.replaceAll('saml-provider/corp-idp', 'saml-provider/other-idp');
    try {
      const e = await refusal(call(response({ roles: [{ roleArn: ADMIN, providerArn: PROVIDER }] }), { roleArn: ADMIN }));
      expect(e.apiCode).toBe('NoPermission');
      expect(e.message).toContain('does not trust');
    } finally {
      role.trust = saved;
    }
  });

  it('refuses a role the assertion does not carry', async () => {
    const e = await refusal(call(response(), { roleArn: ADMIN }));
    expect(e.apiCode).toBe('AuthenticationFail.SAMLAssertion.Invalid');
    expect(e.message).toContain('Role attribute');
  });

  it('refuses an invalid RoleSessionName', async () => {
    const e = await refusal(call(response({ roleSessionName: 'a b' })));
    expect([e.apiCode, e.statusCode]).toEqual(['InvalidParameter.RoleSessionName', 400]);
  });

  it('refuses an expired assertion', async () => {
    const e = await refusal(call(response({ now: new Date(Date.now() - 3600_000), authnInstant: new Date(Date.now() - 3600_000) })));
    expect([e.apiCode, e.statusCode]).toEqual(['AuthenticationFail.SAMLAssertion.Expired', 401]);
    expect(e.message).toContain('clocks');
  });

  it('refuses the same assertion twice', async () => {
    const saml = response();
    await call(saml);
    const e = await refusal(call(saml));
    expect(e.apiCode).toBe('AuthenticationFail.SAMLAssertion.Invalid');
    expect(e.message).toContain('already been used');
  });

  it("refuses DurationSeconds outside 900..the role's MaxSessionDuration", async () => {
    const over = await refusal(call(response(), { durationSeconds: 7201 }));
    expect([over.apiCode, over.statusCode]).toEqual(['InvalidParameter.DurationSeconds', 400]);
    expect(over.message).toContain('--duration');
    const under = await refusal(call(response(), { durationSeconds: 899 }));
    expect(under.apiCode).toBe('InvalidParameter.DurationSeconds');
    // 7200 is the role's maximum (register set it from sessionDuration).
    await expect(call(response(), { durationSeconds: 7200 })).resolves.toBeDefined();
  });

  it('refuses missing parameters with MissingParameter.*', async () => {
    const res = await fetch(`${endpoint()}/`, {
      method: 'POST',
      headers: { 'x-acs-action': 'AssumeRoleWithSAML', 'x-acs-version': '2015-04-01', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ RoleArn: DEV, SAMLProviderArn: PROVIDER }).toString(),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { Code: string }).Code).toBe('MissingParameter.SAMLAssertion');
  });

  it('an unreachable endpoint is an error that says so, without the assertion', async () => {
    const saml = response();
    const e = await refusal(
      assumeRoleWithSaml({ endpoint: 'http://127.0.0.1:1', samlResponse: saml, roleArn: DEV, providerArn: PROVIDER, durationSeconds: 900 }),
    );
    expect(e.kind).toBe('unavailable');
    expect(e.message).toContain('cannot reach');
    expect(e.message).not.toContain(saml.slice(0, 40));
  });

  it('an international-site STS refuses a China-site assertion', async () => {
    const intl = new AlibabaEmulator([], { site: 'intl' });
    for (const [id, a] of h.emulator.accounts) intl.accounts.set(id, a);
    await intl.start();
    try {
      const e = await refusal(
        assumeRoleWithSaml({
          endpoint: `http://${intl.endpoint}`,
          samlResponse: response(),
          roleArn: DEV,
          providerArn: PROVIDER,
          durationSeconds: 900,
        }),
      );
      expect(e.message).toContain('Audience');
    } finally {
      await intl.stop();
    }
  });
});

describe('duration and hints', () => {
  it('clamps DurationSeconds to 900..the role maximum', () => {
    expect(clampDuration(60, 3600)).toBe(900);
    expect(clampDuration(7200, 3600)).toBe(3600);
    expect(clampDuration(7200, 43200)).toBe(7200);
    expect(clampDuration(99999, 99999)).toBe(43200);
  });
  it('names what to do for each refusal', () => {
    expect(stsHint('AuthenticationFail.SAMLAssertion.Invalid')).toContain('register plan');
    expect(stsHint('AuthenticationFail.IDPMetadata.Invalid')).toContain('register plan');
    expect(stsHint('SomethingElse')).toBeUndefined();
  });
});
