import type { ErrorObject } from 'ajv';
import type { Config } from './schema.js';
import { checkShape } from './shape-validator.js';
import type { ConfigProblem } from './errors.js';
import { checkRegister } from './register-schema.js';
import { trustedProxyProblems } from './trusted-proxies.js';
import { checkLoginThrottle } from './throttle-schema.js';
import { checkMfa } from './mfa-schema.js';
import {
  ACCOUNT_ID_PATTERN,
  ROLE_NAME_PATTERN,
  SAML_PROVIDER_NAME_PATTERN,
  SESSION_DURATION_MAX,
  SESSION_DURATION_MIN,
  RELAY_STATE_DOMAINS,
  isAllowedRelayState,
} from '../alibaba.js';

function toPath(instancePath: string, extra?: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  return parts.length ? parts.join('.') : '(root)';
}

function describe(e: ErrorObject): ConfigProblem {
  switch (e.keyword) {
    case 'additionalProperties':
      return { path: toPath(e.instancePath, String(e.params['additionalProperty'])), reason: 'unknown key' };
    case 'required':
      return { path: toPath(e.instancePath, String(e.params['missingProperty'])), reason: 'is required' };
    case 'anyOf':
      return { path: toPath(e.instancePath), reason: 'is not one of the allowed values' };
    default:
      return { path: toPath(e.instancePath), reason: e.message ?? e.keyword };
  }
}

/** Ajv reports every branch of a union; fold them into one line per path. */
function shapeProblems(errors: ErrorObject[]): ConfigProblem[] {
  const allowed = new Map<string, unknown[]>();
  for (const e of errors) {
    if (e.keyword !== 'const') continue;
    const list = allowed.get(e.instancePath) ?? [];
    list.push(e.params['allowedValue']);
    allowed.set(e.instancePath, list);
  }
  const byPath = new Map<string, ConfigProblem>();
  for (const e of errors) {
    if (e.keyword === 'const') continue;
    const values = allowed.get(e.instancePath);
    const p =
      e.keyword === 'anyOf' && values ? { path: toPath(e.instancePath), reason: `must be one of: ${values.join(', ')}` } : describe(e);
    const key = `${p.path}\0${p.reason}`;
    if (e.keyword === 'anyOf' || !allowed.has(e.instancePath)) byPath.set(key, p);
  }
  return [...byPath.values()];
}

function checkReferences(raw: Config): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const obj = <T>(v: T): T => (v && typeof v === 'object' ? v : ({} as T));
  const c: Config = {
    ...raw,
    server: obj(raw.server),
    accounts: obj(raw.accounts),
    roles: obj(raw.roles),
    targets: obj(raw.targets),
    session: obj(raw.session),
    // A misshapen list may hold anything, null included.
    mappings: Array.isArray(raw.mappings)
      ? raw.mappings.filter((m: Config['mappings'][number] | null | undefined) => m && Array.isArray(m.roles))
      : [],
  };
  const push = (path: string, reason: string) => out.push({ path, reason });

  let base: URL | undefined;
  if (typeof c.server.baseUrl === 'string')
    try {
      base = new URL(c.server.baseUrl);
    } catch {
      push('server.baseUrl', 'must be an absolute http(s) URL');
    }
  if (base && (!/^https?:$/.test(base.protocol) || base.search || base.hash || base.username)) {
    push('server.baseUrl', 'must be an http(s) URL without credentials, query or fragment');
  }

  for (const [name, a] of Object.entries(c.accounts)) {
    if (!ACCOUNT_ID_PATTERN.test(a.accountId))
      push(`accounts.${name}.accountId`, 'must be a numeric Alibaba Cloud account ID (10-20 digits)');
    if (!SAML_PROVIDER_NAME_PATTERN.test(a.samlProvider)) {
      push(`accounts.${name}.samlProvider`, 'must be 1-128 letters, digits, ".", "-", "_", not starting or ending with a symbol');
    }
  }
  if (Object.keys(c.accounts).length === 0) push('accounts', 'at least one account is required');

  for (const [name, r] of Object.entries(c.roles)) {
    if (!(r.account in c.accounts)) push(`roles.${name}.account`, `refers to unknown account "${r.account}"`);
    if (!ROLE_NAME_PATTERN.test(r.roleName)) push(`roles.${name}.roleName`, 'must be 1-64 letters, digits, "." or "-"');
    if (r.sessionDuration !== undefined && (r.sessionDuration < SESSION_DURATION_MIN || r.sessionDuration > SESSION_DURATION_MAX)) {
      push(`roles.${name}.sessionDuration`, `must be between ${SESSION_DURATION_MIN} and ${SESSION_DURATION_MAX} seconds`);
    }
  }
  if (Object.keys(c.roles).length === 0) push('roles', 'at least one role is required');

  c.mappings.forEach((m, i) => {
    m.roles.forEach((role, j) => {
      if (!(role in c.roles)) push(`mappings.${i}.roles.${j}`, `refers to unknown role "${role}"`);
    });
  });

  for (const [name, t] of Object.entries(c.targets)) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) push(`targets.${name}`, 'target names are 1-64 letters, digits, ".", "_" or "-"');
    if (!isAllowedRelayState(t.url)) {
      push(`targets.${name}.url`, `must be an https URL on an Alibaba RelayState domain (${RELAY_STATE_DOMAINS.join(', ')})`);
    }
  }
  if (Object.keys(c.targets).length === 0) push('targets', 'at least one launch target is required');
  if (c.defaultTarget !== undefined && !(c.defaultTarget in c.targets)) {
    push('defaultTarget', `refers to unknown target "${c.defaultTarget}"`);
  }
  // A misshapen identity section may have no source.
  const identity: Partial<Config['identity']> = obj(raw.identity);
  const kinds = identity.source === undefined ? [] : Array.isArray(identity.source) ? identity.source : [identity.source];
  for (const kind of kinds) {
    if (kind !== 'local' && (identity as Record<string, unknown>)[kind] === undefined)
      push(`identity.${kind}`, `is required when identity.source includes "${kind}"`);
  }
  if (c.session.idleTimeoutSeconds > c.session.absoluteTimeoutSeconds) {
    push('session.idleTimeoutSeconds', 'must not exceed session.absoluteTimeoutSeconds');
  }
  out.push(...checkState(obj(raw.state), c.server.workers));
  out.push(...checkRegister(c));
  out.push(...trustedProxyProblems(c.server), ...checkLoginThrottle(c.server.loginThrottle));
  out.push(...checkMfa({ identity, roles: c.roles }));
  return out;
}

function checkState(state: Partial<Config['state']>, workers: unknown): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const redis = state.redis;
  if (state.store === 'redis' && redis === undefined)
    out.push({ path: 'state.redis.url', reason: 'is required when state.store is "redis"' });
  if (redis && typeof redis.url === 'string') {
    let url: URL | undefined;
    try {
      url = new URL(redis.url);
    } catch {
      /* below */
    }
    if (!url || !/^rediss?:$/.test(url.protocol) || !url.hostname)
      out.push({ path: 'state.redis.url', reason: 'must be a redis://host:port or rediss://host:port URL' });
    else if (url.password)
      out.push({ path: 'state.redis.url', reason: 'must not carry a password: name an environment variable in state.redis.passwordEnv' });
    if (url && redis.tls && url.protocol !== 'rediss:') out.push({ path: 'state.redis.tls', reason: 'needs a rediss:// URL' });
  }
  // Each worker would keep its own sessions, revocations and login counters: a logout on
  // one worker would not be seen by the next, and a lockout would count per worker.
  if (state.store !== 'redis' && typeof workers === 'number' && workers > 1) {
    out.push({
      path: 'server.workers',
      reason:
        'more than 1 worker needs state.store: redis (the memory store is per process: sessions, revocations and login limits would not be shared)',
    });
  }
  return out;
}

export type Validation = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };

/** Validates and fills defaults in place. Reference checks only run on a well-shaped document. */
export function validateConfig(input: unknown): Validation {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, problems: [{ path: '(root)', reason: 'must be a YAML mapping' }] };
  }
  const doc = structuredClone(input);
  const shapeOk = checkShape(doc);
  const problems = shapeOk ? [] : shapeProblems(checkShape.errors ?? []);
  // Reference checks also run on a misshapen document so one start lists every problem;
  // a section too broken to walk is already reported by the shape check.
  try {
    const seen = new Set(problems.map((p) => p.path));
    for (const p of checkReferences(doc as Config)) if (!seen.has(p.path)) problems.push(p);
  } catch {
    /* reported above */
  }
  return problems.length === 0 && shapeOk ? { ok: true, config: doc } : { ok: false, problems };
}
