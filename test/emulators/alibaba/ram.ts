import { randomInt } from 'node:crypto';
import { ApiError, lengthCheck, required, requiredName, unknownAction } from './errors.js';
import { addTags, parseTags, ramTags } from './ram-tags.js';
import { now, type AccountState, type Role } from './state.js';

// RAM 2015-05-01: roles, their trust policies, custom and system policies, attachments,
// versions, deletions; tags are in ram-tags.ts.

const ROLE_NAME = /^[A-Za-z0-9.-]+$/;
const POLICY_NAME = /^[A-Za-z0-9-]+$/;
// The trust-policy limit register plans against (TRUST_POLICY_MAX_CHARS in src/alibaba.ts;
// docs/register.md says where the figure comes from).
const MAX_TRUST_POLICY = 2048;
const MAX_POLICY_DOCUMENT = 6144;
const MAX_POLICY_VERSIONS = 5;

function parsePolicyDocument(doc: string, field: string, max: number): { Statement: Array<Record<string, unknown>> } {
  lengthCheck(doc, field, 1, max);
  let parsed: unknown;
  try {
    parsed = JSON.parse(doc);
  } catch {
    throw new ApiError(400, 'MalformedPolicyDocument', `The policy document is not valid JSON.`);
  }
  const p = (parsed && typeof parsed === 'object' ? parsed : {}) as { Version?: unknown; Statement?: unknown };
  if (p.Version !== '1' || !Array.isArray(p.Statement) || p.Statement.length === 0) {
    throw new ApiError(400, 'MalformedPolicyDocument', 'The policy document needs Version "1" and a Statement list.');
  }
  for (const item of p.Statement as unknown[]) {
    const st = (item && typeof item === 'object' ? item : {}) as Record<string, unknown>;
    if ((st['Effect'] !== 'Allow' && st['Effect'] !== 'Deny') || st['Action'] === undefined) {
      throw new ApiError(400, 'MalformedPolicyDocument', 'Each statement needs Effect Allow|Deny and an Action.');
    }
  }
  return p as { Statement: Array<Record<string, unknown>> };
}

function checkTrustPolicy(doc: string, field: string): void {
  const p = parsePolicyDocument(doc, field, MAX_TRUST_POLICY);
  for (const st of p.Statement) {
    const principal: unknown = st['Principal'];
    if (!principal || typeof principal !== 'object')
      throw new ApiError(400, 'MalformedPolicyDocument', 'A trust policy statement needs a Principal.');
    const fed = (principal as Record<string, unknown>)['Federated'];
    if (fed === undefined) continue;
    const cond = (st['Condition'] ?? {}) as Record<string, Record<string, unknown>>;
    const keys = Object.values(cond).flatMap((kv: Record<string, unknown> | undefined) => Object.keys(kv ?? {}));
    // Alibaba's trust policies for SAML principals accept one condition key, saml:recipient (the
    // site's ACS URL, see src/saml/alibaba.ts), and require it.
    if (!keys.includes('saml:recipient') || keys.some((k) => k !== 'saml:recipient')) {
      throw new ApiError(400, 'MalformedPolicyDocument', 'A Federated statement must have the condition saml:recipient and no other key.');
    }
  }
}

export function ram(action: string, p: Record<string, string>, a: AccountState, uid: string): Record<string, unknown> {
  const roleView = (r: Role) => ({
    RoleId: r.id,
    RoleName: r.name,
    Arn: `acs:ram::${uid}:role/${r.name}`,
    Description: r.description,
    AssumeRolePolicyDocument: r.trust,
    MaxSessionDuration: r.max,
    CreateDate: r.created,
    UpdateDate: r.updated,
  });
  const roleName = () => requiredName(p, 'RoleName', 64, ROLE_NAME);
  const getRole = (n: string) => {
    const r = a.roles.get(n);
    if (!r) throw new ApiError(404, 'EntityNotExist.Role', `The role ${n} does not exist.`);
    return r;
  };
  const policyType = () => {
    const t = required(p, 'PolicyType');
    if (t !== 'System' && t !== 'Custom') throw new ApiError(400, 'InvalidParameter.PolicyType', 'PolicyType must be System or Custom.');
    return t;
  };
  const policyName = () => requiredName(p, 'PolicyName', 128, POLICY_NAME);
  const maxDuration = (v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 3600 || n > 43200)
      throw new ApiError(400, 'InvalidParameter.MaxSessionDuration', 'MaxSessionDuration must be 3600-43200.');
    return n;
  };
  switch (action) {
    case 'GetRole':
      return { Role: roleView(getRole(roleName())) };
    case 'CreateRole': {
      const n = roleName();
      if (a.roles.has(n)) throw new ApiError(409, 'EntityAlreadyExists.Role', `The role ${n} already exists.`);
      const trust = required(p, 'AssumeRolePolicyDocument');
      checkTrustPolicy(trust, 'AssumeRolePolicyDocument');
      lengthCheck(p['Description'], 'Description', 1, 1024);
      const r: Role = {
        id: String(randomInt(100000000, 999999999)) + String(randomInt(1000000000, 9999999999)),
        name: n,
        trust,
        max: maxDuration(p['MaxSessionDuration']) ?? 3600,
        description: p['Description'] ?? '',
        created: now(),
        updated: now(),
        tags: new Map(),
      };
      addTags(r.tags, parseTags(p['Tag']));
      a.roles.set(n, r);
      return { Role: roleView(r) };
    }
    case 'UpdateRole': {
      const r = getRole(roleName());
      const trust = p['NewAssumeRolePolicyDocument'];
      if (trust !== undefined) checkTrustPolicy(trust, 'NewAssumeRolePolicyDocument');
      const max = maxDuration(p['NewMaxSessionDuration']);
      lengthCheck(p['NewDescription'], 'Description', 1, 1024);
      if (trust !== undefined) r.trust = trust;
      if (max !== undefined) r.max = max;
      if (p['NewDescription'] !== undefined) r.description = p['NewDescription'];
      r.updated = now();
      return { Role: roleView(r) };
    }
    case 'ListPoliciesForRole': {
      const n = roleName();
      getRole(n);
      const list = [...(a.attachments.get(n) ?? [])].map((key) => {
        const pol = a.policies.get(key)!;
        return {
          PolicyName: pol.name,
          PolicyType: pol.type,
          Description: pol.description,
          DefaultVersion: pol.defaultVersion,
          AttachDate: pol.created,
        };
      });
      return { Policies: { Policy: list } };
    }
    case 'GetPolicy': {
      const key = `${policyType()}/${policyName()}`;
      const pol = a.policies.get(key);
      if (!pol) throw new ApiError(404, 'EntityNotExist.Policy', `The policy ${key} does not exist.`);
      const def = pol.versions.find((v) => v.id === pol.defaultVersion)!;
      const attachments = [...a.attachments.values()].filter((s) => s.has(key)).length;
      return {
        Policy: {
          PolicyName: pol.name,
          PolicyType: pol.type,
          Description: pol.description,
          DefaultVersion: pol.defaultVersion,
          AttachmentCount: attachments,
          CreateDate: pol.created,
          UpdateDate: def.created,
        },
        DefaultPolicyVersion: { VersionId: def.id, PolicyDocument: def.doc, IsDefaultVersion: true, CreateDate: def.created },
      };
    }
    case 'CreatePolicy': {
      const n = policyName();
      const key = `Custom/${n}`;
      if (a.policies.has(key)) throw new ApiError(409, 'EntityAlreadyExists.Policy', `The policy ${n} already exists.`);
      const doc = required(p, 'PolicyDocument');
      parsePolicyDocument(doc, 'PolicyDocument', MAX_POLICY_DOCUMENT);
      lengthCheck(p['Description'], 'Description', 1, 1024);
      const tags = new Map<string, string>();
      addTags(tags, parseTags(p['Tag']));
      a.policies.set(key, {
        name: n,
        type: 'Custom',
        description: p['Description'] ?? '',
        versions: [{ id: 'v1', doc, created: now() }],
        defaultVersion: 'v1',
        nextVersion: 2,
        created: now(),
        tags,
      });
      return { Policy: { PolicyName: n, PolicyType: 'Custom', DefaultVersion: 'v1' } };
    }
    case 'CreatePolicyVersion': {
      const n = policyName();
      const pol = a.policies.get(`Custom/${n}`);
      if (!pol) throw new ApiError(404, 'EntityNotExist.Policy', `The policy ${n} does not exist.`);
      const doc = required(p, 'PolicyDocument');
      parsePolicyDocument(doc, 'PolicyDocument', MAX_POLICY_DOCUMENT);
      if (pol.versions.length >= MAX_POLICY_VERSIONS) {
        if (p['RotateStrategy'] !== 'DeleteOldestNonDefaultVersionWhenLimitExceeded') {
          throw new ApiError(409, 'LimitExceeded.Policy.Version', 'The policy already has the maximum number of versions.');
        }
        const oldest = pol.versions.findIndex((v) => v.id !== pol.defaultVersion);
        pol.versions.splice(oldest, 1);
      }
      const v = { id: `v${pol.nextVersion++}`, doc, created: now() };
      pol.versions.push(v);
      if (p['SetAsDefault'] === 'true') pol.defaultVersion = v.id;
      return {
        PolicyVersion: { VersionId: v.id, IsDefaultVersion: pol.defaultVersion === v.id, PolicyDocument: doc, CreateDate: v.created },
      };
    }
    case 'AttachPolicyToRole':
    case 'DetachPolicyFromRole': {
      const key = `${policyType()}/${policyName()}`;
      const n = roleName();
      getRole(n);
      if (!a.policies.has(key)) throw new ApiError(404, 'EntityNotExist.Policy', `The policy ${key} does not exist.`);
      const set = a.attachments.get(n) ?? new Set<string>();
      a.attachments.set(n, set);
      if (action === 'AttachPolicyToRole') {
        if (set.has(key)) throw new ApiError(409, 'EntityAlreadyExists.Role.Policy', `The policy ${key} is already attached to ${n}.`);
        if ([...set].filter((k) => k.startsWith('Custom/')).length >= 10 && key.startsWith('Custom/'))
          throw new ApiError(409, 'LimitExceeded.Role.Policy', 'Too many policies.');
        set.add(key);
      } else {
        if (!set.has(key)) throw new ApiError(404, 'EntityNotExist.Role.Policy', `The policy ${key} is not attached to ${n}.`);
        set.delete(key);
      }
      return {};
    }
    case 'DeleteRole': {
      const n = roleName();
      getRole(n);
      if ((a.attachments.get(n)?.size ?? 0) > 0)
        throw new ApiError(409, 'DeleteConflict.Role.Policy', `The role ${n} still has policies attached.`);
      a.roles.delete(n);
      a.attachments.delete(n);
      return {};
    }
    case 'UpdatePolicyDescription': {
      const pol = a.policies.get(`Custom/${policyName()}`);
      if (!pol) throw new ApiError(404, 'EntityNotExist.Policy', `The policy does not exist.`);
      const d = required(p, 'NewDescription');
      lengthCheck(d, 'Description', 1, 1024);
      pol.description = d;
      return { Policy: { PolicyName: pol.name, Description: d } };
    }
    case 'ListPolicyVersions': {
      const key = `${policyType()}/${policyName()}`;
      const pol = a.policies.get(key);
      if (!pol) throw new ApiError(404, 'EntityNotExist.Policy', `The policy ${key} does not exist.`);
      return {
        PolicyVersions: {
          PolicyVersion: pol.versions.map((v) => ({
            VersionId: v.id,
            IsDefaultVersion: v.id === pol.defaultVersion,
            PolicyDocument: v.doc,
            CreateDate: v.created,
          })),
        },
      };
    }
    case 'DeletePolicyVersion': {
      const n = policyName();
      const pol = a.policies.get(`Custom/${n}`);
      if (!pol) throw new ApiError(404, 'EntityNotExist.Policy', `The policy ${n} does not exist.`);
      const id = required(p, 'VersionId');
      const i = pol.versions.findIndex((v) => v.id === id);
      if (i < 0) throw new ApiError(404, 'EntityNotExist.Policy.Version', `The version ${id} does not exist.`);
      if (id === pol.defaultVersion)
        throw new ApiError(409, 'DeleteConflict.Policy.Version.Default', 'The default version cannot be deleted.');
      pol.versions.splice(i, 1);
      return {};
    }
    case 'ListEntitiesForPolicy': {
      const key = `${policyType()}/${policyName()}`;
      if (!a.policies.has(key)) throw new ApiError(404, 'EntityNotExist.Policy', `The policy ${key} does not exist.`);
      const roles = [...a.attachments].filter(([, set]) => set.has(key)).map(([n]) => a.roles.get(n)!);
      return {
        Roles: { Role: roles.map((r) => ({ RoleName: r.name, RoleId: r.id, Arn: `acs:ram::${uid}:role/${r.name}` })) },
        Users: { User: [] },
        Groups: { Group: [] },
      };
    }
    case 'DeletePolicy': {
      const n = policyName();
      const key = `Custom/${n}`;
      const pol = a.policies.get(key);
      if (!pol) throw new ApiError(404, 'EntityNotExist.Policy', `The policy ${n} does not exist.`);
      if ([...a.attachments.values()].some((set) => set.has(key)))
        throw new ApiError(409, 'DeleteConflict.Policy.Role', `The policy ${n} is still attached.`);
      if (pol.versions.length > 1)
        throw new ApiError(409, 'DeleteConflict.Policy.Version', `The policy ${n} still has non-default versions.`);
      a.policies.delete(key);
      return {};
    }
    default: {
      const tagged = ramTags(action, p, a);
      if (tagged) return tagged;
      throw unknownAction(action);
    }
  }
}
