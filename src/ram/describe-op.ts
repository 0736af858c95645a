import { policyKey } from './desired.js';
import type { Op } from './plan-types.js';

/** An op as the API call it makes (`ram:CreateRole pai-dev`): apply's progress lines and the plan's JSON both use it. */
export function describeOp(op: Op): string {
  switch (op.kind) {
    case 'createSamlProvider':
      return `ims:CreateSAMLProvider ${op.name}`;
    case 'updateSamlProvider':
      return `ims:UpdateSAMLProvider ${op.name}`;
    case 'createPolicy':
      return `ram:CreatePolicy ${op.name}`;
    case 'updatePolicyDescription':
      return `ram:UpdatePolicyDescription ${op.name}`;
    case 'deletePolicyVersion':
      return `ram:DeletePolicyVersion ${op.name} ${op.versionId}`;
    case 'deletePolicy':
      return `ram:DeletePolicy ${op.name}`;
    case 'tagResource':
      return `ram:TagResources ${op.resourceType}/${op.name} ${Object.entries(op.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`;
    case 'untagResource':
      return `ram:UntagResources ${op.resourceType}/${op.name} ${op.keys.join(' ')}`;
    case 'deleteRole':
      return `ram:DeleteRole ${op.roleName}`;
    case 'deleteMember':
      return `aiworkspace:DeleteMembers ${op.roleName} (member ${op.memberId}) from workspace ${op.workspaceId}@${op.region}`;
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
