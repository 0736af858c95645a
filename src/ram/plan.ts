import { createHash } from 'node:crypto';
import type { WorkspaceMember } from './aiworkspace.js';
import { readSigningCert } from '../keys/cert.js';
import { policyKey, type DesiredAccount, type DesiredPolicy, type DesiredProvider, type DesiredRole, type PolicyRef } from './desired.js';
import { freshTrust, mergeTrust, normalizeStatement, statementsOf } from './trust.js';

// The planner: desired state (from config) against actual state (read from the cloud),
// producing per-resource actions and the exact calls apply will make. Pure, so every
// drift case is a unit test without an emulator.

export type Action = 'create' | 'update' | 'ok';

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
  | { readonly kind: 'createPolicy'; readonly name: string; readonly document: string; readonly description: string }
  | { readonly kind: 'createPolicyVersion'; readonly name: string; readonly document: string; readonly rotate: boolean }
  | {
      readonly kind: 'createRole';
      readonly roleName: string;
      readonly trustPolicy: string;
      readonly maxSessionDuration: number;
      readonly description?: string;
    }
  | { readonly kind: 'updateRole'; readonly roleName: string; readonly trustPolicy?: string; readonly maxSessionDuration?: number }
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
    };

export type ResourceKind = 'saml-provider' | 'policy' | 'role' | 'workspace-member';

export interface PlanItem {
  readonly resource: ResourceKind;
  readonly address: string;
  readonly action: Action;
  /** Readable diff lines: `+` added, `-` removed, `~` changed, `=` value set on create. */
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

export interface ActualRole {
  readonly roleId: string;
  readonly arn: string;
  readonly trustPolicy: string;
  readonly maxSessionDuration: number;
  readonly attached: readonly PolicyRef[];
}

export interface ActualAccount {
  readonly provider: SamlProviderState | null;
  /** Default-version document of the custom PAI policy; null when absent, undefined when not needed. */
  readonly paiPolicyDocument: string | null | undefined;
  /** By RAM role name; null when the role does not exist. */
  readonly roles: ReadonlyMap<string, ActualRole | null>;
  /** By memberKey(); null when the role is not a member (or does not exist yet). */
  readonly members: ReadonlyMap<string, WorkspaceMember | null>;
}

export const memberKey = (workspaceId: string, roleName: string): string => `${workspaceId}\u0000${roleName}`;

export interface PlanOptions {
  readonly prune: boolean;
}

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

function planProvider(want: DesiredProvider, have: SamlProviderState | null): PlanItem {
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
  const changes: string[] = [];
  const notes: string[] = [];
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

function planPolicy(want: DesiredPolicy, have: string | null, opts: PlanOptions): PlanItem {
  const address = `policy/${want.name}`;
  if (have === null) {
    return {
      resource: 'policy',
      address,
      action: 'create',
      changes: [`= Custom policy, ${grants(want.document).size} granted actions (data/pai-default-policy.json)`],
      notes: [],
      ops: [{ kind: 'createPolicy', name: want.name, document: want.document, description: want.description }],
    };
  }
  if (samePolicy(have, want.document)) return { resource: 'policy', address, action: 'ok', changes: [], notes: [], ops: [] };
  const a = grants(have);
  const b = grants(want.document);
  return {
    resource: 'policy',
    address,
    action: 'update',
    changes: [...[...b].filter((g) => !a.has(g)).map((g) => `+ ${g}`), ...[...a].filter((g) => !b.has(g)).map((g) => `- ${g}`)],
    notes: [
      opts.prune
        ? "a new default version is created; with --prune the oldest non-default version is deleted if RAM's 5-version limit is reached"
        : 'a new default version is created; the old one is kept (if the policy already has 5 versions, rerun with --prune to rotate the oldest out)',
    ],
    ops: [{ kind: 'createPolicyVersion', name: want.name, document: want.document, rotate: opts.prune }],
  };
}

// --- roles -----------------------------------------------------------------------------

function planRole(want: DesiredRole, have: ActualRole | null, opts: PlanOptions): PlanItem {
  const address = `role/${want.roleName}`;
  if (!have) {
    const trust = freshTrust(want);
    const max = want.maxSessionDuration.exact ?? want.maxSessionDuration.atLeast;
    return {
      resource: 'role',
      address,
      action: 'create',
      changes: [...trust.changes, `= MaxSessionDuration ${max}`, ...want.policies.map((p) => `+ attach ${policyKey(p)}`)],
      notes: [],
      ops: [
        {
          kind: 'createRole',
          roleName: want.roleName,
          trustPolicy: trust.document,
          maxSessionDuration: max,
          ...(want.description ? { description: want.description } : {}),
        },
        ...want.policies.map((policy): Op => ({ kind: 'attachPolicy', roleName: want.roleName, policy })),
      ],
    };
  }
  const trust = mergeTrust(have.trustPolicy, want, opts.prune);
  const changes = [...trust.changes];
  const notes = [...trust.notes];
  const { exact, atLeast } = want.maxSessionDuration;
  let newMax: number | undefined;
  if (exact !== undefined ? have.maxSessionDuration !== exact : have.maxSessionDuration < atLeast) {
    newMax = exact ?? atLeast;
    changes.push(`~ MaxSessionDuration ${have.maxSessionDuration} -> ${newMax}`);
  }
  const ops: Op[] = [];
  if (trust.changed || newMax !== undefined) {
    ops.push({
      kind: 'updateRole',
      roleName: want.roleName,
      ...(trust.changed ? { trustPolicy: trust.document } : {}),
      ...(newMax !== undefined ? { maxSessionDuration: newMax } : {}),
    });
  }
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
    const address = `workspace/${ws.id}@${ws.region}/member/${want.roleName}`;
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

/** Order matters for apply: provider before the trust policies naming it, policy before attaching it. */
export function planAccount(want: DesiredAccount, have: ActualAccount, opts: PlanOptions): AccountPlan {
  const items: PlanItem[] = [planProvider(want.provider, have.provider)];
  if (want.paiPolicy) items.push(planPolicy(want.paiPolicy, have.paiPolicyDocument ?? null, opts));
  for (const role of want.roles) items.push(planRole(role, have.roles.get(role.roleName) ?? null, opts));
  for (const role of want.roles) items.push(...planMembers(role, have, opts));
  return { key: want.key, accountId: want.accountId, items };
}

export function hasChanges(plans: readonly AccountPlan[]): boolean {
  return plans.some((p) => p.items.some((i) => i.action !== 'ok'));
}
