import type { WorkspaceMember } from './aiworkspace.js';
import type { PolicyRef, Tags } from './desired.js';

// The planner's vocabulary: what it reads (Actual*), what it decides (PlanItem, Action) and
// the calls apply makes (Op). Types only; plan.ts and plan-prune.ts fill them in.

/**
 * - `create`, `update`, `delete`: apply makes the item's calls.
 * - `ok`: nothing to do.
 * - `blocked`: the resource exists but register did not create it; nothing is touched until
 *   it is adopted (`--adopt <address>` or register.adopt), and apply refuses to start.
 * - `orphan`: register created it, the config no longer names it, and it still grants
 *   access; `--prune` takes that away.
 */
export type Action = 'create' | 'update' | 'delete' | 'ok' | 'blocked' | 'orphan';

export type ResourceType = 'role' | 'policy';

export type Op =
  | {
      readonly kind: 'createSamlProvider';
      readonly name: string;
      readonly metadataBase64: string;
      readonly description: string;
      readonly authnSignAlgo: string;
    }
  | {
      readonly kind: 'updateSamlProvider';
      readonly name: string;
      readonly metadataBase64?: string;
      readonly description?: string;
      readonly authnSignAlgo: string;
    }
  | {
      readonly kind: 'createPolicy';
      readonly name: string;
      readonly document: string;
      readonly description: string;
      readonly tags: Tags;
    }
  | { readonly kind: 'createPolicyVersion'; readonly name: string; readonly document: string; readonly rotate: boolean }
  | { readonly kind: 'updatePolicyDescription'; readonly name: string; readonly description: string }
  | { readonly kind: 'deletePolicyVersion'; readonly name: string; readonly versionId: string }
  | { readonly kind: 'deletePolicy'; readonly name: string }
  | {
      readonly kind: 'createRole';
      readonly roleName: string;
      readonly trustPolicy: string;
      readonly maxSessionDuration: number;
      readonly description?: string;
      readonly tags: Tags;
    }
  | {
      readonly kind: 'updateRole';
      readonly roleName: string;
      readonly trustPolicy?: string;
      readonly maxSessionDuration?: number;
      readonly description?: string;
    }
  | { readonly kind: 'deleteRole'; readonly roleName: string }
  | { readonly kind: 'tagResource'; readonly resourceType: ResourceType; readonly name: string; readonly tags: Tags }
  | { readonly kind: 'untagResource'; readonly resourceType: ResourceType; readonly name: string; readonly keys: readonly string[] }
  | { readonly kind: 'attachPolicy'; readonly roleName: string; readonly policy: PolicyRef }
  | { readonly kind: 'detachPolicy'; readonly roleName: string; readonly policy: PolicyRef }
  /** The member's UserId is the role's RoleId, known only once the role exists (UNCONFIRMED: docs/register.md). */
  | {
      readonly kind: 'createMember';
      readonly roleName: string;
      readonly region: string;
      readonly workspaceId: string;
      readonly roles: readonly string[];
    }
  | {
      readonly kind: 'addMemberRole';
      readonly region: string;
      readonly workspaceId: string;
      readonly memberId: string;
      readonly role: string;
    }
  | {
      readonly kind: 'removeMemberRole';
      readonly region: string;
      readonly workspaceId: string;
      readonly memberId: string;
      readonly role: string;
    }
  | {
      readonly kind: 'deleteMember';
      readonly roleName: string;
      readonly region: string;
      readonly workspaceId: string;
      readonly memberId: string;
    };

export type ResourceKind = 'saml-provider' | 'policy' | 'role' | 'workspace-member';

export interface PlanItem {
  readonly resource: ResourceKind;
  readonly address: string;
  readonly action: Action;
  /** Readable diff lines: `+` added, `-` removed, `~` changed, `=` value set on create, `!` needs attention. */
  readonly changes: readonly string[];
  /** What we saw and deliberately left alone. */
  readonly notes: readonly string[];
  readonly ops: readonly Op[];
}

export interface AccountPlan {
  readonly key: string;
  readonly accountId: string;
  readonly items: readonly PlanItem[];
}

/** A SAML provider as IMS returns it. */
export interface SamlProviderState {
  readonly arn: string;
  readonly metadataBase64: string;
  readonly authnSignAlgo: string | undefined;
  readonly description: string | undefined;
}

export interface ActualPolicy {
  /** The default version's document. */
  readonly document: string;
  readonly description: string | undefined;
  readonly tags: Tags;
}

export interface ActualRole {
  readonly roleId: string;
  readonly arn: string;
  readonly trustPolicy: string;
  readonly maxSessionDuration: number;
  readonly description: string | undefined;
  readonly attached: readonly PolicyRef[];
  readonly tags: Tags;
}

/** A workspace membership found through a role's `pai-sso:workspace/…` tag. */
export interface TaggedMembership {
  readonly workspaceId: string;
  readonly region: string;
  /** null when the role is no longer a member (the tag is stale). */
  readonly member: WorkspaceMember | null;
}

/** A role carrying this gateway's marker that the config no longer names. */
export interface OrphanRole extends ActualRole {
  readonly roleName: string;
  readonly memberships: readonly TaggedMembership[];
}

/** A custom policy carrying this gateway's marker that the config no longer names. */
export interface OrphanPolicy {
  readonly name: string;
  /** Roles it is attached to. */
  readonly roles: readonly string[];
  /** Users and groups it is attached to (`user/x`, `group/y`): register never detaches those. */
  readonly others: readonly string[];
  readonly versions: ReadonlyArray<{ readonly versionId: string; readonly isDefault: boolean }>;
}

export interface ActualAccount {
  readonly provider: SamlProviderState | null;
  /** The custom PAI policy; null when absent, undefined when the config does not need it. */
  readonly paiPolicy: ActualPolicy | null | undefined;
  /** By RAM role name; null when the role does not exist. */
  readonly roles: ReadonlyMap<string, ActualRole | null>;
  /**
   * By memberKey(): the configured workspaces of each existing role, and the workspaces its
   * tags record; null when the role is not a member.
   */
  readonly members: ReadonlyMap<string, WorkspaceMember | null>;
  readonly orphanRoles: readonly OrphanRole[];
  readonly orphanPolicies: readonly OrphanPolicy[];
}

export const memberKey = (workspaceId: string, roleName: string): string => `${workspaceId}\u0000${roleName}`;

export interface PlanOptions {
  /** Remove what register did not write or the config no longer names (docs/register.md). */
  readonly prune: boolean;
  /** With prune: delete roles that left the config instead of only revoking their trust. */
  readonly deleteRoles?: boolean;
  /** Addresses (`role/x`, `policy/x`, `saml-provider/x`) register may take over; added to the config's register.adopt. */
  readonly adopt?: readonly string[];
}
