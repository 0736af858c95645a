import { createHash } from 'node:crypto';
import { readSigningCert } from '../keys/cert.js';
import { policyKey, type DesiredAccount, type DesiredPolicy, type DesiredProvider, type DesiredRole } from './desired.js';
import {
  MANAGED_TAG,
  WORKSPACE_TAG_VALUE,
  markerInDescription,
  ownership,
  parseWorkspaceTag,
  workspaceTagKey,
  type Ownership,
} from './ownership.js';
import { memberAddress, planDroppedMember, planOrphanPolicies, planOrphanRoles } from './plan-prune.js';
import { tagDiff } from './plan-tags.js';
import {
  memberKey,
  type AccountPlan,
  type ActualAccount,
  type ActualPolicy,
  type ActualRole,
  type Op,
  type PlanItem,
  type PlanOptions,
  type SamlProviderState,
} from './plan-types.js';
import { checkTrustSize, freshTrust, mergeTrust, normalizeStatement, statementsOf } from './trust.js';

// The planner: desired state (from config) against actual state (read from the cloud),
// producing per-resource actions and the exact calls apply will make. Pure, so every
// drift case is a unit test without an emulator. What register created and the config no
// longer names is planned in plan-prune.ts.

export * from './plan-types.js';

/** Whether register may touch an existing resource: it carries our marker, or the operator adopted it. */
interface Owned {
  readonly owner: Ownership;
  readonly adopted: boolean;
}

function blocked(resource: PlanItem['resource'], address: string, owner: Ownership): PlanItem {
  const why =
    owner.kind === 'other'
      ? `exists and is managed by another gateway (${MANAGED_TAG}=${owner.value})`
      : `exists but register did not create it (no ${MANAGED_TAG} marker)`;
  return {
    resource,
    address,
    action: 'blocked',
    changes: [`! ${why}; left untouched`],
    notes: [`to let register take it over, rerun with --adopt ${address} (or list it in register.adopt)`],
    ops: [],
  };
}

const mayTouch = (o: Owned): boolean => o.owner.kind === 'ours' || o.adopted;
const adoptedNote = (o: Owned, address: string): string[] =>
  o.owner.kind === 'ours' ? [] : [`adopted (${address}): register marks it as its own and manages it from now on`];

// --- SAML provider ---------------------------------------------------------------------

interface MetadataFacts {
  readonly entityId: string;
  readonly certs: readonly string[];
  readonly sso: readonly string[];
  readonly nameIdFormats: readonly string[];
}

/** The parts of IdP metadata Alibaba acts on; enough to explain a diff, not a validator. */
export function metadataFacts(xml: string): MetadataFacts {
  const all = (re: RegExp) => [...xml.matchAll(re)].map((m) => (m[1] ?? '').trim());
  return {
    entityId: /<(?:\w+:)?EntityDescriptor\b[^>]*\bentityID="([^"]*)"/.exec(xml)?.[1] ?? '',
    certs: all(/<(?:\w+:)?X509Certificate>([^<]*)<\/(?:\w+:)?X509Certificate>/g).map((c) => c.replace(/\s+/g, '')),
    sso: [...xml.matchAll(/<(?:\w+:)?SingleSignOnService\b([^>]*)>/g)].map((m) => {
      const attrs = m[1] ?? '';
      return `${/Binding="([^"]*)"/.exec(attrs)?.[1] ?? ''} ${/Location="([^"]*)"/.exec(attrs)?.[1] ?? ''}`;
    }),
    nameIdFormats: all(/<(?:\w+:)?NameIDFormat>([^<]*)<\/(?:\w+:)?NameIDFormat>/g),
  };
}

/** One line naming a certificate from metadata (base64 DER) for the plan. */
function certSummary(base64: string): string {
  try {
    const c = readSigningCert(Buffer.from(base64, 'base64'));
    return `SHA256 ${c.sha256} (${c.subject.replace(/\n/g, ', ')}, expires ${c.notAfter.toISOString().slice(0, 10)})`;
  } catch {
    return `unparseable certificate sha256:${createHash('sha256').update(base64).digest('hex').slice(0, 16)}`;
  }
}

const sameAlgo = (a: string | undefined, b: string) =>
  (a ?? '').toLowerCase().replace(/^rsa-/, '') === b.toLowerCase().replace(/^rsa-/, '');

function planProvider(want: DesiredProvider, have: SamlProviderState | null, managedBy: string, adopt: ReadonlySet<string>): PlanItem {
  const address = `saml-provider/${want.name}`;
  const wantFacts = metadataFacts(want.metadataXml);
  if (!have) {
    return {
      resource: 'saml-provider',
      address,
      action: 'create',
      changes: [
        `= entityID ${wantFacts.entityId}`,
        ...wantFacts.certs.map((c) => `+ signing cert ${certSummary(c)}`),
        `= AuthnSignAlgo ${want.authnSignAlgo}`,
      ],
      notes: [],
      ops: [
        {
          kind: 'createSamlProvider',
          name: want.name,
          metadataBase64: want.metadataBase64,
          description: want.description,
          authnSignAlgo: want.authnSignAlgo,
        },
      ],
    };
  }
  const owned: Owned = { owner: ownership(markerInDescription(have.description), managedBy), adopted: adopt.has(address) };
  if (!mayTouch(owned)) return blocked('saml-provider', address, owned.owner);
  const changes: string[] = [];
  const notes: string[] = [...adoptedNote(owned, address)];
  const haveXml = Buffer.from(have.metadataBase64, 'base64').toString('utf8');
  let metadataChanged = false;
  if (haveXml !== want.metadataXml) {
    const haveFacts = metadataFacts(haveXml);
    for (const c of wantFacts.certs) if (!haveFacts.certs.includes(c)) changes.push(`+ signing cert ${certSummary(c)}`);
    for (const c of haveFacts.certs) if (!wantFacts.certs.includes(c)) changes.push(`- signing cert ${certSummary(c)}`);
    if (haveFacts.entityId !== wantFacts.entityId) changes.push(`~ entityID ${haveFacts.entityId || '(none)'} -> ${wantFacts.entityId}`);
    if (haveFacts.sso.join('\n') !== wantFacts.sso.join('\n'))
      changes.push(`~ SingleSignOnService ${haveFacts.sso.join(', ') || '(none)'} -> ${wantFacts.sso.join(', ')}`);
    if (haveFacts.nameIdFormats.join() !== wantFacts.nameIdFormats.join())
      changes.push(`~ NameIDFormat ${haveFacts.nameIdFormats.join(',') || '(none)'} -> ${wantFacts.nameIdFormats.join(',')}`);
    if (changes.length === 0 && haveFacts.certs.join() !== wantFacts.certs.join())
      changes.push('~ signing certificate order (current first)');
    if (changes.length === 0) notes.push('stored metadata differs from /saml/metadata in formatting only; left as is');
    else metadataChanged = true;
  }
  const algoChanged = !!have.authnSignAlgo && !sameAlgo(have.authnSignAlgo, want.authnSignAlgo);
  if (algoChanged) changes.push(`~ AuthnSignAlgo ${have.authnSignAlgo} -> ${want.authnSignAlgo}`);
  if (!have.authnSignAlgo) notes.push('AuthnSignAlgo not reported by the API; not compared');
  const descChanged = (have.description ?? '') !== want.description;
  if (descChanged) changes.push(`~ description "${have.description ?? ''}" -> "${want.description}"`);
  const changed = metadataChanged || algoChanged || descChanged;
  return {
    resource: 'saml-provider',
    address,
    action: changed ? 'update' : 'ok',
    changes,
    notes,
    ops: changed
      ? [
          {
            kind: 'updateSamlProvider',
            name: want.name,
            ...(metadataChanged ? { metadataBase64: want.metadataBase64 } : {}),
            ...(descChanged ? { description: want.description } : {}),
            authnSignAlgo: want.authnSignAlgo,
          },
        ]
      : [],
  };
}

// --- custom PAI policy -----------------------------------------------------------------

/** `Allow oss:GetObject on acs:oss:*:*:*` lines, so a policy diff names actions, not JSON. */
function grants(document: string): Set<string> {
  let doc: unknown;
  try {
    doc = JSON.parse(document);
  } catch {
    return new Set(['(invalid JSON)']);
  }
  const out = new Set<string>();
  for (const st of statementsOf(doc)) {
    const n = normalizeStatement(st) as Record<string, unknown>;
    const actions = (n['Action'] as string[] | undefined) ?? [];
    const resources = ((n['Resource'] as string[] | undefined) ?? []).join(',');
    const cond = n['Condition'] ? ` if ${JSON.stringify(n['Condition'])}` : '';
    for (const a of actions) out.add(`${String(n['Effect'])} ${a} on ${resources}${cond}`);
  }
  return out;
}

function samePolicy(a: string, b: string): boolean {
  try {
    const na = statementsOf(JSON.parse(a))
      .map((s) => JSON.stringify(normalizeStatement(s)))
      .sort();
    const nb = statementsOf(JSON.parse(b))
      .map((s) => JSON.stringify(normalizeStatement(s)))
      .sort();
    return na.length === nb.length && na.every((x, i) => x === nb[i]);
  } catch {
    return false;
  }
}

function planPolicy(
  want: DesiredPolicy,
  have: ActualPolicy | null,
  opts: PlanOptions,
  managedBy: string,
  adopt: ReadonlySet<string>,
): PlanItem {
  const address = `policy/${want.name}`;
  if (have === null) {
    return {
      resource: 'policy',
      address,
      action: 'create',
      changes: [
        `= Custom policy, ${grants(want.document).size} granted actions (data/pai-default-policy.json)`,
        ...Object.entries(want.tags).map(([k, v]) => `+ tag ${k}=${v}`),
      ],
      notes: [],
      ops: [{ kind: 'createPolicy', name: want.name, document: want.document, description: want.description, tags: want.tags }],
    };
  }
  const owned: Owned = { owner: ownership(have.tags[MANAGED_TAG], managedBy), adopted: adopt.has(address) };
  if (!mayTouch(owned)) return blocked('policy', address, owned.owner);
  const changes: string[] = [];
  const notes: string[] = [...adoptedNote(owned, address)];
  const ops: Op[] = [];
  if (!samePolicy(have.document, want.document)) {
    const a = grants(have.document);
    const b = grants(want.document);
    changes.push(...[...b].filter((g) => !a.has(g)).map((g) => `+ ${g}`), ...[...a].filter((g) => !b.has(g)).map((g) => `- ${g}`));
    notes.push(
      opts.prune
        ? "a new default version is created; with --prune the oldest non-default version is deleted if RAM's 5-version limit is reached"
        : 'a new default version is created; the old one is kept (if the policy already has 5 versions, rerun with --prune to rotate the oldest out)',
    );
    ops.push({ kind: 'createPolicyVersion', name: want.name, document: want.document, rotate: opts.prune });
  }
  if ((have.description ?? '') !== want.description) {
    changes.push(`~ description "${have.description ?? ''}" -> "${want.description}"`);
    ops.push({ kind: 'updatePolicyDescription', name: want.name, description: want.description });
  }
  const tags = tagDiff('policy', want.name, want.tags, have.tags, opts.prune);
  changes.push(...tags.changes);
  notes.push(...tags.notes);
  ops.push(...tags.ops);
  return { resource: 'policy', address, action: ops.length ? 'update' : 'ok', changes, notes, ops };
}

// --- roles -----------------------------------------------------------------------------

/** The tags recording the role's configured workspace memberships. */
const workspaceTags = (want: DesiredRole): Record<string, string> =>
  Object.fromEntries(want.workspaces.map((w) => [workspaceTagKey(w.id, w.region), WORKSPACE_TAG_VALUE]));

function planRole(want: DesiredRole, have: ActualRole | null, opts: PlanOptions, managedBy: string, adopt: ReadonlySet<string>): PlanItem {
  const address = `role/${want.roleName}`;
  if (!have) {
    const trust = freshTrust(want);
    checkTrustSize(want, trust.document);
    const max = want.maxSessionDuration.exact ?? want.maxSessionDuration.atLeast;
    const tags = { ...want.tags, ...workspaceTags(want) };
    return {
      resource: 'role',
      address,
      action: 'create',
      changes: [
        ...trust.changes,
        `= MaxSessionDuration ${max}`,
        ...(want.description ? [`= description "${want.description}"`] : []),
        ...Object.entries(tags).map(([k, v]) => `+ tag ${k}=${v}`),
        ...want.policies.map((p) => `+ attach ${policyKey(p)}`),
      ],
      notes: [],
      ops: [
        {
          kind: 'createRole',
          roleName: want.roleName,
          trustPolicy: trust.document,
          maxSessionDuration: max,
          ...(want.description ? { description: want.description } : {}),
          tags,
        },
        ...want.policies.map((policy): Op => ({ kind: 'attachPolicy', roleName: want.roleName, policy })),
      ],
    };
  }
  const owned: Owned = { owner: ownership(have.tags[MANAGED_TAG], managedBy), adopted: adopt.has(address) };
  if (!mayTouch(owned)) return blocked('role', address, owned.owner);
  const trust = mergeTrust(have.trustPolicy, want, opts.prune);
  if (trust.changed) checkTrustSize(want, trust.document);
  const changes = [...trust.changes];
  const notes = [...adoptedNote(owned, address), ...trust.notes];
  const { exact, atLeast } = want.maxSessionDuration;
  let newMax: number | undefined;
  if (exact !== undefined ? have.maxSessionDuration !== exact : have.maxSessionDuration < atLeast) {
    newMax = exact ?? atLeast;
    changes.push(`~ MaxSessionDuration ${have.maxSessionDuration} -> ${newMax}`);
  }
  const newDescription = want.description !== undefined && want.description !== (have.description ?? '') ? want.description : undefined;
  if (newDescription !== undefined) changes.push(`~ description "${have.description ?? ''}" -> "${newDescription}"`);
  const ops: Op[] = [];
  if (trust.changed || newMax !== undefined || newDescription !== undefined) {
    ops.push({
      kind: 'updateRole',
      roleName: want.roleName,
      ...(trust.changed ? { trustPolicy: trust.document } : {}),
      ...(newMax !== undefined ? { maxSessionDuration: newMax } : {}),
      ...(newDescription !== undefined ? { description: newDescription } : {}),
    });
  }
  // Membership tags are written here, before the memberships themselves (ownership.ts).
  const tags = tagDiff('role', want.roleName, want.tags, have.tags, opts.prune, workspaceTags(want));
  changes.push(...tags.changes);
  notes.push(...tags.notes);
  ops.push(...tags.ops);
  const attached = new Set(have.attached.map(policyKey));
  const wanted = new Set(want.policies.map(policyKey));
  for (const p of want.policies) {
    if (attached.has(policyKey(p))) continue;
    changes.push(`+ attach ${policyKey(p)}`);
    ops.push({ kind: 'attachPolicy', roleName: want.roleName, policy: p });
  }
  for (const p of have.attached) {
    if (wanted.has(policyKey(p))) continue;
    if (opts.prune) {
      changes.push(`- detach ${policyKey(p)}`);
      ops.push({ kind: 'detachPolicy', roleName: want.roleName, policy: p });
    } else notes.push(`kept attached ${policyKey(p)} (not configured; --prune detaches it)`);
  }
  return { resource: 'role', address, action: ops.length ? 'update' : 'ok', changes, notes, ops };
}

// --- workspace membership --------------------------------------------------------------

function planMembers(want: DesiredRole, have: ActualAccount, opts: PlanOptions): PlanItem[] {
  const role = have.roles.get(want.roleName) ?? null;
  return want.workspaces.map((ws): PlanItem => {
    const address = memberAddress(ws.id, ws.region, want.roleName);
    const member = role ? (have.members.get(memberKey(ws.id, want.roleName)) ?? null) : null;
    const userId = role ? `RoleId ${role.roleId}` : 'RoleId of the new role';
    if (!member) {
      return {
        resource: 'workspace-member',
        address,
        action: 'create',
        changes: [`+ member UserId = ${userId}`, ...ws.roles.map((r) => `+ PAI role ${r}`)],
        notes: [],
        ops: [{ kind: 'createMember', roleName: want.roleName, region: ws.region, workspaceId: ws.id, roles: [...ws.roles] }],
      };
    }
    const changes: string[] = [];
    const notes: string[] = [];
    const ops: Op[] = [];
    for (const r of ws.roles) {
      if (member.roles.includes(r)) continue;
      changes.push(`+ PAI role ${r}`);
      ops.push({ kind: 'addMemberRole', region: ws.region, workspaceId: ws.id, memberId: member.memberId, role: r });
    }
    for (const r of member.roles) {
      if (ws.roles.includes(r)) continue;
      if (opts.prune) {
        changes.push(`- PAI role ${r}`);
        ops.push({ kind: 'removeMemberRole', region: ws.region, workspaceId: ws.id, memberId: member.memberId, role: r });
      } else notes.push(`kept PAI role ${r} (not configured; --prune removes it)`);
    }
    return { resource: 'workspace-member', address, action: ops.length ? 'update' : 'ok', changes, notes, ops };
  });
}

/**
 * Memberships register recorded on a configured role (its workspace tags) in workspaces the
 * config no longer lists: planned as deletions with --prune. A tag whose membership is
 * already gone is cleaned up either way.
 */
function planDroppedMembers(want: DesiredRole, have: ActualAccount, opts: PlanOptions): PlanItem[] {
  const role = have.roles.get(want.roleName);
  if (!role) return [];
  const configured = new Set(want.workspaces.map((w) => workspaceTagKey(w.id, w.region)));
  const items: PlanItem[] = [];
  for (const key of Object.keys(role.tags)) {
    const ws = parseWorkspaceTag(key);
    if (!ws || configured.has(key)) continue;
    items.push(planDroppedMember(want.roleName, ws, have.members.get(memberKey(ws.id, want.roleName)) ?? null, opts));
  }
  return items;
}

/** Order matters for apply: provider before the trust policies naming it, policy before attaching it, removals last. */
export function planAccount(want: DesiredAccount, have: ActualAccount, opts: PlanOptions): AccountPlan {
  const adopt = new Set([...want.adopt, ...(opts.adopt ?? [])]);
  const items: PlanItem[] = [planProvider(want.provider, have.provider, want.managedBy, adopt)];
  if (want.paiPolicy) items.push(planPolicy(want.paiPolicy, have.paiPolicy ?? null, opts, want.managedBy, adopt));
  for (const role of want.roles) items.push(planRole(role, have.roles.get(role.roleName) ?? null, opts, want.managedBy, adopt));
  for (const role of want.roles) items.push(...planMembers(role, have, opts));
  // Only a role register may touch has memberships it may take away.
  const touchable = (roleName: string) => items.some((i) => i.address === `role/${roleName}` && i.action !== 'blocked');
  for (const role of want.roles) if (touchable(role.roleName)) items.push(...planDroppedMembers(role, have, opts));
  items.push(...planOrphanRoles(want, have.orphanRoles, opts));
  const managedRoles = new Set([
    ...want.roles.filter((r) => touchable(r.roleName)).map((r) => r.roleName),
    ...have.orphanRoles.map((r) => r.roleName),
  ]);
  items.push(...planOrphanPolicies(have.orphanPolicies, items, managedRoles, opts));
  return { key: want.key, accountId: want.accountId, items };
}

/** Some item has calls to make. */
export function hasChanges(plans: readonly AccountPlan[]): boolean {
  return plans.some((p) => p.items.some((i) => i.ops.length > 0));
}

/** The cloud differs from the config: calls to make, or items that need --adopt or --prune. */
export function hasDrift(plans: readonly AccountPlan[]): boolean {
  return plans.some((p) => p.items.some((i) => i.action !== 'ok'));
}

export function blockedItems(plans: readonly AccountPlan[]): string[] {
  return plans.flatMap((p) => p.items.filter((i) => i.action === 'blocked').map((i) => `[${p.key}] ${i.address}`));
}
