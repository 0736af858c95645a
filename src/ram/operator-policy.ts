import type { DesiredAccount } from './desired.js';
import { CLOUD_LOCK_POLICY } from './lock.js';

// `pai-sso register policy`: the RAM policy the *operator's* credential needs for plan and
// apply. Writes are scoped to the resources the config names (provider, role and policy
// ARNs, workspaces), in the `acs:ram:*:<uid>:...` form of the RAM authorization reference.
// Where an API reference lists an action as "All Resources" (ram:TagResources,
// ram:UntagResources, ram:ListTagResources, paiworkspace:CreateMember), a narrower Resource
// would never match, so those get "*". Reads reach every role and policy of the account,
// because register must find what it created that the config no longer names; the writes
// --prune and --delete-roles need for those reach every role and policy of the account too.
// docs/register.md says which of these permissions allow privilege escalation.

export interface OperatorPolicyOptions {
  /** Include what --prune needs (detach, delete policies and versions, remove memberships, revoke trust). */
  readonly prune: boolean;
  /** Include what --prune --delete-roles needs (DeleteRole). */
  readonly deleteRoles?: boolean;
}

interface PolicyStatement {
  Effect: 'Allow';
  Action: string[];
  Resource: string[];
}

export function operatorPolicy(account: DesiredAccount, opts: OperatorPolicyOptions): { Version: '1'; Statement: PolicyStatement[] } {
  const uid = account.accountId;
  const allRoles = `acs:ram:*:${uid}:role/*`;
  const allPolicies = `acs:ram:*:${uid}:policy/*`;
  const statements: PolicyStatement[] = [
    {
      Effect: 'Allow',
      Action: ['ram:GetRole', 'ram:ListPoliciesForRole', 'ram:GetPolicy', 'ram:ListPolicyVersions', 'ram:ListEntitiesForPolicy'],
      Resource: [allRoles, allPolicies],
    },
    { Effect: 'Allow', Action: ['ram:ListTagResources', 'ram:TagResources', 'ram:UntagResources'], Resource: ['*'] },
    {
      Effect: 'Allow',
      Action: ['ram:GetSAMLProvider', 'ram:CreateSAMLProvider', 'ram:UpdateSAMLProvider'],
      Resource: [`acs:ram:*:${uid}:saml-provider/${account.provider.name}`],
    },
    {
      Effect: 'Allow',
      Action: ['ram:CreatePolicy', 'ram:DeletePolicy'],
      Resource: [`acs:ram:*:${uid}:policy/${CLOUD_LOCK_POLICY}`],
    },
  ];
  const roleArns = account.roles.map((r) => `acs:ram:*:${uid}:role/${r.roleName}`);
  if (roleArns.length) statements.push({ Effect: 'Allow', Action: ['ram:CreateRole', 'ram:UpdateRole'], Resource: roleArns });
  const policyArns = [
    ...new Set(
      account.roles.flatMap((r) =>
        r.policies.map((p) => (p.type === 'System' ? `acs:ram:*:system:policy/${p.name}` : `acs:ram:*:${uid}:policy/${p.name}`)),
      ),
    ),
  ];
  // Attaching is checked against both the role and the policy.
  if (roleArns.length && policyArns.length) {
    statements.push({ Effect: 'Allow', Action: ['ram:AttachPolicyToRole'], Resource: [...roleArns, ...policyArns] });
  }
  if (account.paiPolicy) {
    statements.push({
      Effect: 'Allow',
      Action: ['ram:CreatePolicy', 'ram:CreatePolicyVersion', 'ram:UpdatePolicyDescription'],
      Resource: [`acs:ram:*:${uid}:policy/${account.paiPolicy.name}`],
    });
  }
  const workspaces = [
    ...new Set(account.roles.flatMap((r) => r.workspaces.map((w) => `acs:paiworkspace:${w.region}:${uid}:workspace/${w.id}`))),
  ];
  if (workspaces.length) {
    statements.push({ Effect: 'Allow', Action: ['paiworkspace:ListMembers', 'paiworkspace:AddMemberRole'], Resource: workspaces });
    statements.push({ Effect: 'Allow', Action: ['paiworkspace:CreateMember'], Resource: ['*'] });
  }
  if (opts.prune) {
    const allWorkspaces = `acs:paiworkspace:*:${uid}:workspace/*`;
    statements.push(
      {
        Effect: 'Allow',
        Action: ['ram:UpdateRole', 'ram:DetachPolicyFromRole', ...(opts.deleteRoles ? ['ram:DeleteRole'] : [])],
        Resource: [allRoles, allPolicies, 'acs:ram:*:system:policy/*'],
      },
      { Effect: 'Allow', Action: ['ram:DeletePolicyVersion', 'ram:DeletePolicy'], Resource: [allPolicies] },
      {
        Effect: 'Allow',
        Action: ['paiworkspace:ListMembers', 'paiworkspace:RemoveMemberRole', 'paiworkspace:DeleteMembers'],
        Resource: [allWorkspaces],
      },
    );
  }
  return { Version: '1', Statement: statements };
}
