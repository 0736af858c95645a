import type { Tags } from './desired.js';
import { OWN_TAG_PREFIX, WORKSPACE_TAG_PREFIX } from './ownership.js';
import type { Op, ResourceType } from './plan-types.js';

// Tags in the plan: what to set and what to remove so that a role's or policy's tags follow
// the config, and the calls that do it. Workspace-membership tags are not compared here:
// the membership items own them (plan.ts, plan-prune.ts).

export interface TagDiff {
  readonly changes: string[];
  readonly notes: string[];
  readonly ops: Op[];
}

export function tagDiff(type: ResourceType, name: string, want: Tags, have: Tags, prune: boolean, extraSet: Tags = {}): TagDiff {
  const changes: string[] = [];
  const notes: string[] = [];
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const [k, v] of Object.entries({ ...want, ...extraSet })) {
    const old = have[k];
    if (old === v) continue;
    set[k] = v;
    changes.push(old === undefined ? `+ tag ${k}=${v}` : `~ tag ${k}: ${old} -> ${v}`);
  }
  for (const [k, v] of Object.entries(have)) {
    // acs:/aliyun tags are the cloud's own (resource groups and the like): never ours to remove.
    if (k in want || k in extraSet || k.startsWith(WORKSPACE_TAG_PREFIX) || /^(acs:|aliyun)/i.test(k)) continue;
    if (prune || k.startsWith(OWN_TAG_PREFIX)) {
      remove.push(k);
      changes.push(`- tag ${k}=${v}`);
    } else notes.push(`kept tag ${k}=${v} (not configured; --prune removes it)`);
  }
  const ops: Op[] = [];
  if (Object.keys(set).length) ops.push({ kind: 'tagResource', resourceType: type, name, tags: set });
  if (remove.length) ops.push({ kind: 'untagResource', resourceType: type, name, keys: remove });
  return { changes, notes, ops };
}
