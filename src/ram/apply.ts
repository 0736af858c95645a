import { PaiSsoError } from '../errors.js';
import type { Cloud } from './cloud.js';
import { describeOp } from './describe-op.js';
import type { AccountPlan, ActualAccount, Op } from './plan-types.js';

// Executing a plan against the cloud. Reading the actual state is read-account.ts.

/** Thrown when apply stops part-way: what was done and what was not, for the operator. */
export class ApplyError extends PaiSsoError {
  constructor(
    readonly done: readonly string[],
    readonly failed: string,
    readonly reason: Error,
    readonly notDone: readonly string[],
  ) {
    super('PAI_SSO_APPLY_INCOMPLETE', 'runtime', `${failed}: ${reason.message}`, { cause: reason });
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
  for (const r of actual.orphanRoles) roleIds.set(r.roleName, r.roleId);
  const done: string[] = [];
  for (const [i, op] of ops.entries()) {
    const label = `[${plan.key}] ${describeOp(op)}`;
    try {
      await execute(cloud, op, roleIds);
    } catch (err) {
      const cause = err instanceof Error ? err : new Error(String(err));
      throw new ApplyError(
        done,
        label,
        cause,
        ops.slice(i + 1).map((o) => `[${plan.key}] ${describeOp(o)}`),
      );
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
      return cloud.createPolicy(op.name, op.document, op.description, op.tags);
    case 'createPolicyVersion':
      return cloud.createPolicyVersion(op.name, op.document, op.rotate);
    case 'updatePolicyDescription':
      return cloud.updatePolicyDescription(op.name, op.description);
    case 'deletePolicyVersion':
      return cloud.deletePolicyVersion(op.name, op.versionId);
    case 'deletePolicy':
      return cloud.deletePolicy(op.name);
    case 'tagResource':
      return cloud.tagResource(op.resourceType, op.name, op.tags);
    case 'untagResource':
      return cloud.untagResource(op.resourceType, op.name, op.keys);
    case 'deleteRole':
      return cloud.deleteRole(op.roleName);
    case 'deleteMember':
      return cloud.deleteMember(op.region, op.workspaceId, op.memberId);
    case 'createRole': {
      const role = await cloud.createRole(op.roleName, op.trustPolicy, op.maxSessionDuration, op.description, op.tags);
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
