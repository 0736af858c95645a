import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { samlStatement, type DesiredRole } from '../../src/ram/desired.js';
import { describeWithMarker, managedValue, markerInDescription } from '../../src/ram/ownership.js';
import { checkTrustSize, mergeTrust, revokeProvider, TrustPolicyTooLargeError } from '../../src/ram/trust.js';
import { metadataFacts, planAccount, type ActualAccount, type ActualRole } from '../../src/ram/plan.js';
import { suggestPaiRole } from '../../src/config/register-schema.js';
import { operatorPolicy } from '../../src/ram/operator-policy.js';
import { isNotFound, isRetryable, toCloudError } from '../../src/ram/cloud.js';
import { ClientError, ServerError, ThrottlingError } from '@alicloud/openapi-core';

// The planner and its helpers are pure: these cases need no emulator.

const PROVIDER = 'acs:ram::1234567890123456:saml-provider/corp-idp';
const MANAGED_BY = 'sso.example.test/saml/metadata';
const ACS = 'https://signin.aliyun.com/saml-role/sso';

function role(over: Partial<DesiredRole> = {}): DesiredRole {
  return {
    key: 'dev',
    roleName: 'pai-developer',
    arn: 'acs:ram::1234567890123456:role/pai-developer',
    description: undefined,
    samlStatement: samlStatement(PROVIDER, ACS),
    trustedServices: [],
    maxSessionDuration: { atLeast: 3600 },
    policies: [],
    workspaces: [],
    tags: { 'pai-sso:managed': MANAGED_BY },
    ...over,
  };
}

const doc = (...Statement: unknown[]) => JSON.stringify({ Version: '1', Statement });
const ours = {
  Effect: 'Allow',
  Action: 'sts:AssumeRole',
  Principal: { Federated: PROVIDER },
  Condition: { StringEquals: { 'saml:recipient': ACS } },
};

describe('trust policy merge', () => {
  it('treats string/array spelling and statement order as equal', () => {
    const svc = { Effect: 'Allow', Action: ['sts:AssumeRole'], Principal: { Service: 'dataworks.aliyuncs.com' } };
    const m = mergeTrust(doc(svc, ours), role({ trustedServices: ['dataworks.aliyuncs.com'] }), false);
    expect(m.changed).toBe(false);
    expect(m.changes).toEqual([]);
  });

  it('keeps a second IdP sharing our statement, in a statement of its own', () => {
    const other = 'acs:ram::1234567890123456:saml-provider/other-idp';
    const shared = { ...ours, Principal: { Federated: [PROVIDER, other] } };
    const m = mergeTrust(doc(shared), role(), false);
    const out = JSON.parse(m.document) as { Statement: Array<{ Principal: { Federated: string[] } }> };
    expect(out.Statement.map((s) => s.Principal.Federated)).toEqual([[PROVIDER], [other]]);
    expect(m.notes.join()).toContain(`kept trust statement we did not write: Allow sts:AssumeRole Federated ${other}`);
  });

  it('keeps unconfigured trusted services unless pruning', () => {
    const svc = { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: ['ecs.aliyuncs.com'] } };
    const keep = mergeTrust(doc(ours, svc), role(), false);
    expect(keep.changed).toBe(false);
    expect(keep.notes).toContain('kept trusted service ecs.aliyuncs.com (not configured; --prune removes it)');
    const prune = mergeTrust(doc(ours, svc), role(), true);
    expect(prune.changed).toBe(true);
    expect(prune.changes).toContain('- trust Service ecs.aliyuncs.com');
  });

  it('refuses an unparseable document unless pruning, then replaces it and says so', () => {
    expect(() => mergeTrust('{nope', role(), false)).toThrow(/not valid JSON.*--prune/);
    const m = mergeTrust('{nope', role(), true);
    expect(m.changed).toBe(true);
    expect(m.notes[0]).toMatch(/not valid JSON/);
  });

  it('keeps other principal kinds that share our statement, and Deny statements naming our provider', () => {
    const shared = { ...ours, Principal: { Federated: [PROVIDER], RAM: ['acs:ram::999999999999:root'] } };
    const deny = {
      Effect: 'Deny',
      Action: 'sts:AssumeRole',
      Principal: { Federated: PROVIDER },
      Condition: { IpAddress: { 'acs:SourceIp': '10.0.0.0/8' } },
    };
    const m = mergeTrust(doc(shared, deny), role(), false);
    const out = JSON.parse(m.document) as { Statement: Array<Record<string, unknown>> };
    expect(out.Statement).toContainEqual(expect.objectContaining({ Principal: { RAM: ['acs:ram::999999999999:root'] } }));
    expect(out.Statement).toContainEqual(deny);
    expect(out.Statement).toContainEqual(expect.objectContaining({ Effect: 'Allow', Principal: { Federated: [PROVIDER] } }));
  });
});

describe('planner', () => {
  const account = (over: Partial<ActualAccount> = {}): ActualAccount => ({
    provider: null,
    paiPolicy: undefined,
    roles: new Map(),
    members: new Map(),
    orphanRoles: [],
    orphanPolicies: [],
    ...over,
  });
  const actualRole = (over: Partial<ActualRole> = {}): ActualRole => ({
    roleId: '1',
    arn: 'acs:ram::1234567890123456:role/pai-developer',
    trustPolicy: doc(ours),
    maxSessionDuration: 7200,
    description: undefined,
    attached: [],
    tags: { 'pai-sso:managed': MANAGED_BY },
    ...over,
  });
  const metadataXml = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp"><md:IDPSSODescriptor>
<ds:X509Certificate>AAAA</ds:X509Certificate><md:NameIDFormat>urn:x</md:NameIDFormat>
<md:SingleSignOnService Binding="b" Location="https://idp/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
  const want = {
    key: 'prod',
    accountId: '1234567890123456',
    profile: undefined,
    managedBy: MANAGED_BY,
    adopt: [],
    provider: {
      name: 'corp-idp',
      arn: PROVIDER,
      metadataXml,
      metadataBase64: Buffer.from(metadataXml).toString('base64'),
      description: describeWithMarker('d', MANAGED_BY),
      authnSignAlgo: 'rsa-sha256' as const,
    },
    paiPolicy: undefined,
    roles: [role({ maxSessionDuration: { exact: 7200, atLeast: 7200 } })],
  };

  it('formatting-only metadata differences are not drift', () => {
    const reformatted = metadataXml.replace(/\n/g, '\n   ');
    const plan = planAccount(
      want,
      account({
        provider: {
          arn: PROVIDER,
          metadataBase64: Buffer.from(reformatted).toString('base64'),
          authnSignAlgo: 'rsa-sha256',
          description: describeWithMarker('d', MANAGED_BY),
        },
      }),
      { prune: false },
    );
    expect(plan.items[0]!.action).toBe('ok');
    expect(plan.items[0]!.notes[0]).toMatch(/formatting only/);
  });

  it('an explicit maxSessionDuration is enforced both ways; the floor only raises', () => {
    const have = (max: number) =>
      account({
        roles: new Map([['pai-developer', actualRole({ maxSessionDuration: max })]]),
      });
    const lower = planAccount(want, have(43200), { prune: false }).items[1]!;
    expect(lower.changes).toContain('~ MaxSessionDuration 43200 -> 7200');
    const floorOnly = { ...want, roles: [role({ maxSessionDuration: { atLeast: 7200 } })] };
    expect(planAccount(floorOnly, have(43200), { prune: false }).items[1]!.action).toBe('ok');
    expect(planAccount(floorOnly, have(3600), { prune: false }).items[1]!.changes).toContain('~ MaxSessionDuration 3600 -> 7200');
  });

  it('a changed PAI policy becomes a new version, with the actions added and removed', () => {
    const policy = {
      name: 'PAIDefaultPolicy',
      description: 'x',
      document: doc({ Effect: 'Allow', Action: ['oss:GetObject', 'oss:PutObject'], Resource: '*' }),
      tags: { 'pai-sso:managed': MANAGED_BY },
    };
    const plan = planAccount(
      { ...want, paiPolicy: policy },
      account({
        paiPolicy: {
          document: doc({ Effect: 'Allow', Action: ['oss:GetObject', 'oss:DeleteBucket'], Resource: '*' }),
          description: 'x',
          tags: { 'pai-sso:managed': MANAGED_BY },
        },
      }),
      { prune: false },
    );
    const item = plan.items.find((i) => i.resource === 'policy')!;
    expect(item.action).toBe('update');
    expect(item.changes).toEqual(['+ Allow oss:PutObject on *', '- Allow oss:DeleteBucket on *']);
    expect(item.ops).toEqual([{ kind: 'createPolicyVersion', name: 'PAIDefaultPolicy', document: policy.document, rotate: false }]);
  });

  it('extracts metadata facts whatever the namespace prefix', () => {
    expect(metadataFacts(metadataXml.replace(/md:/g, 'm:').replace(/xmlns:md/, 'xmlns:m'))).toEqual({
      entityId: 'https://idp',
      certs: ['AAAA'],
      sso: ['b https://idp/sso'],
      nameIdFormats: ['urn:x'],
    });
  });
});

describe('register config checks', () => {
  const base = {
    server: { baseUrl: 'https://sso.example.test' },
    idp: { entityId: 'https://sso.example.test/saml/metadata', site: 'cn' },
    accounts: { prod: { accountId: '1234567890123456', samlProvider: 'corp-idp' } },
    roles: { dev: { account: 'prod', roleName: 'pai-developer', sessionDuration: 7200 } },
    mappings: [],
    targets: { pai: { url: 'https://pai.console.aliyun.com/' } },
  };
  const problems = (register: unknown) => {
    const r = validateConfig({ ...base, register });
    return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.reason}`);
  };

  it('accepts an empty or absent section and fills defaults', () => {
    const r = validateConfig(base);
    expect(r.ok).toBe(true);
    expect(problems({})).toEqual([]);
  });

  it('refuses PAI.WorkspaceOwner and suggests the role meant', () => {
    const p = problems({
      roles: { dev: { workspaces: [{ id: '1', region: 'cn-hangzhou', roles: ['PAI.WorkspaceOwner', 'PAI.AlgoDevelop'] }] } },
    });
    expect(p).toEqual([
      "register.roles.dev.workspaces.0.roles.0: PAI.WorkspaceOwner belongs to the workspace's owner and cannot be granted with CreateMember/AddMemberRole; use PAI.WorkspaceAdmin",
      expect.stringMatching(
        /^register\.roles\.dev\.workspaces\.0\.roles\.1: unknown PAI role "PAI\.AlgoDevelop"; did you mean PAI\.AlgoDeveloper\? valid: /,
      ),
    ]);
  });

  it('checks tags: reserved prefix and Alibaba Cloud tag rules', () => {
    expect(
      problems({ tags: { 'pai-sso:managed': 'x', 'acs:x': 'y', team: 'https://x' }, roles: { dev: { tags: { ok: 'fine' } } } }),
    ).toEqual([
      'register.tags: tag "pai-sso:managed": keys starting with "pai-sso:" are register\'s own',
      'register.tags: tag "acs:x": tag key must not start with "aliyun" or "acs:"',
      'register.tags: tag "team": tags must not contain "http://" or "https://"',
    ]);
    expect(problems({ adopt: ['role/pai-developer', 'bucket/x'] }).join()).toMatch(/register\.adopt\.1/);
  });

  it('reports unknown roles and accounts, bad names, regions, PAI roles and durations', () => {
    const p = problems({
      paiPolicy: { name: 'Bad_Name' },
      accounts: { staging: {} },
      roles: {
        ghost: {},
        dev: {
          maxSessionDuration: 3600,
          trustedServices: ['evil.example.com'],
          systemPolicies: ['Aliyun PAI'],
          workspaces: [
            { id: '1', region: 'Hangzhou', roles: ['PAI.Boss'] },
            { id: '1', region: 'cn-hangzhou', roles: ['PAI.AlgoDeveloper'] },
          ],
        },
      },
    });
    expect(p).toEqual(
      expect.arrayContaining([
        'register.paiPolicy.name: must be 1-128 letters, digits or "-"',
        'register.accounts.staging: refers to unknown account "staging"',
        'register.roles.ghost: refers to unknown role "ghost" (keys are those of roles:)',
        'register.roles.dev.maxSessionDuration: must be at least roles.dev.sessionDuration (7200)',
        'register.roles.dev.trustedServices.0: must be a service principal like dataworks.aliyuncs.com',
        'register.roles.dev.systemPolicies.0: must be 1-128 letters, digits or "-"',
        'register.roles.dev.workspaces.0.region: must be a region ID like cn-hangzhou',
        expect.stringMatching(/^register\.roles\.dev\.workspaces\.0\.roles\.0: unknown PAI role "PAI\.Boss"; valid: PAI\.AlgoDeveloper/),
        'register.roles.dev.workspaces.1.id: workspace "1" is listed twice',
      ]),
    );
    expect(problems({ endpoints: { ram: 'https://ram.example' } }).join()).toMatch(/register\.endpoints\.ram/);
    expect(problems({ bogus: 1 })).toContain('register.bogus: unknown key');
  });
});

describe('errors and retries', () => {
  it('classifies SDK errors', () => {
    expect(isRetryable(new ThrottlingError({ code: 'Throttling.User', statusCode: 400 }))).toBe(true);
    expect(isRetryable(new ServerError({ code: 'InternalError', statusCode: 500 }))).toBe(true);
    expect(isRetryable(new ClientError({ code: 'NoPermission', statusCode: 403 }))).toBe(false);
    expect(isRetryable(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isNotFound(new ClientError({ code: 'EntityNotExist.Role', statusCode: 404 }))).toBe(true);
    expect(isNotFound(new ClientError({ code: 'InvalidAccessKeyId.NotFound', statusCode: 404 }))).toBe(false);
  });

  it('never puts a request URL query into a message', () => {
    const e = toCloudError(
      'ims:GetSAMLProvider',
      Object.assign(new Error('connect ECONNREFUSED POST http://127.0.0.1:1/?SAMLProviderName=x&Doc=abc failed.'), {
        code: 'ECONNREFUSED',
      }),
    );
    expect(e.message).toBe('ims:GetSAMLProvider failed: ECONNREFUSED: connect ECONNREFUSED POST http://127.0.0.1:1/?… failed.');
  });
});

describe('operator policy', () => {
  it('scopes every statement to the configured resources and adds prune actions only with --prune', () => {
    const account = {
      key: 'prod',
      accountId: '1234567890123456',
      profile: undefined,
      managedBy: MANAGED_BY,
      adopt: [],
      provider: {
        name: 'corp-idp',
        arn: PROVIDER,
        metadataXml: '',
        metadataBase64: '',
        description: '',
        authnSignAlgo: 'rsa-sha256' as const,
      },
      paiPolicy: { name: 'PAIDefaultPolicy', document: '{}', description: '', tags: {} },
      roles: [
        role({
          policies: [{ type: 'Custom', name: 'PAIDefaultPolicy' }],
          workspaces: [{ id: '7', region: 'cn-shanghai', roles: ['PAI.AlgoDeveloper'] }],
        }),
      ],
    };
    const p = operatorPolicy(account, { prune: false });
    const actions = p.Statement.flatMap((s) => s.Action);
    expect(actions).not.toContain('ram:DetachPolicyFromRole');
    expect(actions).not.toContain('ram:DeleteRole');
    // Writes are scoped to the configured ARNs; "*" only where the API reference says "All Resources".
    const star = p.Statement.filter((s) => s.Resource.includes('*')).flatMap((s) => s.Action);
    expect(star.sort()).toEqual(['paiworkspace:CreateMember', 'ram:ListTagResources', 'ram:TagResources', 'ram:UntagResources']);
    const on = (action: string) => p.Statement.filter((s) => s.Action.includes(action)).flatMap((s) => s.Resource);
    expect(on('ram:UpdateRole')).toEqual(['acs:ram:*:1234567890123456:role/pai-developer']);
    expect(on('ram:CreatePolicyVersion')).toEqual(['acs:ram:*:1234567890123456:policy/PAIDefaultPolicy']);
    expect(on('ram:UpdateSAMLProvider')).toEqual(['acs:ram:*:1234567890123456:saml-provider/corp-idp']);
    expect(on('ram:DeletePolicy')).toEqual(['acs:ram:*:1234567890123456:policy/pai-sso-register-lock']);
    expect(on('paiworkspace:AddMemberRole')).toEqual(['acs:paiworkspace:cn-shanghai:1234567890123456:workspace/7']);
    const pruned = operatorPolicy(account, { prune: true }).Statement.flatMap((s) => s.Action);
    expect(pruned).toEqual(
      expect.arrayContaining([
        'ram:DetachPolicyFromRole',
        'ram:DeletePolicyVersion',
        'paiworkspace:RemoveMemberRole',
        'paiworkspace:DeleteMembers',
      ]),
    );
    expect(pruned).not.toContain('ram:DeleteRole');
    expect(operatorPolicy(account, { prune: true, deleteRoles: true }).Statement.flatMap((s) => s.Action)).toContain('ram:DeleteRole');
  });
});

describe('ownership marker', () => {
  it('names the gateway by its entity ID without the scheme, and fits a tag value', () => {
    expect(managedValue('https://sso.example.test/saml/metadata')).toBe('sso.example.test/saml/metadata');
    expect(managedValue('urn:corp:idp')).toBe('urn:corp:idp');
    const long = managedValue(`https://sso.example.test/${'x'.repeat(300)}`);
    expect(long).toHaveLength(128);
    expect(long).not.toMatch(/https?:\/\//);
    expect(managedValue(`https://sso.example.test/${'x'.repeat(300)}`)).toBe(long);
    expect(managedValue(`https://sso.example.test/${'y'.repeat(300)}`)).not.toBe(long);
  });

  it('reads back the marker it writes into a provider description, and replaces an old one', () => {
    const d = describeWithMarker('pai-sso gateway', MANAGED_BY);
    expect(d).toBe(`pai-sso gateway [pai-sso:managed=${MANAGED_BY}]`);
    expect(markerInDescription(d)).toBe(MANAGED_BY);
    expect(markerInDescription('pai-sso gateway (managed by pai-sso register)')).toBeUndefined();
    expect(describeWithMarker(describeWithMarker('x', 'old'), 'new')).toBe('x [pai-sso:managed=new]');
  });
});

describe('planner: ownership, orphans, size', () => {
  const account = (over: Partial<ActualAccount> = {}): ActualAccount => ({
    provider: null,
    paiPolicy: undefined,
    roles: new Map(),
    members: new Map(),
    orphanRoles: [],
    orphanPolicies: [],
    ...over,
  });
  const have = (over: Partial<ActualRole> = {}): ActualRole => ({
    roleId: '1',
    arn: 'acs:ram::1234567890123456:role/pai-developer',
    trustPolicy: doc(ours),
    maxSessionDuration: 3600,
    description: undefined,
    attached: [],
    tags: { 'pai-sso:managed': MANAGED_BY },
    ...over,
  });
  const want = {
    key: 'prod',
    accountId: '1234567890123456',
    profile: undefined,
    managedBy: MANAGED_BY,
    adopt: [] as string[],
    provider: {
      name: 'corp-idp',
      arn: PROVIDER,
      metadataXml: '',
      metadataBase64: '',
      description: '',
      authnSignAlgo: 'rsa-sha256' as const,
    },
    paiPolicy: undefined,
    roles: [role()],
  };
  const roleItem = (a: ActualAccount, opts = {}, w = want) =>
    planAccount(w, a, { prune: false, ...opts }).items.find((i) => i.address === 'role/pai-developer')!;

  it('an existing role without our marker is blocked until adopted; adopting marks it', () => {
    const blocked = roleItem(account({ roles: new Map([['pai-developer', have({ tags: {} })]]) }));
    expect(blocked.action).toBe('blocked');
    expect(blocked.ops).toEqual([]);
    expect(blocked.changes[0]).toMatch(/register did not create it/);
    expect(blocked.notes[0]).toContain('--adopt role/pai-developer');
    const other = roleItem(account({ roles: new Map([['pai-developer', have({ tags: { 'pai-sso:managed': 'staging.example' } })]]) }));
    expect(other.changes[0]).toMatch(/managed by another gateway \(pai-sso:managed=staging.example\)/);
    const adopted = roleItem(account({ roles: new Map([['pai-developer', have({ tags: { owner: 'ml' } })]]) }), {
      adopt: ['role/pai-developer'],
    });
    expect(adopted.action).toBe('update');
    expect(adopted.notes[0]).toMatch(/^adopted/);
    expect(adopted.changes).toContain(`+ tag pai-sso:managed=${MANAGED_BY}`);
    expect(adopted.notes).toContain('kept tag owner=ml (not configured; --prune removes it)');
    const viaConfig = roleItem(
      account({ roles: new Map([['pai-developer', have({ tags: {} })]]) }),
      {},
      { ...want, adopt: ['role/pai-developer'] },
    );
    expect(viaConfig.action).toBe('update');
  });

  it('the description and tags follow the config', () => {
    const w = { ...want, roles: [role({ description: 'PAI developers', tags: { 'pai-sso:managed': MANAGED_BY, team: 'ml' } })] };
    const item = roleItem(
      account({ roles: new Map([['pai-developer', have({ description: 'old', tags: { 'pai-sso:managed': MANAGED_BY, team: 'x' } })]]) }),
      {},
      w,
    );
    expect(item.changes).toEqual(['~ description "old" -> "PAI developers"', '~ tag team: x -> ml']);
    expect(item.ops).toEqual([
      { kind: 'updateRole', roleName: 'pai-developer', description: 'PAI developers' },
      { kind: 'tagResource', resourceType: 'role', name: 'pai-developer', tags: { team: 'ml' } },
    ]);
  });

  const orphan = {
    ...have({ trustPolicy: doc(ours), attached: [{ type: 'System' as const, name: 'AliyunPAIFullAccess' }] }),
    roleName: 'pai-old',
    memberships: [{ workspaceId: '12345', region: 'cn-hangzhou', member: { memberId: 'm-1', userId: '1', roles: ['PAI.AlgoDeveloper'] } }],
  };

  it('a role register made that left the config: listed, revoked with --prune, deleted with --delete-roles', () => {
    const a = account({ orphanRoles: [orphan] });
    const listed = planAccount(want, a, { prune: false }).items.find((i) => i.address === 'role/pai-old')!;
    expect(listed.action).toBe('orphan');
    expect(listed.changes[0]).toBe('! not in the config, but it still trusts saml-provider/corp-idp: people can still sign in to it');
    expect(listed.ops).toEqual([]);
    const revoked = planAccount(want, a, { prune: true }).items.find((i) => i.address === 'role/pai-old')!;
    expect(revoked.action).toBe('update');
    const trust = JSON.parse((revoked.ops[0] as { trustPolicy: string }).trustPolicy) as unknown;
    expect(trust).toEqual({
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { RAM: ['acs:ram::1234567890123456:root'] } }],
    });
    expect(revoked.notes[0]).toMatch(/now trusts only its own account/);
    const deleted = planAccount(want, a, { prune: true, deleteRoles: true }).items.find((i) => i.address === 'role/pai-old')!;
    expect(deleted.action).toBe('delete');
    expect(deleted.ops.map((o) => o.kind)).toEqual(['deleteMember', 'detachPolicy', 'deleteRole']);
    // Once revoked it is no longer drift.
    const after = planAccount(
      want,
      account({ orphanRoles: [{ ...orphan, trustPolicy: (revoked.ops[0] as { trustPolicy: string }).trustPolicy }] }),
      {
        prune: false,
      },
    ).items.find((i) => i.address === 'role/pai-old')!;
    expect(after.action).toBe('ok');
  });

  it('revoking keeps every other principal', () => {
    const other = { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { RAM: ['acs:ram::1:root'] } };
    const shared = { ...ours, Principal: { Federated: [PROVIDER, 'acs:ram::1234567890123456:saml-provider/other'] } };
    const r = revokeProvider(doc(shared, other), PROVIDER, '1234567890123456')!;
    expect(r.rootOnly).toBe(false);
    expect((JSON.parse(r.document) as { Statement: unknown[] }).Statement).toEqual([
      { ...ours, Principal: { Federated: ['acs:ram::1234567890123456:saml-provider/other'] } },
      other,
    ]);
    expect(revokeProvider(doc(other), PROVIDER, '1')!.changed).toBe(false);
    expect(revokeProvider('{nope', PROVIDER, '1')).toBeUndefined();
  });

  it('a policy register made that left the config is detached from managed roles and deleted with --prune', () => {
    const policy = {
      name: 'PAIDefaultPolicy',
      roles: ['pai-old', 'pai-developer'],
      others: [],
      versions: [
        { versionId: 'v1', isDefault: false },
        { versionId: 'v2', isDefault: true },
      ],
    };
    const a = account({
      roles: new Map([['pai-developer', have({ attached: [{ type: 'Custom', name: 'PAIDefaultPolicy' }] })]]),
      orphanRoles: [orphan],
      orphanPolicies: [policy],
    });
    expect(planAccount(want, a, { prune: false }).items.find((i) => i.address === 'policy/PAIDefaultPolicy')!.action).toBe('orphan');
    const items = planAccount(want, a, { prune: true }).items;
    const item = items.find((i) => i.address === 'policy/PAIDefaultPolicy')!;
    expect(item.action).toBe('delete');
    // pai-developer's own item already detaches it (prune); pai-old is only revoked, so the policy item detaches it.
    expect(item.ops).toEqual([
      { kind: 'detachPolicy', roleName: 'pai-old', policy: { type: 'Custom', name: 'PAIDefaultPolicy' } },
      { kind: 'deletePolicyVersion', name: 'PAIDefaultPolicy', versionId: 'v1' },
      { kind: 'deletePolicy', name: 'PAIDefaultPolicy' },
    ]);
    const held = planAccount(want, account({ orphanPolicies: [{ ...policy, roles: [], others: ['user/alice'] }] }), {
      prune: true,
    }).items.at(-1)!;
    expect(held.action).toBe('orphan');
    expect(held.changes[0]).toMatch(/still attached to user\/alice/);
    expect(held.ops).toEqual([]);
  });

  it('a workspace register added the role to and the config dropped is listed, and removed with --prune', () => {
    const tags = { 'pai-sso:managed': MANAGED_BY, 'pai-sso:workspace/9@cn-beijing': 'member' };
    const members = new Map([['9\u0000pai-developer', { memberId: 'm-9', userId: '1', roles: ['PAI.AlgoDeveloper'] }]]);
    const a = account({ roles: new Map([['pai-developer', have({ tags })]]), members });
    const item = (prune: boolean) =>
      planAccount(want, a, { prune }).items.find((i) => i.address === 'workspace/9@cn-beijing/member/pai-developer')!;
    expect(item(false).action).toBe('orphan');
    // The same tags on a role register may not touch plan nothing.
    const foreign = account({ roles: new Map([['pai-developer', have({ tags: { ...tags, 'pai-sso:managed': 'other' } })]]), members });
    expect(planAccount(want, foreign, { prune: true }).items.map((i) => i.address)).not.toContain(
      'workspace/9@cn-beijing/member/pai-developer',
    );
    expect(item(true).ops).toEqual([
      { kind: 'deleteMember', roleName: 'pai-developer', region: 'cn-beijing', workspaceId: '9', memberId: 'm-9' },
      { kind: 'untagResource', resourceType: 'role', name: 'pai-developer', keys: ['pai-sso:workspace/9@cn-beijing'] },
    ]);
  });

  it('a trust policy over the limit is refused in the plan with its size and what to remove', () => {
    const foreign = {
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Principal: { RAM: Array.from({ length: 80 }, (_, i) => `acs:ram::${1000000000000000 + i}:root`) },
    };
    const withService = { ...want, roles: [role({ trustedServices: ['dataworks.aliyuncs.com'] })] };
    const big = account({ roles: new Map([['pai-developer', have({ trustPolicy: doc(ours, foreign) })]]) });
    // As it stands the policy is left alone (nothing to write); adding a service would push it past the limit.
    expect(planAccount(want, big, { prune: false }).items[1]!.action).toBe('ok');
    expect(() => planAccount(withService, big, { prune: false })).toThrow(TrustPolicyTooLargeError);
    try {
      planAccount(withService, big, { prune: false });
      expect.unreachable();
    } catch (err) {
      const e = err as TrustPolicyTooLargeError;
      expect(e.kind).toBe('config');
      expect(e.message).toMatch(/^role pai-developer: its trust policy would be \d{4} characters, \d+ more than RAM's 2048/);
      expect(e.message).toMatch(/\n {4}\d{4} characters: Allow sts:AssumeRole RAM acs:ram::1000000000000000:root/);
      expect(e.message).toContain('--prune to drop them all');
      expect(e.message).toContain('register.roles.dev.trustedServices: dataworks.aliyuncs.com');
    }
    // With --prune the foreign statement goes and the policy fits.
    expect(planAccount(withService, big, { prune: true }).items[1]!.action).toBe('update');
    expect(() => checkTrustSize(role(), doc(ours))).not.toThrow();
  });

  it('suggests the PAI role meant', () => {
    expect(suggestPaiRole('PAI.AlgoDevelop')).toBe('PAI.AlgoDeveloper');
    expect(suggestPaiRole('pai.workspaceadmin')).toBe('PAI.WorkspaceAdmin');
    expect(suggestPaiRole('PAI.Boss')).toBeUndefined();
  });
});
