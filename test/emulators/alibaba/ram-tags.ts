import { ApiError } from './errors.js';
import type { AccountState } from './state.js';

// RAM 2015-05-01 tags on roles and policies: Tag on CreateRole/CreatePolicy, TagResources,
// UntagResources and ListTagResources. The SDK sends Tag, ResourceNames and TagKeys as JSON
// strings (`[{"Key":"k","Value":"v"}]`, `["a","b"]`). The key and value rules are Alibaba
// Cloud's tag rules (no `aliyun`/`acs:` key prefix, no `http://` or `https://`, 128
// characters, 20 tags per resource); the error codes for breaking them are the emulator's.

const MAX_TAGS = 20;
const MAX_LEN = 128;

function jsonList(raw: string | undefined, field: string): unknown[] {
  if (raw === undefined || raw === '') return [];
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new ApiError(400, `InvalidParameter.${field}`, `The parameter ${field} is not valid JSON.`);
  }
  if (!Array.isArray(v)) throw new ApiError(400, `InvalidParameter.${field}`, `The parameter ${field} must be a list.`);
  return v;
}

function checkTag(key: string, value: string): void {
  if (!key || key.length > MAX_LEN || /^(aliyun|acs:)/i.test(key) || /https?:\/\//i.test(key))
    throw new ApiError(400, 'InvalidParameter.Tag.Key', `The tag key "${key}" is invalid.`);
  if (value.length > MAX_LEN || /https?:\/\//i.test(value))
    throw new ApiError(400, 'InvalidParameter.Tag.Value', `The tag value for "${key}" is invalid.`);
}

/** The Tag parameter as key/value pairs, each checked. */
export function parseTags(raw: string | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const t of jsonList(raw, 'Tag')) {
    const o = (t && typeof t === 'object' ? t : {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    const key = text(o['Key'] ?? o['key']);
    const value = text(o['Value'] ?? o['value']);
    checkTag(key, value);
    out.push([key, value]);
  }
  if (out.length > MAX_TAGS) throw new ApiError(400, 'InvalidParameter.Tag.Count', `At most ${MAX_TAGS} tags.`);
  return out;
}

/** Adds tags to a resource's map, refusing to go past the per-resource limit. */
export function addTags(target: Map<string, string>, tags: ReadonlyArray<readonly [string, string]>): void {
  const next = new Map(target);
  for (const [k, v] of tags) next.set(k, v);
  if (next.size > MAX_TAGS) throw new ApiError(409, 'LimitExceeded.Tag', `A resource can have at most ${MAX_TAGS} tags.`);
  for (const [k, v] of tags) target.set(k, v);
}

function tagged(a: AccountState, type: string): Map<string, Map<string, string>> {
  if (type === 'role') return new Map([...a.roles.values()].map((r) => [r.name, r.tags]));
  if (type === 'policy') return new Map([...a.policies.values()].filter((p) => p.type === 'Custom').map((p) => [p.name, p.tags]));
  throw new ApiError(400, 'InvalidParameter.ResourceType', 'ResourceType must be role or policy.');
}

function resources(a: AccountState, p: Record<string, string>): Array<[string, Map<string, string>]> {
  const all = tagged(a, p['ResourceType'] ?? '');
  const names = jsonList(p['ResourceNames'], 'ResourceNames').map(String);
  if (names.length > 50) throw new ApiError(400, 'InvalidParameter.ResourceNames', 'At most 50 resource names.');
  return names.map((n) => {
    const tags = all.get(n);
    if (!tags) throw new ApiError(404, `EntityNotExist.${p['ResourceType'] === 'role' ? 'Role' : 'Policy'}`, `${n} does not exist.`);
    return [n, tags];
  });
}

export function ramTags(action: string, p: Record<string, string>, a: AccountState): Record<string, unknown> | undefined {
  switch (action) {
    case 'TagResources': {
      const tags = parseTags(p['Tag']);
      if (tags.length === 0) throw new ApiError(400, 'MissingParameter.Tag', 'The parameter Tag is required.');
      const list = resources(a, p);
      if (list.length === 0) throw new ApiError(400, 'MissingParameter.ResourceNames', 'The parameter ResourceNames is required.');
      for (const [, t] of list) addTags(t, tags);
      return {};
    }
    case 'UntagResources': {
      const keys = jsonList(p['TagKeys'], 'TagKeys').map(String);
      const all = p['All'] === 'true';
      for (const [, t] of resources(a, p)) {
        if (all) t.clear();
        else for (const k of keys) t.delete(k);
      }
      return {};
    }
    case 'ListTagResources': {
      const filter = parseTags(p['Tag']);
      const named = jsonList(p['ResourceNames'], 'ResourceNames').length > 0;
      const list = named ? resources(a, p) : [...tagged(a, p['ResourceType'] ?? '')];
      const matching = list.filter(([, t]) => filter.every(([k, v]) => t.get(k) === v));
      const rows = matching.flatMap(([name, t]) =>
        [...t].map(([TagKey, TagValue]) => ({ ResourceName: name, ResourceType: p['ResourceType'], TagKey, TagValue })),
      );
      const size = Math.min(Number(p['PageSize'] ?? 50) || 50, 100);
      const start = Number(p['NextToken'] ?? 0) || 0;
      const page = rows.slice(start, start + size);
      return { TagResources: page, ...(start + size < rows.length ? { NextToken: String(start + size) } : {}) };
    }
    default:
      return undefined;
  }
}
