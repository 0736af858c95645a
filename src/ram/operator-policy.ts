import type { DesiredAccount } from './desired.js';

// `pai-sso register policy`: the RAM policy the *operator's* credential needs for plan and
// apply, scoped to exactly the resources the config names. Resource ARNs in authorization
// use the `acs:ram:*:<uid>:...` form of the RAM authorization reference; whether every one
// of these actions honours resource-level scoping is UNCONFIRMED, so docs/register.md also
// gives the fallback of Resource "*" on the same actions.

export interface OperatorPolicyOptions {
  /** Include what --prune needs (detach, delete old policy versions, remove PAI roles). */
  readonly prune: boolean;
}

type PolicyStatement = { Effect: 'Allow'; Action: string[]; Resource: string[] };

export function operatorPolicy(account: DesiredAccount, opts: OperatorPolicyOptions): { Version: '1'; Statement: PolicyStatement[] } {
  const uid = account.accountId;
  const statements: PolicyStatement[] = [
    {
      Effect: 'Allow',
      Action: ['ram:GetSAMLProvider', 'ram:CreateSAMLProvider', 'ram:UpdateSAMLProvider'],
      Resource: [`acs:ram:*:${uid}:saml-provider/${account.provider.name}`],
    },
  ];
  const roleArns = account.roles.map((r) => `acs:ram:*:${uid}:role/${r.roleName}`);
  if (roleArns.length) {
    statements.push({
      Effect: 'Allow',
      Action: ['ram:GetRole', 'ram:CreateRole', 'ram:UpdateRole', 'ram:ListPoliciesForRole'],
      Resource: roleArns,
    });
  }
  const policyArns = [
    ...new Set(
      account.roles.flatMap((r) =>
        r.policies.map((p) => (p.type === 'System' ? `acs:ram:*:system:policy/${p.name}` : `acs:ram:*:${uid}:policy/${p.name}`)),
      ),
    ),
  ];
  if (roleArns.length && (policyArns.length || opts.prune)) {
    // Attaching is checked against both the role and the policy.
    statements.push({
      Effect: 'Allow',
      Action: ['ram:AttachPolicyToRole', ...(opts.prune ? ['ram:DetachPolicyFromRole'] : [])],
      Resource: [...roleArns, ...(opts.prune ? [`acs:ram:*:${uid}:policy/*`, 'acs:ram:*:system:policy/*'] : policyArns)],
    });
  }
  if (account.paiPolicy) {
    statements.push({
      Effect: 'Allow',
      Action: ['ram:GetPolicy', 'ram:CreatePolicy', 'ram:CreatePolicyVersion', ...(opts.prune ? ['ram:DeletePolicyVersion'] : [])],
      Resource: [`acs:ram:*:${uid}:policy/${account.paiPolicy.name}`],
    });
  }
  const workspaces = [
    ...new Set(account.roles.flatMap((r) => r.workspaces.map((w) => `acs:paiworkspace:${w.region}:${uid}:workspace/${w.id}`))),
  ];
  if (workspaces.length) {
    statements.push({
      Effect: 'Allow',
      Action: [
        'paiworkspace:ListMembers',
        'paiworkspace:CreateMember',
        'paiworkspace:AddMemberRole',
        ...(opts.prune ? ['paiworkspace:RemoveMemberRole'] : []),
      ],
      Resource: workspaces,
    });
  }
  return { Version: '1', Statement: statements };
}
