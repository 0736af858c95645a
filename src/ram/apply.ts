import type { Cloud } from './cloud.js';
import type { DesiredAccount } from './desired.js';
import { policyKey } from './desired.js';
import { memberKey, type AccountPlan, type ActualAccount, type ActualRole, type Op } from './plan.js';
import type { WorkspaceMember } from './aiworkspace.js';

// The two places that talk to the cloud: reading the actual state and executing a plan.

export class AccountMismatchError extends Error {
  override readonly name = 'AccountMismatchError';
}

/** `acs:ram::123:role/x` -> `123`. */
const arnAccount = (arn: string): string | undefined => /^acs:[a-z]+:[^:]*:([^:]+):/.exec(arn)?.[1];

function checkArn(want: DesiredAccount, arn: string, what: string): void {
  const got = arnAccount(arn);
  if (got && got !== want.accountId) {
    throw new AccountMismatchError(
      `account "${want.key}": the credential reaches account ${got} (${what} is ${arn}) but the config says ${want.accountId}; ` +
        'use credentials of the configured account (register.accounts.<key>.profile) or fix accounts.<key>.accountId',
    );
  }
}

export async function readAccount(cloud: Cloud, want: DesiredAccount): Promise<ActualAccount> {
  const provider = await cloud.getSamlProvider(want.provider.name);
  if (provider) checkArn(want, provider.arn, `saml-provider ${want.provider.name}`);
  const paiPolicyDocument = want.paiPolicy ? await cloud.getCustomPolicyDocument(want.paiPolicy.name) : undefined;
  const roles = new Map<string, ActualRole | null>();
  const members = new Map<string, WorkspaceMember | null>();
  for (const r of want.roles) {
    const role = await cloud.getRole(r.roleName);
    if (!role) {
      roles.set(r.roleName, null);
      continue;
    }
    checkArn(want, role.arn, `role ${r.roleName}`);
    const attached = await cloud.listPoliciesForRole(r.roleName);
    roles.set(r.roleName, { ...role, attached });
    for (const ws of r.workspaces) {
      members.set(memberKey(ws.id, r.roleName), await cloud.findMember(ws.region, ws.id, role.roleId));
    }
  }
  return { provider, paiPolicyDocument, roles, members };
}

export function describeOp(op: Op): string {
  switch (op.kind) {
    case 'createSamlProvider':
      return `ims:CreateSAMLProvider ${op.name}`;
    case 'updateSamlProvider':
      return `ims:UpdateSAMLProvider ${op.name}`;
    case 'createPolicy':
      return `ram:CreatePolicy ${op.name}`;
    case 'createPolicyVersion':
      return `ram:CreatePolicyVersion ${op.name}${op.rotate ? ' (rotate oldest)' : ''}`;
    case 'createRole':
      return `ram:CreateRole ${op.roleName}`;
    case 'updateRole':
      return `ram:UpdateRole ${op.roleName}`;
    case 'attachPolicy':
      return `ram:AttachPolicyToRole ${policyKey(op.policy)} -> ${op.roleName}`;
    case 'detachPolicy':
      return `ram:DetachPolicyFromRole ${policyKey(op.policy)} from ${op.roleName}`;
    case 'createMember':
      return `aiworkspace:CreateMember ${op.roleName} in workspace ${op.workspaceId}@${op.region} as ${op.roles.join(',')}`;
    case 'addMemberRole':
      return `aiworkspace:AddMemberRole ${op.role} to member ${op.memberId} in workspace ${op.workspaceId}@${op.region}`;
    case 'removeMemberRole':
      return `aiworkspace:RemoveMemberRole ${op.role} from member ${op.memberId} in workspace ${op.workspaceId}@${op.region}`;
  }
}

/** Thrown when apply stops part-way: what was done and what was not, for the operator. */
export class ApplyError extends Error {
  override readonly name = 'ApplyError';
  constructor(
    readonly done: readonly string[],
    readonly failed: string,
    readonly reason: Error,
    readonly notDone: readonly string[],
  ) {
    super(`${failed}: ${reason.message}`);
  }
}

export interface ApplyHooks {
  readonly onDone?: (label: string) => void;
}

/**
 * Executes the plan's calls in order. Stops at the first failure: later calls may depend on
 * earlier ones (a trust policy names the provider, an attachment needs the policy), and a
 * rerun re-reads the cloud, so it resumes where this run stopped.
 */
export async function applyAccount(cloud: Cloud, plan: AccountPlan, actual: ActualAccount, hooks: ApplyHooks = {}): Promise<string[]> {
  const ops = plan.items.flatMap((i) => i.ops);
  const roleIds = new Map<string, string>();
  for (const [name, r] of actual.roles) if (r) roleIds.set(name, r.roleId);
  const done: string[] = [];
  for (const [i, op] of ops.entries()) {
    const label = `[${plan.key}] ${describeOp(op)}`;
    try {
      await execute(cloud, op, roleIds);
    } catch (err) {
      const cause = err instanceof Error ? err : new Error(String(err));
      throw new ApplyError(done, label, cause, ops.slice(i + 1).map((o) => `[${plan.key}] ${describeOp(o)}`));
    }
    done.push(label);
    hooks.onDone?.(label);
  }
  return done;
}

async function execute(cloud: Cloud, op: Op, roleIds: Map<string, string>): Promise<void> {
  switch (op.kind) {
    case 'createSamlProvider':
      return cloud.createSamlProvider(op.name, op.metadataBase64, op.description, op.authnSignAlgo);
    case 'updateSamlProvider':
      return cloud.updateSamlProvider(op.name, op);
    case 'createPolicy':
      return cloud.createPolicy(op.name, op.document, op.description);
    case 'createPolicyVersion':
      return cloud.createPolicyVersion(op.name, op.document, op.rotate);
    case 'createRole': {
      const role = await cloud.createRole(op.roleName, op.trustPolicy, op.maxSessionDuration, op.description);
      if (role?.roleId) roleIds.set(op.roleName, role.roleId);
      return;
    }
    case 'updateRole':
      return cloud.updateRole(op.roleName, op);
    case 'attachPolicy':
      return cloud.attachPolicy(op.roleName, op.policy);
    case 'detachPolicy':
      return cloud.detachPolicy(op.roleName, op.policy);
    case 'createMember': {
      let roleId = roleIds.get(op.roleName);
      if (!roleId) {
        roleId = (await cloud.getRole(op.roleName))?.roleId;
        if (!roleId) throw new Error(`role ${op.roleName} has no RoleId; it must exist before joining a workspace`);
        roleIds.set(op.roleName, roleId);
      }
      return cloud.createMember(op.region, op.workspaceId, roleId, op.roles);
    }
    case 'addMemberRole':
      return cloud.addMemberRole(op.region, op.workspaceId, op.memberId, op.role);
    case 'removeMemberRole':
      return cloud.removeMemberRole(op.region, op.workspaceId, op.memberId, op.role);
  }
}
