import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSigningPair } from '../../src/keys/generate.js';
import { loadOrCreateKeys } from '../../src/keys/store.js';
import { ACCOUNT, AK, OTHER_ACCOUNT, OTHER_AK, WORKSPACE, harness, sleeps, type Harness } from './helpers.js';

// The real IMS/RAM SDKs and the generic ROA call against the local emulator: every
// request is signed and verified, every document validated, state kept between calls.

let h: Harness;
beforeEach(async () => {
  h = await harness();
  sleeps.length = 0;
});
afterEach(async () => {
  await h.close();
});

const secretFree = (...texts: string[]) => {
  for (const t of texts) expect(t).not.toContain(AK.secret);
};

describe('register against the emulator', () => {
  it('empty account: plan shows creates (exit 3), apply creates everything, plan after exits 0', async () => {
    const plan = await h.run(['plan']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(/\+ create saml-provider\/corp-idp/);
    expect(plan.stdout).toMatch(/Plan: 6 to create, 0 to update, 0 to delete, 0 unchanged/);

    const apply = await h.run(['apply', '--yes']);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/Apply complete: 9 call\(s\) made/);

    const state = h.emulator.account(ACCOUNT);
    const provider = state.providers.get('corp-idp')!;
    expect(provider.algo).toBe('rsa-sha256');
    const metadata = Buffer.from(provider.doc, 'base64').toString('utf8');
    expect(metadata).toContain(h.keys.current.base64);

    const dev = state.roles.get('pai-developer')!;
    expect(dev.max).toBe(7200);
    const trust = JSON.parse(dev.trust) as { Statement: Array<Record<string, unknown>> };
    expect(trust.Statement).toContainEqual({
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Principal: { Federated: [`acs:ram::${ACCOUNT}:saml-provider/corp-idp`] },
      Condition: { StringEquals: { 'saml:recipient': ['https://signin.aliyun.com/saml-role/sso'] } },
    });
    expect(trust.Statement).toContainEqual({
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Principal: { Service: ['dataworks.aliyuncs.com'] },
    });
    const admin = JSON.parse(state.roles.get('pai-admin')!.trust) as { Statement: unknown[] };
    expect(admin.Statement).toHaveLength(1);
    expect([...state.attachments.get('pai-developer')!].sort()).toEqual(['Custom/PAIDefaultPolicy', 'System/AliyunPAIReadOnlyAccess']);
    expect([...state.attachments.get('pai-admin')!]).toEqual(['System/AliyunPAIFullAccess']);
    const members = [...state.workspaces.get(WORKSPACE)!.members.values()];
    expect(members.find((m) => m.userId === dev.id)?.roles).toEqual(['PAI.AlgoDeveloper']);

    const again = await h.run(['plan']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/No changes: 6 resource\(s\) match the config/);
    secretFree(plan.stdout, plan.stderr, apply.stdout, apply.stderr, again.stdout);
  });

  it('second apply is a no-op: no write calls, exit 0', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const writesBefore = h.emulator.writes().length;
    const second = await h.run(['apply', '--yes']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/No changes/);
    expect(h.emulator.writes().length).toBe(writesBefore);
  });

  it('plan --json carries the same plan', async () => {
    const r = await h.run(['plan', '--json']);
    expect(r.code).toBe(3);
    const json = JSON.parse(r.stdout) as {
      changes: boolean;
      summary: { create: number };
      accounts: Array<{ accountId: string; resources: Array<{ address: string; action: string; calls: Array<{ call: string }> }> }>;
    };
    expect(json.changes).toBe(true);
    expect((json as unknown as { formatVersion: number }).formatVersion).toBe(2);
    expect(json.summary.create).toBe(6);
    expect(json.accounts[0]!.accountId).toBe(ACCOUNT);
    const provider = json.accounts[0]!.resources.find((x) => x.address === 'saml-provider/corp-idp')!;
    expect(provider.action).toBe('create');
    expect(provider.calls[0]!.call).toBe('ims:CreateSAMLProvider');
    expect(r.stdout).not.toContain('metadataBase64');
  });

  it('rotated cert: the provider is updated with old and new cert fingerprints shown', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const next = await generateSigningPair('next.sso.example.test', 30);
    await writeFile(join(h.keysDir, 'next.crt'), next.certPem);
    h.keys = await loadOrCreateKeys({ dir: h.keysDir, commonName: 'sso.example.test', certValidityDays: 30 });
    const plan = await h.run(['plan']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(/~ update saml-provider\/corp-idp/);
    expect(plan.stdout).toContain(`+ signing cert SHA256 ${h.keys.next!.sha256}`);
    expect(plan.stdout).toMatch(/Plan: 0 to create, 1 to update, 0 to delete, 5 unchanged/);
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const doc = Buffer.from(h.emulator.account(ACCOUNT).providers.get('corp-idp')!.doc, 'base64').toString('utf8');
    expect(doc).toContain(h.keys.next!.base64);
    expect(doc).toContain(h.keys.current.base64);

    // The old cert retires: current := next, and the metadata loses the old one.
    const oldSha = h.keys.current.sha256;
    await rm(join(h.keysDir, 'next.crt'));
    await writeFile(join(h.keysDir, 'signing.key'), next.keyPem);
    await writeFile(join(h.keysDir, 'signing.crt'), next.certPem);
    h.keys = await loadOrCreateKeys({ dir: h.keysDir, commonName: 'sso.example.test', certValidityDays: 30 });
    const retire = await h.run(['plan']);
    expect(retire.stdout).toContain(`- signing cert SHA256 ${oldSha}`);
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    expect((await h.run(['plan'])).code).toBe(0);
  });

  it('a trust statement we did not write is kept, and the plan says so', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const role = h.emulator.account(ACCOUNT).roles.get('pai-admin')!;
    const foreign = { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { RAM: [`acs:ram::${ACCOUNT}:root`] } };
    const wrongSite = {
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Principal: { Federated: `acs:ram::${ACCOUNT}:saml-provider/corp-idp` },
      Condition: { StringEquals: { 'saml:recipient': 'https://signin.alibabacloud.com/saml-role/sso' } },
    };
    role.trust = JSON.stringify({ Version: '1', Statement: [foreign, wrongSite] });
    role.max = 3600;

    const plan = await h.run(['plan']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(/~ update role\/pai-admin/);
    expect(plan.stdout).toContain(
      '~ trust saml:recipient https://signin.alibabacloud.com/saml-role/sso -> https://signin.aliyun.com/saml-role/sso',
    );
    expect(plan.stdout).toContain(`note: kept trust statement we did not write: Allow sts:AssumeRole RAM acs:ram::${ACCOUNT}:root`);

    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const after = JSON.parse(h.emulator.account(ACCOUNT).roles.get('pai-admin')!.trust) as { Statement: unknown[] };
    expect(after.Statement).toContainEqual(foreign);
    expect(after.Statement).toHaveLength(2);
    expect((await h.run(['plan'])).code).toBe(0);

    // --prune is the only way the foreign statement goes.
    const prune = await h.run(['plan', '--prune']);
    expect(prune.code).toBe(3);
    expect(prune.stdout).toContain('- trust statement we did not write');
  });

  it('never detaches without --prune; --prune detaches what the config does not name', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    h.emulator.account(ACCOUNT).attachments.get('pai-admin')!.add('System/AliyunOSSReadOnlyAccess');
    const plan = await h.run(['plan']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('note: kept attached System/AliyunOSSReadOnlyAccess (not configured; --prune detaches it)');
    const prune = await h.run(['apply', '--yes', '--prune']);
    expect(prune.code).toBe(0);
    expect(prune.stdout).toContain('ram:DetachPolicyFromRole System/AliyunOSSReadOnlyAccess from pai-admin');
    expect([...h.emulator.account(ACCOUNT).attachments.get('pai-admin')!]).toEqual(['System/AliyunPAIFullAccess']);
  });

  it('max session duration below the role sessionDuration is raised; a missing PAI role is added', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const state = h.emulator.account(ACCOUNT);
    state.roles.get('pai-developer')!.max = 3600;
    const member = [...state.workspaces.get(WORKSPACE)!.members.values()].find((m) => m.roles.includes('PAI.WorkspaceAdmin'))!;
    member.roles = ['PAI.WorkspaceAdmin'];
    const plan = await h.run(['plan']);
    expect(plan.stdout).toContain('~ MaxSessionDuration 3600 -> 7200');
    expect(plan.stdout).toContain('+ PAI role PAI.AlgoDeveloper');
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    expect(state.roles.get('pai-developer')!.max).toBe(7200);
    expect(member.roles).toEqual(['PAI.WorkspaceAdmin', 'PAI.AlgoDeveloper']);
  });

  it('wrong credentials: clear error, exit 1, the secret never printed', async () => {
    const wrong = 'definitely-not-the-secret-4711';
    const r = await h.run(['plan'], { env: { ALIBABA_CLOUD_ACCESS_KEY_ID: AK.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: wrong } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sts:GetCallerIdentity failed: SignatureDoesNotMatch \(HTTP 400\)/);
    expect(r.stderr).toMatch(/AccessKey secret does not match/);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    const unknown = await h.run(['plan'], {
      env: { ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAIunknown000000', ALIBABA_CLOUD_ACCESS_KEY_SECRET: wrong },
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/InvalidAccessKeyId.NotFound \(HTTP 404\)/);
    expect(unknown.stdout + unknown.stderr).not.toContain(wrong);
  });

  it('a failure in the middle of apply says what was done and not done; a rerun converges', async () => {
    h.emulator.inject('AttachPolicyToRole', { status: 403, code: 'NoPermission', message: 'You are not authorized to do this action.' });
    const first = await h.run(['apply', '--yes']);
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/apply stopped/);
    expect(first.stderr).toMatch(
      /done \(3\):\n {4}\[prod\] ims:CreateSAMLProvider corp-idp\n {4}\[prod\] ram:CreatePolicy PAIDefaultPolicy\n {4}\[prod\] ram:CreateRole pai-developer/,
    );
    expect(first.stderr).toMatch(
      /failed:\n {4}\[prod\] ram:AttachPolicyToRole Custom\/PAIDefaultPolicy -> pai-developer\n {6}ram:AttachPolicyToRole failed: NoPermission \(HTTP 403\)/,
    );
    expect(first.stderr).toMatch(/not done \(5\):/);
    expect(first.stderr).toContain('aiworkspace:CreateMember pai-admin');
    secretFree(first.stdout, first.stderr);

    const plan = await h.run(['plan']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(/ok {5}saml-provider\/corp-idp/);
    expect(plan.stdout).toMatch(/~ update role\/pai-developer/);

    const rerun = await h.run(['apply', '--yes']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect((await h.run(['plan'])).code).toBe(0);
  });

  it('throttling and 5xx are retried with backoff; a persistent 5xx fails after the attempt limit', async () => {
    h.emulator.inject(
      'GetSAMLProvider',
      { status: 400, code: 'Throttling.User', message: 'Request was denied due to user flow control.' },
      2,
    );
    h.emulator.inject('CreateRole', {
      status: 503,
      code: 'ServiceUnavailable',
      message: 'The request has failed due to a temporary failure of the server.',
    });
    const r = await h.run(['apply', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/retrying ims:GetSAMLProvider in \d+ ms \(attempt 2\/4\): Throttling.User/);
    expect(r.stderr).toMatch(/retrying ram:CreateRole .*ServiceUnavailable/);
    expect(sleeps.length).toBe(3);
    expect(sleeps.every((ms) => ms >= 0 && ms <= 1000)).toBe(true);
    expect(h.emulator.calls.filter((c) => c.action === 'GetSAMLProvider' && c.status === 400)).toHaveLength(2);

    h.emulator.inject('GetRole', { status: 500, code: 'InternalError', message: 'boom' }, 10);
    const fail = await h.run(['plan']);
    expect(fail.code).toBe(1);
    expect(fail.stderr).toMatch(/ram:GetRole failed: InternalError \(HTTP 500\): boom/);
    expect(h.emulator.calls.filter((c) => c.action === 'GetRole' && c.status === 500)).toHaveLength(4);
  });

  it('apply refuses without a TTY unless --yes, and asks on a TTY', async () => {
    const noTty = await h.run(['apply']);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/refusing to apply without a terminal/);
    expect(h.emulator.writes()).toHaveLength(0);
    const no = await h.run(['apply'], { tty: true, stdin: 'no\n' });
    expect(no.code).toBe(1);
    expect(no.stderr).toMatch(/Apply cancelled/);
    expect(h.emulator.writes()).toHaveLength(0);
    const yes = await h.run(['apply'], { tty: true, stdin: 'yes\n' });
    expect(yes.code).toBe(0);
  });

  it('a credential of another, empty account is refused before anything is read or written', async () => {
    const env = { ALIBABA_CLOUD_ACCESS_KEY_ID: OTHER_AK.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: OTHER_AK.secret };
    for (const args of [['apply', '--yes'], ['plan']]) {
      h.emulator.calls.length = 0;
      const r = await h.run(args, { env });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `pai-sso register: account "prod": expected account ${ACCOUNT} (accounts.prod.accountId), but the credential belongs to account ${OTHER_ACCOUNT} (acs:ram::${OTHER_ACCOUNT}:user/operator-tkey); nothing was read or written\n`,
      );
      expect(r.stdout).toBe('');
      expect(h.emulator.calls.map((c) => [c.action, c.accountId])).toEqual([['GetCallerIdentity', OTHER_ACCOUNT]]);
    }
    const other = h.emulator.account(OTHER_ACCOUNT);
    expect([other.providers.size, other.roles.size, [...other.policies.values()].filter((p) => p.type === 'Custom').length]).toEqual([
      0, 0, 0,
    ]);
  });

  it('the config names another account than the credential: refused, nothing written', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    h.config = { ...h.config, accounts: { prod: { accountId: '9999999999999999', samlProvider: 'corp-idp' } } };
    const writes = h.emulator.writes().length;
    const r = await h.run(['apply', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/expected account 9999999999999999 .* but the credential belongs to account 1234567890123456/);
    expect(h.emulator.writes().length).toBe(writes);
  });

  it('an identity answer that names no account is refused', async () => {
    h.emulator.callerAccountOverride = '';
    const r = await h.run(['apply', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/STS GetCallerIdentity named no account for this credential \(AccountId ""\); nothing was read or written/);
    expect(h.emulator.calls.map((c) => c.action)).toEqual(['GetCallerIdentity']);
  });

  it('bad register arguments exit 2 with usage', async () => {
    expect((await h.run(['frobnicate'])).code).toBe(2);
    expect((await h.run(['plan', '--yes'])).code).toBe(2);
    expect((await h.run(['plan', '--account'])).code).toBe(2);
    const unknown = await h.run(['plan', '--account', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--account "nope" is not a key of accounts/);
    const help = await h.run([]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage: pai-sso register/);
  });
});
