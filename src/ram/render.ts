import { createHash } from 'node:crypto';
import type { AccountPlan, Op, PlanItem } from './plan-types.js';
import { describeOp } from './describe-op.js';

// Plan output: the text a reviewer reads before typing "yes", and the same plan as JSON.

const MARK: Record<PlanItem['action'], string> = {
  create: '+ create',
  update: '~ update',
  delete: '- delete',
  ok: '  ok    ',
  blocked: '! blocked',
  orphan: '! orphan',
};

export type PlanSummary = Readonly<Record<PlanItem['action'], number>>;

export function summarize(plans: readonly AccountPlan[]): PlanSummary {
  const items = plans.flatMap((p) => p.items);
  const count = (a: PlanItem['action']) => items.filter((i) => i.action === a).length;
  return {
    create: count('create'),
    update: count('update'),
    delete: count('delete'),
    ok: count('ok'),
    blocked: count('blocked'),
    orphan: count('orphan'),
  };
}

function summaryLine(s: PlanSummary): string {
  if (s.create + s.update + s.delete + s.blocked + s.orphan === 0) return `No changes: ${s.ok} resource(s) match the config.`;
  return [
    `Plan: ${s.create} to create, ${s.update} to update, ${s.delete} to delete, ${s.ok} unchanged.`,
    ...(s.blocked ? [`${s.blocked} blocked: made by someone else; --adopt <address> lets register take it over.`] : []),
    ...(s.orphan ? [`${s.orphan} orphaned: made by register, no longer in the config, still granting access; --prune takes it away.`] : []),
  ].join('\n');
}

export function renderPlanText(plans: readonly AccountPlan[]): string {
  const lines: string[] = [];
  for (const plan of plans) {
    lines.push(`account ${plan.key} (${plan.accountId})`);
    for (const item of plan.items) {
      lines.push(`  ${MARK[item.action]} ${item.address}`);
      for (const c of item.changes) lines.push(`        ${c}`);
      for (const n of item.notes) lines.push(`        note: ${n}`);
    }
    lines.push('');
  }
  lines.push(summaryLine(summarize(plans)));
  return `${lines.join('\n')}\n`;
}

/** Ops as JSON, with the (large, base64) metadata replaced by its digest. */
function opJson(op: Op): Record<string, unknown> {
  const { kind, ...rest } = op;
  const out: Record<string, unknown> = { call: describeOp(op).split(' ')[0], kind, ...rest };
  if ('metadataBase64' in op && op.metadataBase64 !== undefined) {
    delete out['metadataBase64'];
    out['metadataSha256'] = createHash('sha256').update(Buffer.from(op.metadataBase64, 'base64')).digest('hex');
  }
  return out;
}

export function renderPlanJson(plans: readonly AccountPlan[]): string {
  const s = summarize(plans);
  return `${JSON.stringify(
    {
      formatVersion: 2, // 2: actions delete, blocked, orphan; summary counts them
      changes: s.create + s.update + s.delete + s.blocked + s.orphan > 0,
      summary: s,
      accounts: plans.map((p) => ({
        key: p.key,
        accountId: p.accountId,
        resources: p.items.map((i) => ({
          resource: i.resource,
          address: i.address,
          action: i.action,
          changes: i.changes,
          notes: i.notes,
          calls: i.ops.map(opJson),
        })),
      })),
    },
    null,
    2,
  )}\n`;
}
