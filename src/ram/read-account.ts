import { ACCOUNT_ID_PATTERN } from '../alibaba.js';
import type { WorkspaceMember } from './aiworkspace.js';
import type { CallerIdentity } from './caller-identity.js';
import { AccountMismatchError, type Cloud } from './cloud.js';
import type { DesiredAccount } from './desired.js';
import { MANAGED_TAG, parseWorkspaceTag } from './ownership.js';
import { memberKey, type ActualAccount, type ActualRole, type OrphanPolicy, type OrphanRole, type TaggedMembership } from './plan-types.js';

// Reading one account: first who the credential is (verifyAccount), then the actual state
// of everything the config names and of everything register created that it no longer
// names (readAccount). Reads only.

/**
 * Refuses a credential of another account, before anything is read: STS GetCallerIdentity
 * names the account of any valid credential, also of an empty account, where no ARN would
 * give it away. An answer without an account ID is refused too.
 */
export async function verifyAccount(cloud: Cloud, want: DesiredAccount): Promise<CallerIdentity> {
  const id = await cloud.getCallerIdentity();
  if (!ACCOUNT_ID_PATTERN.test(id.accountId)) {
    throw new AccountMismatchError(
      `account "${want.key}": STS GetCallerIdentity named no account for this credential (AccountId "${id.accountId}"); nothing was read or written`,
    );
  }
  if (id.accountId !== want.accountId) {
    throw new AccountMismatchError(
      `account "${want.key}": expected account ${want.accountId} (accounts.${want.key}.accountId), but the credential belongs to account ${id.accountId} (${id.arn || id.identityType}); nothing was read or written`,
    );
  }
  return id;
}

/** `acs:ram::123:role/x` -> `123`. */
const arnAccount = (arn: string): string | undefined => /^acs:[a-z]+:[^:]*:([^:]+):/.exec(arn)?.[1];

/** A second line of defence behind verifyAccount: every ARN read must name the configured account. */
function checkArn(want: DesiredAccount, arn: string, what: string): void {
  const got = arnAccount(arn);
  if (got && got !== want.accountId) {
    throw new AccountMismatchError(
      `account "${want.key}": expected account ${want.accountId}, but ${what} is ${arn} (account ${got}); use credentials of the configured account (register.accounts.<key>.profile) or fix accounts.<key>.accountId`,
    );
  }
}

async function memberships(cloud: Cloud, roleId: string, tags: Readonly<Record<string, string>>): Promise<TaggedMembership[]> {
  const out: TaggedMembership[] = [];
  for (const key of Object.keys(tags).sort()) {
    const ws = parseWorkspaceTag(key);
    if (!ws) continue;
    out.push({ workspaceId: ws.id, region: ws.region, member: await cloud.findMember(ws.region, ws.id, roleId) });
  }
  return out;
}

/** The actual state of everything `want` names, and of what register made that it no longer names. */
export async function readAccount(cloud: Cloud, want: DesiredAccount): Promise<ActualAccount> {
  const provider = await cloud.getSamlProvider(want.provider.name);
  if (provider) checkArn(want, provider.arn, `saml-provider ${want.provider.name}`);

  let paiPolicy: ActualAccount['paiPolicy'];
  if (want.paiPolicy) {
    const p = await cloud.getCustomPolicy(want.paiPolicy.name);
    paiPolicy = p ? { ...p, tags: (await cloud.listTags('policy', [want.paiPolicy.name])).get(want.paiPolicy.name) ?? {} } : null;
  }

  const found = new Map<string, Omit<ActualRole, 'tags'>>();
  for (const r of want.roles) {
    const role = await cloud.getRole(r.roleName);
    if (!role) continue;
    checkArn(want, role.arn, `role ${r.roleName}`);
    found.set(r.roleName, { ...role, attached: await cloud.listPoliciesForRole(r.roleName) });
  }
  const tags = await cloud.listTags('role', [...found.keys()]);
  const roles = new Map<string, ActualRole | null>();
  const members = new Map<string, WorkspaceMember | null>();
  for (const r of want.roles) {
    const role = found.get(r.roleName);
    if (!role) {
      roles.set(r.roleName, null);
      continue;
    }
    const roleTags = tags.get(r.roleName) ?? {};
    roles.set(r.roleName, { ...role, tags: roleTags });
    for (const ws of r.workspaces) members.set(memberKey(ws.id, r.roleName), await cloud.findMember(ws.region, ws.id, role.roleId));
    for (const m of await memberships(cloud, role.roleId, roleTags)) {
      if (!members.has(memberKey(m.workspaceId, r.roleName))) members.set(memberKey(m.workspaceId, r.roleName), m.member);
    }
  }

  const configured = new Set(want.roles.map((r) => r.roleName));
  const orphanRoles: OrphanRole[] = [];
  for (const name of await cloud.findTagged('role', MANAGED_TAG, want.managedBy)) {
    if (configured.has(name)) continue;
    const role = await cloud.getRole(name);
    if (!role) continue;
    checkArn(want, role.arn, `role ${name}`);
    const roleTags = (await cloud.listTags('role', [name])).get(name) ?? {};
    orphanRoles.push({
      ...role,
      roleName: name,
      attached: await cloud.listPoliciesForRole(name),
      tags: roleTags,
      memberships: await memberships(cloud, role.roleId, roleTags),
    });
  }

  const orphanPolicies: OrphanPolicy[] = [];
  for (const name of await cloud.findTagged('policy', MANAGED_TAG, want.managedBy)) {
    if (name === want.paiPolicy?.name) continue;
    const attached = await cloud.listEntitiesForPolicy(name);
    orphanPolicies.push({ name, ...attached, versions: await cloud.listPolicyVersions(name) });
  }
  return { provider, paiPolicy, roles, members, orphanRoles, orphanPolicies };
}
