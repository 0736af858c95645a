import { TRUST_POLICY_MAX_CHARS } from '../alibaba.js';
import { PaiSsoError } from '../errors.js';
import type { DesiredRole, Statement } from './desired.js';
import { serviceStatement } from './desired.js';

// Trust-policy merge. A role's trust policy may carry statements someone else wrote (a RAM
// user principal, another IdP, an ECS service); `register` owns exactly two kinds, the
// statement whose Federated principal is our provider and the service-only statement,
// and leaves every other statement as it found it unless --prune is given.

const LISTY = new Set(['Action', 'NotAction', 'Resource', 'NotResource']);

const asList = (v: unknown): string[] =>
  v === undefined || v === null ? [] : (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));

function sortedUnique(v: unknown): string[] {
  return [...new Set(asList(v))].sort();
}

/**
 * RAM treats `"a"` and `["a"]`, and any order of a list, as the same policy; normalise so
 * that a document differing only in such spelling is not reported as drift.
 */
export function normalizeStatement(st: Statement): unknown {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(st).sort()) {
    const v = st[key];
    if (LISTY.has(key)) out[key] = sortedUnique(v);
    else if ((key === 'Principal' || key === 'NotPrincipal') && v && typeof v === 'object' && !Array.isArray(v)) {
      const p = v as Record<string, unknown>;
      out[key] = Object.fromEntries(
        Object.keys(p)
          .sort()
          .map((k) => [k, sortedUnique(p[k])]),
      );
    } else if (key === 'Condition' && v && typeof v === 'object' && !Array.isArray(v)) {
      const ops = v as Record<string, unknown>;
      out[key] = Object.fromEntries(
        Object.keys(ops)
          .sort()
          .map((op) => {
            const kv = (ops[op] && typeof ops[op] === 'object' ? ops[op] : {}) as Record<string, unknown>;
            return [
              op,
              Object.fromEntries(
                Object.keys(kv)
                  .sort()
                  .map((k) => [k, sortedUnique(kv[k])]),
              ),
            ];
          }),
      );
    } else out[key] = v;
  }
  return out;
}

const canon = (st: Statement): string => JSON.stringify(normalizeStatement(st));

export function statementsOf(doc: unknown): Statement[] {
  if (!doc || typeof doc !== 'object') return [];
  const s = (doc as Record<string, unknown>)['Statement'];
  const list = Array.isArray(s) ? s : s ? [s] : [];
  return list.filter((x): x is Statement => !!x && typeof x === 'object' && !Array.isArray(x));
}

/** Same statements, whatever their order or list spelling. */
export function sameStatements(a: readonly Statement[], b: readonly Statement[]): boolean {
  const ca = a.map(canon).sort();
  const cb = b.map(canon).sort();
  return ca.length === cb.length && ca.every((x, i) => x === cb[i]);
}

function principal(st: Statement): Record<string, unknown> {
  const p = st['Principal'];
  return p && typeof p === 'object' && !Array.isArray(p) ? (p as Record<string, unknown>) : {};
}

function isServiceOnly(st: Statement): boolean {
  const p = principal(st);
  const keys = Object.keys(p);
  return (
    keys.length === 1 &&
    keys[0] === 'Service' &&
    st['Effect'] === 'Allow' &&
    sortedUnique(st['Action']).join() === 'sts:AssumeRole' &&
    st['Condition'] === undefined
  );
}

/** One line a reviewer can read, e.g. `Allow sts:AssumeRole RAM acs:ram::1:root`. */
export function summarizeStatement(st: Statement): string {
  const p = principal(st);
  const who = Object.keys(p)
    .map((k) => `${k} ${asList(p[k]).join(',')}`)
    .join('; ');
  const cond = st['Condition'] ? ` if ${JSON.stringify(st['Condition'])}` : '';
  const effect = typeof st['Effect'] === 'string' ? st['Effect'] : '?';
  return `${effect} ${asList(st['Action']).join(',')} ${who || '(no principal)'}${cond}`;
}

function recipients(st: Statement | undefined): string[] {
  const c = st?.['Condition'];
  if (!c || typeof c !== 'object') return [];
  const eq = (c as Record<string, unknown>)['StringEquals'];
  return eq && typeof eq === 'object' ? asList((eq as Record<string, unknown>)['saml:recipient']) : [];
}

export interface TrustMerge {
  readonly document: string;
  readonly changed: boolean;
  readonly changes: string[];
  readonly notes: string[];
}

export function renderTrust(statements: readonly Statement[]): string {
  return JSON.stringify({ Version: '1', Statement: statements });
}

/** The trust policy for a new role: ours only. */
export function freshTrust(role: DesiredRole): TrustMerge {
  const statements = [role.samlStatement, ...(role.trustedServices.length ? [serviceStatement(role.trustedServices)] : [])];
  const providers = asList(principal(role.samlStatement)['Federated']);
  return {
    document: renderTrust(statements),
    changed: true,
    changes: [
      `+ trust Federated ${providers.join(',')} when saml:recipient = ${recipients(role.samlStatement).join(',')}`,
      ...role.trustedServices.map((s) => `+ trust Service ${s}`),
    ],
    notes: [],
  };
}

export function mergeTrust(actualDocument: string, role: DesiredRole, prune: boolean): TrustMerge {
  const changes: string[] = [];
  const notes: string[] = [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(actualDocument);
  } catch {
    // Without --prune nothing we did not write is ever dropped, and an unreadable
    // policy is entirely things we did not write.
    if (!prune)
      throw new Error(
        `role ${role.roleName}: its trust policy is not valid JSON; fix it in the console, or rerun with --prune to replace it`,
      );
    notes.push('the current trust policy is not valid JSON; it is replaced (--prune)');
  }
  const actual = statementsOf(parsed);
  const providerArn = asList(principal(role.samlStatement)['Federated'])[0] ?? '';

  const ours: Statement[] = [];
  const foreign: Statement[] = [];
  const existingServices = new Set<string>();
  for (const st of actual) {
    const fed = asList(principal(st)['Federated']);
    // Ours only in the shape we write: Allow sts:AssumeRole for Federated principals.
    // A Deny, another action or a condition-less variant naming our provider is someone
    // else's decision and is kept whole.
    const ourShape = st['Effect'] === 'Allow' && asList(st['Action']).join() === 'sts:AssumeRole';
    if (fed.includes(providerArn) && ourShape) {
      ours.push(st);
      const { Federated: _ours, ...otherKinds } = principal(st);
      const others = fed.filter((f) => f !== providerArn);
      // Whatever else the statement trusts (another IdP, a RAM account) keeps being
      // trusted, in a statement of its own.
      const rest = { ...otherKinds, ...(others.length ? { Federated: others } : {}) };
      if (Object.keys(rest).length) foreign.push({ ...st, Principal: rest });
    } else if (isServiceOnly(st)) {
      for (const s of asList(principal(st)['Service'])) existingServices.add(s);
    } else foreign.push(st);
  }

  const wantSaml = canon(role.samlStatement);
  if (ours.length === 0) {
    changes.push(`+ trust Federated ${providerArn} when saml:recipient = ${recipients(role.samlStatement).join(',')}`);
  } else if (!(ours.length === 1 && canon({ ...ours[0], Principal: { Federated: [providerArn] } }) === wantSaml)) {
    const was = [...new Set(ours.flatMap(recipients))];
    const want = recipients(role.samlStatement);
    if (was.join() !== want.join()) changes.push(`~ trust saml:recipient ${was.join(',') || '(none)'} -> ${want.join(',')}`);
    else changes.push(`~ trust statement for ${providerArn} rewritten (was: ${ours.map(summarizeStatement).join(' | ')})`);
  }

  const services = new Set(role.trustedServices);
  for (const s of role.trustedServices) if (!existingServices.has(s)) changes.push(`+ trust Service ${s}`);
  for (const s of [...existingServices].sort()) {
    if (services.has(s)) continue;
    if (prune) changes.push(`- trust Service ${s}`);
    else {
      services.add(s);
      notes.push(`kept trusted service ${s} (not configured; --prune removes it)`);
    }
  }
  for (const st of foreign) {
    if (prune) changes.push(`- trust statement we did not write: ${summarizeStatement(st)}`);
    else notes.push(`kept trust statement we did not write: ${summarizeStatement(st)}`);
  }

  const serviceList = [...services].sort();
  const next = [role.samlStatement, ...(serviceList.length ? [serviceStatement(serviceList)] : []), ...(prune ? [] : foreign)];
  const changed = !sameStatements(next, actual);
  if (changed && changes.length === 0) changes.push('~ trust policy statements regrouped (same principals and conditions)');
  return { document: renderTrust(next), changed, changes: changed ? changes : [], notes };
}

/** A trust policy register would write is longer than RAM accepts; found in the plan, never by UpdateRole. */
export class TrustPolicyTooLargeError extends PaiSsoError {
  constructor(message: string) {
    super('PAI_SSO_TRUST_POLICY_TOO_LARGE', 'config', message);
  }
}

/**
 * Refuses a trust policy longer than RAM's limit, naming its size and the statements that
 * could go: those register did not write (largest first), then the trusted services.
 */
export function checkTrustSize(role: DesiredRole, document: string): void {
  if (document.length <= TRUST_POLICY_MAX_CHARS) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    parsed = undefined;
  }
  const providerArn = asList(principal(role.samlStatement)['Federated'])[0] ?? '';
  const foreign = statementsOf(parsed)
    .filter((st) => !asList(principal(st)['Federated']).includes(providerArn) && !isServiceOnly(st))
    .map((st) => ({ text: summarizeStatement(st), size: JSON.stringify(st).length }))
    .sort((a, b) => b.size - a.size);
  const over = document.length - TRUST_POLICY_MAX_CHARS;
  const lines = foreign.map((f) => `    ${f.size} characters: ${f.text}`);
  throw new TrustPolicyTooLargeError(
    `role ${role.roleName}: its trust policy would be ${document.length} characters, ${over} more than RAM's ${TRUST_POLICY_MAX_CHARS}. ` +
      (foreign.length
        ? `Statements register did not write (remove some in the RAM console, or rerun with --prune to drop them all):\n${lines.join('\n')}\n  `
        : '') +
      (role.trustedServices.length
        ? `Or trust fewer services (register.roles.${role.key}.trustedServices: ${role.trustedServices.join(', ')}).`
        : 'Nothing register writes can be left out; shorten the provider or role names.'),
  );
}

export interface Revocation {
  readonly document: string;
  /** False when the policy does not trust the provider (nothing to revoke). */
  readonly changed: boolean;
  /** True when nothing else was trusted and the account root stands in for the removed statement. */
  readonly rootOnly: boolean;
}

/**
 * The trust policy of a role that left the config, without the provider: every statement
 * loses the provider from its Federated principal and disappears when nothing is left in it.
 * RAM needs at least one statement; when none is left the role trusts its own account
 * (`acs:ram::<uid>:root`), which lets nobody in without a RAM policy allowing sts:AssumeRole.
 */
export function revokeProvider(actualDocument: string, providerArn: string, accountId: string): Revocation | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(actualDocument);
  } catch {
    return undefined;
  }
  const statements = statementsOf(parsed);
  let changed = false;
  const kept: Statement[] = [];
  for (const st of statements) {
    const fed = asList(principal(st)['Federated']);
    if (!fed.includes(providerArn)) {
      kept.push(st);
      continue;
    }
    changed = true;
    const { Federated: _gone, ...otherKinds } = principal(st);
    const others = fed.filter((f) => f !== providerArn);
    const rest = { ...otherKinds, ...(others.length ? { Federated: others } : {}) };
    if (Object.keys(rest).length) kept.push({ ...st, Principal: rest });
  }
  if (!changed) return { document: actualDocument, changed: false, rootOnly: false };
  const rootOnly = kept.length === 0;
  const next = rootOnly ? [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { RAM: [`acs:ram::${accountId}:root`] } }] : kept;
  return { document: renderTrust(next), changed: true, rootOnly };
}
