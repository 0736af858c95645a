import type { WorkspaceMember } from './aiworkspace.js';
import type { DesiredAccount } from './desired.js';
import { workspaceTagKey } from './ownership.js';
import type { Op, OrphanPolicy, OrphanRole, PlanItem, PlanOptions } from './plan-types.js';
import { revokeProvider } from './trust.js';

// Taking access away when the config does: roles, policies and workspace memberships that
// register created (they carry its marker, ownership.ts) and the config no longer names.
// Without --prune they are listed (action `orphan` while they still grant access); with
// --prune a role stops trusting the provider, memberships and policies are removed; with
// --prune --delete-roles the role is taken out of its workspaces, its policies are detached
// and it is deleted. Pure, like plan.ts.

export const memberAddress = (workspaceId: string, region: string, roleName: string): string =>
  `workspace/${workspaceId}@${region}/member/${roleName}`;

/** One membership register created that the config no longer names. */
export function planDroppedMember(
  roleName: string,
  ws: { readonly id: string; readonly region: string },
  member: WorkspaceMember | null,
  opts: PlanOptions,
): PlanItem {
  const address = memberAddress(ws.id, ws.region, roleName);
  const untag: Op = { kind: 'untagResource', resourceType: 'role', name: roleName, keys: [workspaceTagKey(ws.id, ws.region)] };
  if (!member) {
    return {
      resource: 'workspace-member',
      address,
      action: 'update',
      changes: [`- tag ${workspaceTagKey(ws.id, ws.region)} (the membership it records is already gone)`],
      notes: [],
      ops: [untag],
    };
  }
  const what = `member of workspace ${ws.id} as ${member.roles.join(', ') || '(no PAI role)'}`;
  if (!opts.prune) {
    return {
      resource: 'workspace-member',
      address,
      action: 'orphan',
      changes: [`! ${what}; the config no longer lists this workspace`],
      notes: ['--prune removes the membership'],
      ops: [],
    };
  }
  return {
    resource: 'workspace-member',
    address,
    action: 'delete',
    changes: [`- ${what}`],
    notes: [],
    ops: [{ kind: 'deleteMember', roleName, region: ws.region, workspaceId: ws.id, memberId: member.memberId }, untag],
  };
}

function deleteRoleItem(r: OrphanRole): PlanItem {
  const changes = ['- role (register created it; the config no longer names it)'];
  const ops: Op[] = [];
  for (const m of r.memberships) {
    if (!m.member) continue;
    changes.push(`- member of workspace ${m.workspaceId} as ${m.member.roles.join(', ') || '(no PAI role)'}`);
    ops.push({ kind: 'deleteMember', roleName: r.roleName, region: m.region, workspaceId: m.workspaceId, memberId: m.member.memberId });
  }
  for (const p of r.attached) {
    changes.push(`- detach ${p.type}/${p.name}`);
    ops.push({ kind: 'detachPolicy', roleName: r.roleName, policy: p });
  }
  ops.push({ kind: 'deleteRole', roleName: r.roleName });
  return { resource: 'role', address: `role/${r.roleName}`, action: 'delete', changes, notes: [], ops };
}

export function planOrphanRoles(want: DesiredAccount, orphans: readonly OrphanRole[], opts: PlanOptions): PlanItem[] {
  const provider = `saml-provider/${want.provider.name}`;
  return orphans.map((r): PlanItem => {
    const address = `role/${r.roleName}`;
    if (opts.prune && opts.deleteRoles) return deleteRoleItem(r);
    const members = r.memberships.filter((m) => m.member).map((m) => `workspace ${m.workspaceId}@${m.region}`);
    const memberNote = members.length ? [`still a member of ${members.join(', ')} (--prune --delete-roles removes it)`] : [];
    const rev = revokeProvider(r.trustPolicy, want.provider.arn, want.accountId);
    if (!rev) {
      return {
        resource: 'role',
        address,
        action: 'orphan',
        changes: ['! not in the config; its trust policy is not valid JSON, so register cannot tell whether it trusts the provider'],
        notes: ['fix the trust policy in the RAM console, or delete the role with --prune --delete-roles', ...memberNote],
        ops: [],
      };
    }
    if (!rev.changed) {
      return {
        resource: 'role',
        address,
        action: 'ok',
        changes: [],
        notes: [
          `register created it and the config no longer names it; it no longer trusts ${provider} (--prune --delete-roles deletes it)`,
          ...memberNote,
        ],
        ops: [],
      };
    }
    if (!opts.prune) {
      return {
        resource: 'role',
        address,
        action: 'orphan',
        changes: [`! not in the config, but it still trusts ${provider}: people can still sign in to it`],
        notes: ['--prune removes that trust; --prune --delete-roles deletes the role', ...memberNote],
        ops: [],
      };
    }
    return {
      resource: 'role',
      address,
      action: 'update',
      changes: [`- trust Federated ${want.provider.arn} (the role is no longer in the config)`],
      notes: [
        ...(rev.rootOnly
          ? [`nothing else was trusted; RAM needs a principal, so it now trusts only its own account (acs:ram::${want.accountId}:root)`]
          : []),
        ...memberNote,
      ],
      ops: [{ kind: 'updateRole', roleName: r.roleName, trustPolicy: rev.document }],
    };
  });
}

/**
 * Custom policies register created that the config no longer names. With --prune: detached
 * from the roles register manages (unless an earlier item already does), their non-default
 * versions deleted, then the policy. Attached to anything register does not manage, it is
 * left for a person to detach.
 */
export function planOrphanPolicies(
  policies: readonly OrphanPolicy[],
  earlier: readonly PlanItem[],
  managedRoles: ReadonlySet<string>,
  opts: PlanOptions,
): PlanItem[] {
  const earlierOps = earlier.flatMap((i) => i.ops);
  const deletedRoles = new Set(earlierOps.flatMap((o) => (o.kind === 'deleteRole' ? [o.roleName] : [])));
  return policies.map((p): PlanItem => {
    const address = `policy/${p.name}`;
    const foreign = [...p.others, ...p.roles.filter((r) => !managedRoles.has(r)).map((r) => `role/${r}`)];
    const attachedTo =
      p.roles.length || p.others.length ? ` (attached to ${[...p.roles.map((r) => `role/${r}`), ...p.others].join(', ')})` : '';
    if (!opts.prune) {
      return {
        resource: 'policy',
        address,
        action: 'orphan',
        changes: [`! register created it and the config no longer names it${attachedTo}`],
        notes: ['--prune deletes it, after detaching it from the roles register manages'],
        ops: [],
      };
    }
    if (foreign.length) {
      return {
        resource: 'policy',
        address,
        action: 'orphan',
        changes: [`! not deleted: still attached to ${foreign.join(', ')}, which register does not manage`],
        notes: ['detach it there by hand; the next --prune then deletes it'],
        ops: [],
      };
    }
    const ops: Op[] = [];
    const changes: string[] = [`- policy${attachedTo}`];
    for (const role of p.roles) {
      const detachedEarlier = earlierOps.some(
        (o) => o.kind === 'detachPolicy' && o.roleName === role && o.policy.type === 'Custom' && o.policy.name === p.name,
      );
      if (detachedEarlier || deletedRoles.has(role)) continue;
      changes.push(`- detach from role/${role}`);
      ops.push({ kind: 'detachPolicy', roleName: role, policy: { type: 'Custom', name: p.name } });
    }
    for (const v of p.versions) if (!v.isDefault) ops.push({ kind: 'deletePolicyVersion', name: p.name, versionId: v.versionId });
    ops.push({ kind: 'deletePolicy', name: p.name });
    return { resource: 'policy', address, action: 'delete', changes, notes: [], ops };
  });
}
