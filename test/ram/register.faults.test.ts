import { spawnSync } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockFilePath } from '../../src/ram/lock.js';
import { ACCOUNT, WORKSPACE, harness, sleeps, type Harness } from './helpers.js';

// Faults against the emulator with the real SDKs: answers lost after the write took
// effect, a second apply running, a trust policy that would outgrow RAM's limit.

let h: Harness;
beforeEach(async () => {
  h = await harness();
  sleeps.length = 0;
});
afterEach(async () => {
  await h.close();
});

const customPolicies = () => [...h.emulator.account(ACCOUNT).policies.values()].filter((p) => p.type === 'Custom');

describe('a create whose answer is lost is not made twice', () => {
  const cases: Array<[string, string, ((p: Record<string, string>) => boolean)?]> = [
    ['CreateSAMLProvider', 'ims:CreateSAMLProvider corp-idp'],
    ['CreatePolicy', 'ram:CreatePolicy PAIDefaultPolicy', (p) => p['PolicyName'] === 'PAIDefaultPolicy'],
    ['CreateRole', 'ram:CreateRole pai-developer'],
    ['AttachPolicyToRole', ''],
    ['CreateMember', 'aiworkspace:CreateMember'],
    ['CreatePolicy', 'ram:CreatePolicy pai-sso-register-lock', (p) => p['PolicyName'] === 'pai-sso-register-lock'],
    ['DeletePolicy', ''],
  ];
  for (const [action, recovered, when] of cases) {
    it(`${action}${recovered ? ` (${recovered.split(' ')[1] ?? ''})` : ''}: the retry finds it done, apply succeeds, plan is clean`, async () => {
      h.emulator.loseResponse(action, 1, when);
      const r = await h.run(['apply', '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(h.emulator.calls.filter((c) => c.action === action && c.status === 0)).toHaveLength(1);
      if (recovered) expect(r.stderr).toContain(recovered);
      if (recovered) expect(r.stderr).toMatch(/: the call failed \(.*\) but a read shows it took effect; its answer was lost/);
      const state = h.emulator.account(ACCOUNT);
      expect(state.providers.size).toBe(1);
      // One PAI policy with one version; the lock is gone.
      expect(customPolicies().map((p) => [p.name, p.versions.length])).toEqual([['PAIDefaultPolicy', 1]]);
      expect([...state.roles.keys()].sort()).toEqual(['pai-admin', 'pai-developer']);
      expect(state.workspaces.get(WORKSPACE)!.members.size).toBe(2);
      const plan = await h.run(['plan']);
      expect(plan.code, plan.stdout).toBe(0);
    });
  }

  it('AddMemberRole: a lost answer is retried and the role is there once', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const member = [...h.emulator.account(ACCOUNT).workspaces.get(WORKSPACE)!.members.values()].find((m) =>
      m.roles.includes('PAI.WorkspaceAdmin'),
    )!;
    member.roles = ['PAI.WorkspaceAdmin'];
    h.emulator.loseResponse('AddMemberRole');
    const r = await h.run(['apply', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(h.emulator.calls.filter((c) => c.action === 'AddMemberRole').map((c) => c.status)).toEqual([0, 200]);
    expect(member.roles).toEqual(['PAI.WorkspaceAdmin', 'PAI.AlgoDeveloper']);
  });

  it('CreatePolicyVersion: a lost answer leaves one new version, not two', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const policy = customPolicies()[0]!;
    // Someone edits the policy; register puts the file's document back as a new version.
    policy.versions.push({
      id: 'v2',
      doc: '{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*"}]}',
      created: '',
    });
    policy.defaultVersion = 'v2';
    policy.nextVersion = 3;
    h.emulator.loseResponse('CreatePolicyVersion');
    const r = await h.run(['apply', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ram:CreatePolicyVersion PAIDefaultPolicy: the call failed .* its answer was lost/);
    expect(policy.versions.map((v) => v.id)).toEqual(['v1', 'v2', 'v3']);
    expect(policy.defaultVersion).toBe('v3');
    expect(h.emulator.calls.filter((c) => c.action === 'CreatePolicyVersion')).toHaveLength(1);
    expect((await h.run(['plan'])).code).toBe(0);
  });

  it('a create that meets a different resource made meanwhile stops with a clear conflict and takes nothing over', async () => {
    const handmade = '{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1:root"]}}]}';
    h.emulator.beforeNext('CreateRole', (a) =>
      a.roles.set('pai-developer', {
        id: '111',
        name: 'pai-developer',
        trust: handmade,
        max: 3600,
        description: '',
        created: '',
        updated: '',
        tags: new Map(),
      }),
    );
    const r = await h.run(['apply', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /failed:\n {4}\[prod\] ram:CreateRole pai-developer\n {6}ram:CreateRole pai-developer: it already exists but differs from what register sent \(another trust policy, MaxSessionDuration 3600, tag pai-sso:managed missing, tag pai-sso:workspace\/12345@cn-hangzhou missing\); someone else created or changed it since the plan/,
    );
    const role = h.emulator.account(ACCOUNT).roles.get('pai-developer')!;
    expect([role.trust, role.tags.size, h.emulator.account(ACCOUNT).attachments.get('pai-developer')]).toEqual([handmade, 0, undefined]);
    // The next plan shows it as someone else's.
    const plan = await h.run(['plan']);
    expect(plan.stdout).toMatch(/! blocked role\/pai-developer\n +! exists but register did not create it/);
  });
});

describe('two applies cannot interleave', () => {
  it('a lock file held by a running apply refuses a second one on this machine; plan still reads', async () => {
    await writeFile(
      lockFilePath(h.configPath),
      JSON.stringify({ host: hostname(), pid: process.pid, since: '2030-01-01T00:00:00Z', token: 't' }),
    );
    const r = await h.run(['apply', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /another `pai-sso register apply` is running with this config: .*\.gateway\.yaml\.register\.lock is held by pid \d+ on .* since 2030-01-01T00:00:00Z; wait for it to finish, or delete the file if that process is gone/,
    );
    expect(h.emulator.writes()).toHaveLength(0);
    expect((await h.run(['plan'])).code).toBe(3);
  });

  it('a lock file left by a process that is gone is taken over, and removed after the apply', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(lockFilePath(h.configPath), JSON.stringify({ host: hostname(), pid: dead, since: '2020-01-01T00:00:00Z', token: 't' }));
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    await expect(stat(lockFilePath(h.configPath))).rejects.toThrow(/ENOENT/);
  });

  it('two applies started together: one runs, the other is refused', async () => {
    const [a, b] = await Promise.all([h.run(['apply', '--yes']), h.run(['apply', '--yes'])]);
    expect([a.code, b.code].sort()).toEqual([0, 1]);
    expect([a.stderr, b.stderr].join()).toMatch(/another `pai-sso register apply` is running with this config/);
    expect(h.emulator.calls.filter((c) => c.action === 'CreateRole')).toHaveLength(2);
  });

  it('an apply on another machine holds the cloud lock: refused, nothing written; an expired one is broken', async () => {
    const state = h.emulator.account(ACCOUNT);
    const lock = (expires: string) =>
      state.policies.set('Custom/pai-sso-register-lock', {
        name: 'pai-sso-register-lock',
        type: 'Custom',
        description: `pai-sso register apply lock; holder=ci-runner-7/4242; token=abc; expires=${expires}`,
        versions: [{ id: 'v1', doc: '{}', created: '' }],
        defaultVersion: 'v1',
        nextVersion: 2,
        created: '',
        tags: new Map(),
      });
    lock(new Date(Date.now() + 600_000).toISOString());
    const r = await h.run(['apply', '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /account "prod" \(1234567890123456\) is locked by another `pai-sso register apply`: RAM policy pai-sso-register-lock says "pai-sso register apply lock; holder=ci-runner-7\/4242/,
    );
    expect(h.emulator.writes().filter((c) => c.status === 200)).toHaveLength(0);
    expect(state.providers.size).toBe(0);

    lock(new Date(Date.now() - 1000).toISOString());
    const broken = await h.run(['apply', '--yes']);
    expect(broken.code, broken.stderr).toBe(0);
    expect(state.policies.has('Custom/pai-sso-register-lock')).toBe(false);
    expect(state.providers.size).toBe(1);
  });

  it('the cloud lock is taken only when there is something to write', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const before = h.emulator.calls.length;
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    expect(h.emulator.calls.slice(before).filter((c) => c.action === 'CreatePolicy')).toHaveLength(0);
  });
});

describe('trust-policy size', () => {
  it("a merge that would outgrow RAM's limit stops the plan (exit 2) and the apply before any write", async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const role = h.emulator.account(ACCOUNT).roles.get('pai-admin')!;
    const foreign = {
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Principal: { RAM: Array.from({ length: 52 }, (_, i) => `acs:ram::${1000000000000000 + i}:root`) },
    };
    const wrongSite = {
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Principal: { Federated: [`acs:ram::${ACCOUNT}:saml-provider/corp-idp`] },
      Condition: {
        StringEquals: { 'saml:recipient': ['https://signin.alibabacloud.com/saml-role/sso', 'https://signin.aliyun.com/saml-role/sso'] },
      },
    };
    // Under the limit as it stands; register's rewrite would add its own statement next to the kept one.
    role.trust = JSON.stringify({
      Version: '1',
      Statement: [{ ...wrongSite, Principal: { Federated: [`acs:ram::${ACCOUNT}:saml-provider/corp-idp`], RAM: foreign.Principal.RAM } }],
    });
    expect(role.trust.length).toBeLessThan(2048);
    const plan = await h.run(['plan']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toMatch(/role pai-admin: its trust policy would be (\d{4}) characters, \d+ more than RAM's 2048/);
    expect(plan.stderr).toMatch(/\d{4} characters: Allow sts:AssumeRole RAM acs:ram::1000000000000000:root/);
    const writes = h.emulator.writes().length;
    const apply = await h.run(['apply', '--yes']);
    expect(apply.code).toBe(2);
    expect(h.emulator.writes().length).toBe(writes);
    expect(h.emulator.calls.filter((c) => c.action === 'UpdateRole' && c.status !== 200)).toHaveLength(0);
  });
});

describe('register policy', () => {
  it('prints plain JSON, scoped to the configured resources', async () => {
    const r = await h.run(['policy']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { Version: string; Statement: Array<{ Action: string[]; Resource: string[] }> };
    expect(doc.Version).toBe('1');
    const on = (action: string) => doc.Statement.filter((s) => s.Action.includes(action)).flatMap((s) => s.Resource);
    expect(on('ram:UpdateRole')).toEqual([`acs:ram:*:${ACCOUNT}:role/pai-developer`, `acs:ram:*:${ACCOUNT}:role/pai-admin`]);
    expect(on('ram:UpdateSAMLProvider')).toEqual([`acs:ram:*:${ACCOUNT}:saml-provider/corp-idp`]);
    expect(r.stderr).toBe('');
  });

  it('with several accounts it asks which one', async () => {
    h.config = { ...h.config, accounts: { ...h.config.accounts, dev: { accountId: '1111111111111111', samlProvider: 'corp-idp' } } };
    const r = await h.run(['policy']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the config has 2 accounts; print one policy at a time with --account <key> \(prod, dev\)/);
    expect(JSON.parse((await h.run(['policy', '--account', 'dev'])).stdout)).toHaveProperty('Statement');
  });
});
