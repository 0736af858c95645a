import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { samlStatement, type DesiredRole } from '../../src/ram/desired.js';
import { mergeTrust } from '../../src/ram/trust.js';
import { metadataFacts, planAccount, type ActualAccount } from '../../src/ram/plan.js';
import { operatorPolicy } from '../../src/ram/operator-policy.js';
import { isNotFound, isRetryable, toCloudError } from '../../src/ram/cloud.js';
import { ClientError, ServerError, ThrottlingError } from '@alicloud/openapi-core';

// The planner and its helpers are pure: these cases need no emulator.

const PROVIDER = 'acs:ram::1234567890123456:saml-provider/corp-idp';
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
    paiPolicyDocument: undefined,
    roles: new Map(),
    members: new Map(),
    ...over,
  });
  const metadataXml = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp"><md:IDPSSODescriptor>
<ds:X509Certificate>AAAA</ds:X509Certificate><md:NameIDFormat>urn:x</md:NameIDFormat>
<md:SingleSignOnService Binding="b" Location="https://idp/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
  const want = {
    key: 'prod',
    accountId: '1234567890123456',
    profile: undefined,
    provider: {
      name: 'corp-idp',
      arn: PROVIDER,
      metadataXml,
      metadataBase64: Buffer.from(metadataXml).toString('base64'),
      description: 'd',
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
          description: 'd',
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
        roles: new Map([
          ['pai-developer', { roleId: '1', arn: want.roles[0]!.arn, trustPolicy: doc(ours), maxSessionDuration: max, attached: [] }],
        ]),
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
    };
    const plan = planAccount(
      { ...want, paiPolicy: policy },
      account({ paiPolicyDocument: doc({ Effect: 'Allow', Action: ['oss:GetObject', 'oss:DeleteBucket'], Resource: '*' }) }),
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
        expect.stringMatching(/^register\.roles\.dev\.workspaces\.0\.roles\.0: must be one of: PAI\.AlgoDeveloper/),
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
      provider: {
        name: 'corp-idp',
        arn: PROVIDER,
        metadataXml: '',
        metadataBase64: '',
        description: '',
        authnSignAlgo: 'rsa-sha256' as const,
      },
      paiPolicy: { name: 'PAIDefaultPolicy', document: '{}', description: '' },
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
    expect(p.Statement.flatMap((s) => s.Resource)).not.toContain('*');
    expect(p.Statement.at(-1)!.Resource).toEqual(['acs:paiworkspace:cn-shanghai:1234567890123456:workspace/7']);
    const pruned = operatorPolicy(account, { prune: true }).Statement.flatMap((s) => s.Action);
    expect(pruned).toEqual(
      expect.arrayContaining(['ram:DetachPolicyFromRole', 'ram:DeletePolicyVersion', 'paiworkspace:RemoveMemberRole']),
    );
  });
});
