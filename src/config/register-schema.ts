import { Type, type Static } from '@sinclair/typebox';
import type { ConfigProblem } from './errors.js';
import {
  MAX_SESSION_DURATION_MIN,
  PAI_OWNER_ROLE,
  PAI_ROLES,
  POLICY_NAME_PATTERN,
  REGION_PATTERN,
  SERVICE_PRINCIPAL_PATTERN,
  SESSION_DURATION_MAX,
  tagProblem,
} from '../alibaba.js';

// The `register:` section: only what `pai-sso register` needs beyond the accounts, roles
// and site the gateway already serves. Account IDs, provider names and role names are
// never repeated here, so the IdP and the cloud side cannot disagree about them.

const Strict = { additionalProperties: false } as const;

/** RAM tags, key to value; keys starting with `pai-sso:` are register's own. */
const Tags = (description: string) => Type.Record(Type.String(), Type.String(), { default: {}, description });

/** A resource register manages, as the plan names it. */
export const ADDRESS_PATTERN = '^(saml-provider|policy|role)/[A-Za-z0-9._-]{1,128}$';

/** host[:port], no scheme: the SDKs take the protocol separately. */
const ENDPOINT_PATTERN = '^[A-Za-z0-9.{}-]+(:[0-9]{1,5})?$';

export const WorkspaceMembershipSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'PAI workspace ID' }),
    region: Type.String({ description: 'Region of the workspace, e.g. cn-hangzhou' }),
    roles: Type.Array(Type.String(), { minItems: 1, description: 'PAI roles, e.g. PAI.AlgoDeveloper' }),
  },
  Strict,
);

export const RegisterRoleSchema = Type.Object(
  {
    description: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    maxSessionDuration: Type.Optional(
      Type.Integer({
        description: `RAM MaxSessionDuration, ${MAX_SESSION_DURATION_MIN}..${SESSION_DURATION_MAX}; default: at least the role sessionDuration`,
      }),
    ),
    trustedServices: Type.Array(Type.String(), {
      default: [],
      description: 'Extra service principals trusted next to the SAML provider, e.g. dataworks.aliyuncs.com',
    }),
    attachPaiPolicy: Type.Boolean({ default: false, description: 'Attach the custom PAI access policy (paiPolicy.name)' }),
    systemPolicies: Type.Array(Type.String(), { default: [], description: 'System policies to attach, e.g. AliyunPAIFullAccess' }),
    workspaces: Type.Array(WorkspaceMembershipSchema, { default: [] }),
    tags: Tags('RAM tags on this role, on top of register.tags'),
  },
  Strict,
);

export const RegisterAccountSchema = Type.Object(
  {
    profile: Type.Optional(Type.String({ minLength: 1, description: 'aliyun CLI profile (~/.aliyun/config.json) used for this account' })),
  },
  Strict,
);

export const RegisterSchema = Type.Object(
  {
    providerDescription: Type.String({ maxLength: 256, default: 'pai-sso gateway (managed by pai-sso register)' }),
    paiPolicy: Type.Object(
      {
        name: Type.String({ default: 'PAIDefaultPolicy' }),
        description: Type.String({
          minLength: 1,
          maxLength: 1024,
          default: 'PAI access for SSO roles (PAI role-SSO guide; managed by pai-sso register)',
        }),
      },
      { ...Strict, default: {} },
    ),
    endpoints: Type.Object(
      {
        ims: Type.String({ pattern: ENDPOINT_PATTERN, default: 'ims.aliyuncs.com' }),
        ram: Type.String({ pattern: ENDPOINT_PATTERN, default: 'ram.aliyuncs.com' }),
        sts: Type.String({ pattern: ENDPOINT_PATTERN, default: 'sts.aliyuncs.com', description: 'GetCallerIdentity' }),
        aiworkspace: Type.String({
          pattern: ENDPOINT_PATTERN,
          default: 'aiworkspace.{region}.aliyuncs.com',
          description: '{region} is replaced by the workspace region',
        }),
        protocol: Type.Union([Type.Literal('https'), Type.Literal('http')], { default: 'https' }),
      },
      { ...Strict, default: {} },
    ),
    accounts: Type.Record(Type.String(), RegisterAccountSchema, { default: {} }),
    roles: Type.Record(Type.String(), RegisterRoleSchema, { default: {} }),
    tags: Tags('RAM tags on every role and policy register manages'),
    adopt: Type.Array(Type.String({ pattern: ADDRESS_PATTERN }), {
      default: [],
      description: 'Existing resources register did not create and may take over, e.g. role/pai-admin (same as --adopt)',
    }),
  },
  { ...Strict, default: {} },
);

export type RegisterConfig = Static<typeof RegisterSchema>;
export type WorkspaceMembership = Static<typeof WorkspaceMembershipSchema>;
type RegisterRole = Static<typeof RegisterRoleSchema>;

// The reference checks also run on a document the shape check refused (validate.ts), so
// their input says what may really be there: lists missing, entries that are not objects.
type WorkspaceAsFound = Omit<WorkspaceMembership, 'roles'> & { readonly roles?: readonly string[] | undefined };
type RegisterRoleAsFound = Partial<Omit<RegisterRole, 'workspaces'>> & {
  readonly workspaces?: readonly (WorkspaceAsFound | null | undefined)[] | undefined;
};
type RegisterAsFound = Partial<Omit<RegisterConfig, 'roles'>> & {
  readonly roles?: Readonly<Record<string, RegisterRoleAsFound | null | undefined>> | undefined;
};

interface RegisterRefs {
  readonly accounts?: Record<string, unknown>;
  readonly roles?: Record<string, { sessionDuration?: number | undefined } | undefined>;
  readonly register?: RegisterAsFound | undefined;
}

/** Edit distance, for "did you mean" on names with a small closed set of values. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The closest PAI role to a misspelt one, if any is close. */
export function suggestPaiRole(value: string): string | undefined {
  const v = value.toLowerCase().replace(/^pai\./, '');
  let best: { role: string; d: number } | undefined;
  for (const role of PAI_ROLES) {
    const d = distance(v, role.toLowerCase().replace(/^pai\./, ''));
    if (!best || d < best.d) best = { role, d };
  }
  return best && best.d <= Math.max(2, Math.floor(v.length / 3)) ? best.role : undefined;
}

function paiRoleProblem(role: string): string | undefined {
  if ((PAI_ROLES as readonly string[]).includes(role)) return undefined;
  if (role === PAI_OWNER_ROLE)
    return `${PAI_OWNER_ROLE} belongs to the workspace's owner and cannot be granted with CreateMember/AddMemberRole; use PAI.WorkspaceAdmin`;
  const hint = suggestPaiRole(role);
  return `${hint ? `unknown PAI role "${role}"; did you mean ${hint}? ` : `unknown PAI role "${role}"; `}valid: ${PAI_ROLES.join(', ')}`;
}

function tagProblems(tags: unknown, push: (reason: string) => void): void {
  if (!tags || typeof tags !== 'object') return;
  for (const [k, v] of Object.entries(tags as Record<string, unknown>)) {
    if (k.startsWith('pai-sso:')) push(`tag "${k}": keys starting with "pai-sso:" are register's own`);
    else if (typeof v === 'string') {
      const problem = tagProblem(k, v);
      if (problem) push(`tag "${k}": ${problem}`);
    }
  }
}

/** Reference and syntax checks Ajv cannot express; paths use the config's own keys. */
export function checkRegister(c: RegisterRefs): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const r = c.register;
  if (!r || typeof r !== 'object') return out;
  const push = (path: string, reason: string) => out.push({ path: `register.${path}`, reason });
  const roles = c.roles && typeof c.roles === 'object' ? c.roles : {};
  const accounts = c.accounts && typeof c.accounts === 'object' ? c.accounts : {};

  const policyName = r.paiPolicy?.name;
  if (typeof policyName === 'string' && !POLICY_NAME_PATTERN.test(policyName)) {
    push('paiPolicy.name', 'must be 1-128 letters, digits or "-"');
  }
  for (const name of Object.keys(r.accounts ?? {})) {
    if (!(name in accounts)) push(`accounts.${name}`, `refers to unknown account "${name}"`);
  }
  for (const [key, role] of Object.entries(r.roles ?? {})) {
    if (!role || typeof role !== 'object') continue;
    if (!(key in roles)) {
      push(`roles.${key}`, `refers to unknown role "${key}" (keys are those of roles:)`);
      continue;
    }
    const max = role.maxSessionDuration;
    if (max !== undefined) {
      if (max < MAX_SESSION_DURATION_MIN || max > SESSION_DURATION_MAX) {
        push(`roles.${key}.maxSessionDuration`, `must be between ${MAX_SESSION_DURATION_MIN} and ${SESSION_DURATION_MAX} seconds`);
      }
      const session = roles[key]?.sessionDuration;
      if (session !== undefined && max < session) {
        push(`roles.${key}.maxSessionDuration`, `must be at least roles.${key}.sessionDuration (${session})`);
      }
    }
    (role.trustedServices ?? []).forEach((s, i) => {
      if (!SERVICE_PRINCIPAL_PATTERN.test(s))
        push(`roles.${key}.trustedServices.${i}`, 'must be a service principal like dataworks.aliyuncs.com');
    });
    (role.systemPolicies ?? []).forEach((p, i) => {
      if (!POLICY_NAME_PATTERN.test(p)) push(`roles.${key}.systemPolicies.${i}`, 'must be 1-128 letters, digits or "-"');
    });
    const seen = new Set<string>();
    (role.workspaces ?? []).forEach((w, i) => {
      if (!w || typeof w !== 'object') return;
      if (typeof w.region === 'string' && !REGION_PATTERN.test(w.region)) {
        push(`roles.${key}.workspaces.${i}.region`, 'must be a region ID like cn-hangzhou');
      }
      if (seen.has(w.id)) push(`roles.${key}.workspaces.${i}.id`, `workspace "${w.id}" is listed twice`);
      seen.add(w.id);
      (w.roles ?? []).forEach((p, j) => {
        const problem = paiRoleProblem(p);
        if (problem) push(`roles.${key}.workspaces.${i}.roles.${j}`, problem);
      });
    });
    tagProblems(role.tags, (reason) => push(`roles.${key}.tags`, reason));
  }
  tagProblems(r.tags, (reason) => push('tags', reason));
  return out;
}
