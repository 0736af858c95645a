import { createHash } from 'node:crypto';
import type { AccountPlan, Op, PlanItem } from './plan.js';
import { describeOp } from './describe-op.js';

// Plan output: the text a reviewer reads before typing "yes", and the same plan as JSON.

const MARK: Record<PlanItem['action'], string> = { create: '+ create', update: '~ update', ok: '  ok    ' };

export interface PlanSummary {
  readonly create: number;
  readonly update: number;
  readonly ok: number;
}

export function summarize(plans: readonly AccountPlan[]): PlanSummary {
  const items = plans.flatMap((p) => p.items);
  return {
    create: items.filter((i) => i.action === 'create').length,
    update: items.filter((i) => i.action === 'update').length,
    ok: items.filter((i) => i.action === 'ok').length,
  };
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
  const s = summarize(plans);
  lines.push(
    s.create + s.update === 0
      ? `No changes: ${s.ok} resource(s) match the config.`
      : `Plan: ${s.create} to create, ${s.update} to update, ${s.ok} unchanged.`,
  );
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
      formatVersion: 1,
      changes: s.create + s.update > 0,
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
