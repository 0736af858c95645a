import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningPair } from '../../src/keys/generate.js';
import { createClients, resolveCredential } from '../../src/ram/clients.js';
import { Cloud, CloudCallError } from '../../src/ram/cloud.js';
import { buildMetadata } from '../../src/saml/metadata.js';
import { AlibabaEmulator } from '../emulators/alibaba.js';
import { ACCOUNT, AK } from './helpers.js';

// The emulator has to be as strict as the cloud where `register` could get it wrong;
// these talk to it through the real SDKs and our Cloud wrapper.

const STS = { id: 'STS.EmulatorTokenKey01', secret: 'sts-secret-9fK2mQ7vXwL0', token: 'CAIS-emulator-token-0123456789' };
let emu: AlibabaEmulator;
let cloud: Cloud;
let certs: string[];
const noRetry = { retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0, sleep: async () => {} } };

const cloudFor = (env: NodeJS.ProcessEnv) =>
  new Cloud(
    createClients(resolveCredential(undefined, env).credential, {
      ims: emu.endpoint,
      ram: emu.endpoint,
      sts: emu.endpoint,
      aiworkspace: emu.endpoint,
      protocol: 'http',
    }),
    noRetry,
  );

async function failure(p: Promise<unknown>): Promise<CloudCallError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CloudCallError) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

/** buildMetadata itself refuses a third cert, so the over-limit document is spliced by hand. */
function meta(n: number): string {
  let xml = buildMetadata({
    entityId: 'https://idp',
    ssoUrl: 'https://idp/sso',
    certificates: certs.slice(0, Math.min(n, 2)),
    nameIdFormat: 'persistent',
  });
  for (let i = 2; i < n; i++) {
    const kd = /\s*<md:KeyDescriptor[\s\S]*?<\/md:KeyDescriptor>/.exec(xml)![0];
    xml = xml.replace(kd, kd + kd);
  }
  return Buffer.from(xml).toString('base64');
}

beforeAll(async () => {
  emu = new AlibabaEmulator([
    { accessKeyId: AK.id, accessKeySecret: AK.secret, accountId: ACCOUNT },
    { accessKeyId: STS.id, accessKeySecret: STS.secret, accountId: ACCOUNT, securityToken: STS.token },
  ]);
  await emu.start();
  cloud = cloudFor({ ALIBABA_CLOUD_ACCESS_KEY_ID: AK.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: AK.secret });
  const pem = (await generateSigningPair('e.test', 2)).certPem;
  const b64 = pem.replace(/-----[^-]+-----|\s/g, '');
  certs = [b64, b64, b64];
});
afterAll(async () => {
  await emu.stop();
});

describe('emulator strictness', () => {
  it('SAML provider names, metadata base64, one EntityDescriptor, at most 2 signing certs', async () => {
    expect((await failure(cloud.createSamlProvider('-bad', meta(1), '', 'rsa-sha256'))).apiCode).toBe(
      'InvalidParameter.SAMLProviderName.InvalidChars',
    );
    expect((await failure(cloud.createSamlProvider('x'.repeat(129), meta(1), '', 'rsa-sha256'))).apiCode).toBe(
      'InvalidParameter.SAMLProviderName.Length',
    );
    expect((await failure(cloud.createSamlProvider('p1', 'not base64!', '', 'rsa-sha256'))).apiCode).toBe(
      'InvalidParameter.EncodedSAMLMetadataDocument.Base64',
    );
    const three = await failure(cloud.createSamlProvider('p1', meta(3), '', 'rsa-sha256'));
    expect(three.message).toMatch(/at most 2 signing certificates/);
    const aggregate = Buffer.from(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>`).toString('base64');
    expect((await failure(cloud.createSamlProvider('p1', aggregate, '', 'rsa-sha256'))).message).toMatch(/one md:EntityDescriptor/);
    expect((await failure(cloud.createSamlProvider('p1', meta(1), '', 'rsa-md5'))).apiCode).toBe('InvalidParameter.AuthnSignAlgo');
    await cloud.createSamlProvider('p1', meta(2), 'ok', 'rsa-sha256');
    expect(three.requestId).toMatch(/-EMU$/);
    // The emulator answers a duplicate with 409; register reads the provider and, finding other metadata, refuses.
    await expect(cloud.createSamlProvider('p1', meta(1), '', 'rsa-sha256')).rejects.toThrow(
      /CreateSAMLProvider p1: it already exists but differs from what register sent \(other metadata, description "ok"\)/,
    );
    expect(emu.calls.slice(-2).map((c) => [c.action, c.status])).toEqual([
      ['CreateSAMLProvider', 409],
      ['GetSAMLProvider', 200],
    ]);
    expect((await cloud.getSamlProvider('p1'))!.metadataBase64).toBe(meta(2));
    expect(await cloud.getSamlProvider('nope')).toBeNull();
  });

  it('role names, trust policy JSON and condition keys, MaxSessionDuration range, policy documents', async () => {
    const trust = JSON.stringify({
      Version: '1',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Federated: ['x'] },
          Condition: { StringEquals: { 'saml:recipient': 'r' } },
        },
      ],
    });
    expect((await failure(cloud.createRole('bad_name', trust, 3600, undefined, {}))).apiCode).toBe(
      'InvalidParameter.RoleName.InvalidChars',
    );
    expect((await failure(cloud.createRole('r'.repeat(65), trust, 3600, undefined, {}))).apiCode).toBe('InvalidParameter.RoleName.Length');
    expect((await failure(cloud.createRole('r1', '{"Version":', 3600, undefined, {}))).apiCode).toBe('MalformedPolicyDocument');
    const saml = trust.replace('"saml:recipient":"r"', '"saml:recipient":"r","saml:sub":"s"');
    expect((await failure(cloud.createRole('r1', saml, 3600, undefined, {}))).apiCode).toBe('MalformedPolicyDocument');
    expect((await failure(cloud.createRole('r1', trust, 900, undefined, {}))).apiCode).toBe('InvalidParameter.MaxSessionDuration');
    expect((await cloud.createRole('r1', trust, 3600, undefined, {}))!.roleId).toMatch(/^\d{19}$/);
    // A repeated create that finds the same role succeeds; one that finds a different role is a conflict.
    expect((await cloud.createRole('r1', trust, 3600, undefined, {}))!.roleId).toMatch(/^\d{19}$/);
    await expect(cloud.createRole('r1', trust, 7200, undefined, {})).rejects.toThrow(
      /CreateRole r1: it already exists but differs .*MaxSessionDuration 3600/,
    );
    const big = JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'x'.repeat(6200), Resource: '*' }] });
    expect((await failure(cloud.createPolicy('p-big', big, 'd', {}))).apiCode).toBe('InvalidParameter.PolicyDocument.Length');
    expect((await failure(cloud.createPolicy('p_bad', '{"Version":"1","Statement":[]}', 'd', {}))).apiCode).toBe(
      'InvalidParameter.PolicyName.InvalidChars',
    );
    expect((await failure(cloud.attachPolicy('r1', { type: 'System', name: 'NoSuchPolicy' }))).apiCode).toBe('EntityNotExist.Policy');
    expect((await failure(cloud.detachPolicy('ghost', { type: 'System', name: 'AliyunPAIFullAccess' }))).apiCode).toBe(
      'EntityNotExist.Role',
    );
  });

  it('policy versions stop at 5 unless rotation is asked for', async () => {
    const d = (a: string) => JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: a, Resource: '*' }] });
    await cloud.createPolicy('versions', d('a:1'), 'd', {});
    for (let i = 2; i <= 5; i++) await cloud.createPolicyVersion('versions', d(`a:${i}`), false);
    expect((await failure(cloud.createPolicyVersion('versions', d('a:6'), false))).apiCode).toBe('LimitExceeded.Policy.Version');
    await cloud.createPolicyVersion('versions', d('a:6'), true);
    expect((await cloud.getCustomPolicy('versions'))?.document).toBe(d('a:6'));
  });

  it('STS credentials: the security token is sent, checked, and never printed', async () => {
    const sts = cloudFor({
      ALIBABA_CLOUD_ACCESS_KEY_ID: STS.id,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: STS.secret,
      ALIBABA_CLOUD_SECURITY_TOKEN: STS.token,
    });
    expect(await sts.getSamlProvider('p1')).not.toBeNull();
    const bad = cloudFor({
      ALIBABA_CLOUD_ACCESS_KEY_ID: STS.id,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: STS.secret,
      ALIBABA_CLOUD_SECURITY_TOKEN: 'CAIS-wrong',
    });
    const e = await failure(bad.getSamlProvider('p1'));
    expect(e.apiCode).toBe('InvalidSecurityToken.Mismatch');
    expect(e.message).not.toContain(STS.secret);
    expect(e.message).not.toContain('CAIS-wrong');
  });

  it('AIWorkspace ROA calls are signed over path and body; members must be roles of the account', async () => {
    emu.addWorkspace(ACCOUNT, '777', 'cn-shanghai');
    const role = (await cloud.getRole('r1'))!;
    expect(await cloud.findMember('cn-shanghai', '777', role.roleId)).toBeNull();
    expect((await failure(cloud.createMember('cn-shanghai', '777', '42', ['PAI.AlgoDeveloper']))).apiCode).toBe('InvalidParameter.UserId');
    expect((await failure(cloud.createMember('cn-shanghai', '999', role.roleId, ['PAI.AlgoDeveloper']))).apiCode).toBe(
      'WorkspaceNotExists',
    );
    await cloud.createMember('cn-shanghai', '777', role.roleId, ['PAI.AlgoDeveloper']);
    const m = (await cloud.findMember('cn-shanghai', '777', role.roleId))!;
    expect(m.roles).toEqual(['PAI.AlgoDeveloper']);
    await cloud.addMemberRole('cn-shanghai', '777', m.memberId, 'PAI.AlgoOperator');
    await cloud.removeMemberRole('cn-shanghai', '777', m.memberId, 'PAI.AlgoDeveloper');
    expect((await cloud.findMember('cn-shanghai', '777', role.roleId))!.roles).toEqual(['PAI.AlgoOperator']);

    const wrong = cloudFor({ ALIBABA_CLOUD_ACCESS_KEY_ID: AK.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'wrong-secret' });
    expect((await failure(wrong.createMember('cn-shanghai', '777', role.roleId, ['PAI.AlgoDeveloper']))).apiCode).toBe(
      'SignatureDoesNotMatch',
    );
  });
});
