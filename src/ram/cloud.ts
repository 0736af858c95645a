import Ims from '@alicloud/ims20190815';
import Ram from '@alicloud/ram20150501';
import { ThrottlingError } from '@alicloud/openapi-core';
import { DEFAULT_SESSION_DURATION } from '../alibaba.js';
import { PaiSsoError } from '../errors.js';
import type { CallerIdentity } from './caller-identity.js';
import type { AccountClients } from './clients.js';
import type { WorkspaceMember } from './aiworkspace.js';
import type { PolicyRef, Tags } from './desired.js';
import type { ResourceType, SamlProviderState } from './plan-types.js';
import { sameStatements, statementsOf } from './trust.js';

// Typed, retried wrappers around the IMS, RAM, STS and AIWorkspace calls `register` makes;
// every create is safe to repeat after a lost answer, every delete after its target is
// gone. Callers get plain values or a CloudCallError whose message is safe to print.
// read-account.ts reads one account's actual state through them.

export interface RetryOptions {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Injectable so tests do not wait out real backoff. */
  readonly sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryOptions = {
  attempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const HINTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^SignatureDoesNotMatch/, 'the AccessKey secret does not match the AccessKey ID'],
  [/^InvalidAccessKeyId/, 'the AccessKey ID is unknown or disabled'],
  [/^(InvalidSecurityToken|SecurityToken)/, 'the STS token is invalid or expired'],
  [/^(NoPermission|Forbidden)/, 'the credential lacks a permission; `pai-sso register policy` prints the policy it needs'],
];

interface SdkRole {
  roleId?: string;
  arn?: string;
  assumeRolePolicyDocument?: string;
  maxSessionDuration?: number;
  description?: string;
}

/** GetRole and CreateRole answer with the same Role shape; fields the API left out take the fallback. */
function roleState(r: SdkRole, fallback: { trustPolicy: string; maxSessionDuration: number }): RoleState {
  return {
    roleId: r.roleId ?? '',
    arn: r.arn ?? '',
    trustPolicy: r.assumeRolePolicyDocument ?? fallback.trustPolicy,
    maxSessionDuration: r.maxSessionDuration ?? fallback.maxSessionDuration,
    description: r.description,
  };
}

/** A cloud API call failed; `apiCode` is Alibaba's error code (e.g. `Throttling.User`), `code` ours. */
export class CloudCallError extends PaiSsoError {
  constructor(
    readonly api: string,
    readonly apiCode: string | undefined,
    readonly statusCode: number | undefined,
    readonly requestId: string | undefined,
    readonly detail: string,
  ) {
    const status = statusCode === undefined ? '' : ` (HTTP ${statusCode})`;
    const hint = HINTS.find(([re]) => re.test(apiCode ?? ''))?.[1];
    const rid = requestId ? ` [RequestId ${requestId}]` : '';
    super('PAI_SSO_CLOUD_CALL', 'runtime', `${api} failed: ${apiCode ?? 'error'}${status}: ${detail}${rid}${hint ? ` (${hint})` : ''}`);
  }
}

interface ErrorFields {
  code?: unknown;
  statusCode?: unknown;
  requestId?: unknown;
  data?: unknown;
  message?: unknown;
  retryAfter?: unknown;
}

function fields(err: unknown): ErrorFields {
  // Ours carries Alibaba's code as apiCode (its `code` is PAI_SSO_CLOUD_CALL).
  if (err instanceof CloudCallError)
    return { code: err.apiCode, statusCode: err.statusCode, requestId: err.requestId, message: err.message };
  return err && typeof err === 'object' ? err : {};
}

const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'ReadTimeout', 'ConnectTimeout']);

export function isRetryable(err: unknown): boolean {
  if (err instanceof ThrottlingError) return true;
  const f = fields(err);
  const code = typeof f.code === 'string' ? f.code : '';
  if (code.includes('Throttling') || code === 'ServiceUnavailable') return true;
  if (typeof f.statusCode === 'number') return f.statusCode >= 500;
  // A gateway's HTML error page reaches us as a JSON SyntaxError with no status.
  if (err instanceof SyntaxError) return true;
  return RETRYABLE_NETWORK.has(code) || /timeout/i.test(typeof f.message === 'string' ? f.message : '');
}

/**
 * Only the entity codes mean "absent": a bare 404 also answers an unknown AccessKey ID
 * (InvalidAccessKeyId.NotFound), and reading that as "nothing exists" would plan to
 * recreate everything.
 */
export function isNotFound(err: unknown): boolean {
  const code = fields(err).code;
  return typeof code === 'string' && code.startsWith('EntityNotExist');
}

/** RAM and IMS answer `EntityAlreadyExists.*`; AIWorkspace `MemberAlreadyExists`-style codes. */
export function isAlreadyExists(err: unknown): boolean {
  const code = fields(err).code;
  return typeof code === 'string' && /^EntityAlreadyExists|AlreadyExist/.test(code);
}

/** The server's message without the SDK's decorations, and never a URL with its query. */
function detailOf(err: unknown): string {
  const f = fields(err);
  const data = f.data && typeof f.data === 'object' ? (f.data as Record<string, unknown>) : {};
  let text = typeof data['Message'] === 'string' ? data['Message'] : String(f.message ?? err);
  text = text.replace(/(https?:\/\/[^\s?]*)\?\S*/g, '$1?…');
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export function toCloudError(api: string, err: unknown): CloudCallError {
  if (err instanceof CloudCallError) return err;
  const f = fields(err);
  const code = typeof f.code === 'string' && f.code ? f.code : err instanceof Error ? err.name : undefined;
  const requestId = typeof f.requestId === 'string' && f.requestId !== 'undefined' ? f.requestId : undefined;
  return new CloudCallError(api, code, typeof f.statusCode === 'number' ? f.statusCode : undefined, requestId, detailOf(err));
}

export interface CallHooks {
  readonly retry: RetryOptions;
  /** Told about each retry, so the operator sees why a run is slow. */
  readonly onRetry?: (api: string, attempt: number, delayMs: number, err: CloudCallError) => void;
  /** Told when a create failed but a read shows it happened (its answer was lost). */
  readonly onRecovered?: (api: string, what: string, err: CloudCallError) => void;
}

/**
 * Runs `fn` with exponential backoff and full jitter on throttling, 5xx and network
 * errors; the SDK's own retry is off by default. `ifExists` answers `…AlreadyExists` for
 * calls whose "already there" is exactly the state wanted (attaching a policy, adding a PAI
 * role); creates of whole resources compare what they find instead (Cloud.#create).
 */
export async function withRetry<T>(
  api: string,
  hooks: CallHooks,
  fn: () => Promise<T>,
  ifExists?: () => T,
  anyAttempt = false,
): Promise<T> {
  const { retry } = hooks;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if ((attempt > 1 || anyAttempt) && ifExists && isAlreadyExists(err)) return ifExists();
      if (attempt >= retry.attempts || !isRetryable(err)) throw toCloudError(api, err);
      const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
      const retryAfter = fields(err).retryAfter;
      const delay = Math.max(
        Math.round(Math.random() * ceiling),
        typeof retryAfter === 'number' ? Math.min(retryAfter, retry.maxDelayMs) : 0,
      );
      hooks.onRetry?.(api, attempt, delay, toCloudError(api, err));
      await retry.sleep(delay);
    }
  }
}

export interface RoleState {
  readonly roleId: string;
  readonly arn: string;
  readonly trustPolicy: string;
  readonly maxSessionDuration: number;
  readonly description: string | undefined;
}

export interface PolicyState {
  /** The default version's document. */
  readonly document: string;
  readonly description: string | undefined;
}

/**
 * What a read after a lost or refused create found: the resource as it was sent (`same`),
 * nothing (`absent`: the create did not happen), or something else (`conflict`: why).
 */
export type CreateCheck = { readonly kind: 'same' } | { readonly kind: 'absent' } | { readonly kind: 'conflict'; readonly why: string };

/** A create found the resource already there, different from what register sent. */
export class CreateConflictError extends PaiSsoError {
  constructor(api: string, what: string, why: string) {
    super(
      'PAI_SSO_CREATE_CONFLICT',
      'runtime',
      `${api} ${what}: it already exists but differs from what register sent (${why}); someone else created or changed it since the plan: run \`pai-sso register plan\` again`,
    );
  }
}

/** Same statements, whatever their order or list spelling. */
function sameTrust(a: string, b: string): boolean {
  try {
    return sameStatements(statementsOf(JSON.parse(a)), statementsOf(JSON.parse(b)));
  } catch {
    return a === b;
  }
}
const samePolicyDocument = sameTrust;

const tagsOf = (rows: ReadonlyArray<{ tagKey?: string; tagValue?: string }>): Record<string, string> =>
  Object.fromEntries(rows.filter((r) => r.tagKey).map((r) => [r.tagKey ?? '', r.tagValue ?? '']));

/** One account's view of the cloud, in the terms the planner uses. */
export class Cloud {
  constructor(
    private readonly clients: AccountClients,
    private readonly hooks: CallHooks,
  ) {}

  async #get<T>(api: string, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await withRetry(api, this.hooks, fn);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw toCloudError(api, err);
    }
  }

  #do<T>(api: string, fn: () => Promise<T>, ifExists?: () => T, anyAttempt = false): Promise<T> {
    return withRetry(api, this.hooks, fn, ifExists, anyAttempt);
  }

  /** A delete whose target is already gone has done its job (also after a lost response). */
  async #delete(api: string, fn: () => Promise<unknown>, gone: RegExp): Promise<void> {
    try {
      await withRetry(api, this.hooks, fn);
    } catch (err) {
      if (!(err instanceof CloudCallError && gone.test(err.apiCode ?? ''))) throw err;
    }
  }

  /**
   * A create that is safe to repeat. A create's answer can be lost after the cloud made the
   * resource (a reset connection, a timeout, a 5xx from a proxy), and the retry then meets
   * `EntityAlreadyExists` or, for calls without such a check (CreatePolicyVersion), makes a
   * second resource. So after any retryable failure and on `…AlreadyExist…`, `check` reads
   * the resource and compares it with what was sent: the same means the create happened;
   * absent means retry; anything else is a conflict nobody should paper over.
   */
  async #create(api: string, what: string, fn: () => Promise<unknown>, check: () => Promise<CreateCheck>): Promise<void> {
    const { retry } = this.hooks;
    for (let attempt = 1; ; attempt++) {
      try {
        await fn();
        return;
      } catch (err) {
        const exists = isAlreadyExists(err);
        if (exists || isRetryable(err)) {
          const found = await check();
          if (found.kind === 'same') {
            this.hooks.onRecovered?.(api, what, toCloudError(api, err));
            return;
          }
          if (found.kind === 'conflict') throw new CreateConflictError(api, what, found.why);
          if (exists) throw toCloudError(api, err);
        }
        if (attempt >= retry.attempts || !isRetryable(err)) throw toCloudError(api, err);
        const delay = Math.round(Math.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1)));
        this.hooks.onRetry?.(api, attempt, delay, toCloudError(api, err));
        await retry.sleep(delay);
      }
    }
  }

  async getCallerIdentity(): Promise<CallerIdentity> {
    const res = await this.#do('sts:GetCallerIdentity', () => this.clients.sts.getCallerIdentity());
    return res;
  }

  async getSamlProvider(name: string): Promise<SamlProviderState | null> {
    const res = await this.#get('ims:GetSAMLProvider', () =>
      this.clients.ims.getSAMLProvider(new Ims.GetSAMLProviderRequest({ SAMLProviderName: name })),
    );
    const p = res?.body?.SAMLProvider;
    if (!p) return null;
    return {
      arn: p.arn ?? '',
      metadataBase64: p.encodedSAMLMetadataDocument ?? '',
      authnSignAlgo: p.authnSignAlgo,
      description: p.description,
    };
  }

  async createSamlProvider(name: string, metadataBase64: string, description: string, authnSignAlgo: string): Promise<void> {
    await this.#create(
      'ims:CreateSAMLProvider',
      name,
      () =>
        this.clients.ims.createSAMLProvider(
          new Ims.CreateSAMLProviderRequest({
            SAMLProviderName: name,
            encodedSAMLMetadataDocument: metadataBase64,
            description,
            authnSignAlgo,
          }),
        ),
      async () => {
        const p = await this.getSamlProvider(name);
        if (!p) return { kind: 'absent' };
        const why = [
          ...(p.metadataBase64 !== metadataBase64 ? ['other metadata'] : []),
          ...((p.description ?? '') !== description ? [`description "${p.description ?? ''}"`] : []),
          ...(p.authnSignAlgo && p.authnSignAlgo !== authnSignAlgo ? [`AuthnSignAlgo ${p.authnSignAlgo}`] : []),
        ];
        return why.length ? { kind: 'conflict', why: why.join(', ') } : { kind: 'same' };
      },
    );
  }

  async updateSamlProvider(name: string, change: { metadataBase64?: string; description?: string; authnSignAlgo: string }): Promise<void> {
    await this.#do('ims:UpdateSAMLProvider', () =>
      this.clients.ims.updateSAMLProvider(
        new Ims.UpdateSAMLProviderRequest({
          SAMLProviderName: name,
          newEncodedSAMLMetadataDocument: change.metadataBase64,
          newDescription: change.description,
          authnSignAlgo: change.authnSignAlgo,
        }),
      ),
    );
  }

  async getRole(name: string): Promise<RoleState | null> {
    const res = await this.#get('ram:GetRole', () => this.clients.ram.getRole(new Ram.GetRoleRequest({ roleName: name })));
    const r = res?.body?.role;
    return r ? roleState(r, { trustPolicy: '', maxSessionDuration: DEFAULT_SESSION_DURATION }) : null;
  }

  async createRole(
    name: string,
    trustPolicy: string,
    maxSessionDuration: number,
    description: string | undefined,
    tags: Tags,
  ): Promise<RoleState | undefined> {
    let created: RoleState | undefined;
    await this.#create(
      'ram:CreateRole',
      name,
      async () => {
        const r = await this.clients.ram.createRole(
          new Ram.CreateRoleRequest({
            roleName: name,
            assumeRolePolicyDocument: trustPolicy,
            maxSessionDuration,
            description,
            tag: Object.entries(tags).map(([key, value]) => new Ram.CreateRoleRequestTag({ key, value })),
          }),
        );
        if (r.body?.role) created = roleState(r.body.role, { trustPolicy, maxSessionDuration });
      },
      async () => {
        const r = await this.getRole(name);
        if (!r) return { kind: 'absent' };
        const have = await this.listTags('role', [name]);
        const why = [
          ...(!sameTrust(r.trustPolicy, trustPolicy) ? ['another trust policy'] : []),
          ...(r.maxSessionDuration !== maxSessionDuration ? [`MaxSessionDuration ${r.maxSessionDuration}`] : []),
          ...(description !== undefined && r.description !== description ? [`description "${r.description ?? ''}"`] : []),
          ...Object.entries(tags)
            .filter(([k, v]) => have.get(name)?.[k] !== v)
            .map(([k]) => `tag ${k} ${have.get(name)?.[k] === undefined ? 'missing' : `is ${have.get(name)?.[k]}`}`),
        ];
        if (why.length) return { kind: 'conflict', why: why.join(', ') };
        created = r;
        return { kind: 'same' };
      },
    );
    return created ?? (await this.getRole(name)) ?? undefined;
  }

  async updateRole(name: string, change: { trustPolicy?: string; maxSessionDuration?: number; description?: string }): Promise<void> {
    await this.#do('ram:UpdateRole', () =>
      this.clients.ram.updateRole(
        new Ram.UpdateRoleRequest({
          roleName: name,
          newAssumeRolePolicyDocument: change.trustPolicy,
          newMaxSessionDuration: change.maxSessionDuration,
          newDescription: change.description,
        }),
      ),
    );
  }

  async deleteRole(name: string): Promise<void> {
    await this.#delete(
      'ram:DeleteRole',
      () => this.clients.ram.deleteRole(new Ram.DeleteRoleRequest({ roleName: name })),
      /^EntityNotExist\.Role$/,
    );
  }

  async listPoliciesForRole(name: string): Promise<PolicyRef[]> {
    const res = await this.#get('ram:ListPoliciesForRole', () =>
      this.clients.ram.listPoliciesForRole(new Ram.ListPoliciesForRoleRequest({ roleName: name })),
    );
    return (res?.body?.policies?.policy ?? []).map((p) => ({
      type: p.policyType === 'System' ? 'System' : 'Custom',
      name: p.policyName ?? '',
    }));
  }

  async attachPolicy(roleName: string, policy: PolicyRef): Promise<void> {
    // Attached already (a lost response, or someone else) is the state we wanted.
    await this.#do(
      'ram:AttachPolicyToRole',
      () =>
        this.clients.ram.attachPolicyToRole(
          new Ram.AttachPolicyToRoleRequest({ roleName, policyName: policy.name, policyType: policy.type }),
        ),
      () => undefined,
      true,
    );
  }

  async detachPolicy(roleName: string, policy: PolicyRef): Promise<void> {
    // Already detached is the state we wanted.
    await this.#delete(
      'ram:DetachPolicyFromRole',
      () =>
        this.clients.ram.detachPolicyFromRole(
          new Ram.DetachPolicyFromRoleRequest({ roleName, policyName: policy.name, policyType: policy.type }),
        ),
      /^EntityNotExist\.Role\.Policy/,
    );
  }

  /** A Custom policy's default document and description, or null when the policy does not exist. */
  async getCustomPolicy(name: string): Promise<PolicyState | null> {
    const res = await this.#get('ram:GetPolicy', () =>
      this.clients.ram.getPolicy(new Ram.GetPolicyRequest({ policyName: name, policyType: 'Custom' })),
    );
    if (!res?.body?.policy) return null;
    return {
      document: res.body.defaultPolicyVersion?.policyDocument ?? res.body.policy.policyDocument ?? '',
      description: res.body.policy.description,
    };
  }

  async createPolicy(name: string, document: string, description: string, tags: Tags): Promise<void> {
    await this.#create(
      'ram:CreatePolicy',
      name,
      () =>
        this.clients.ram.createPolicy(
          new Ram.CreatePolicyRequest({
            policyName: name,
            policyDocument: document,
            description,
            tag: Object.entries(tags).map(([key, value]) => new Ram.CreatePolicyRequestTag({ key, value })),
          }),
        ),
      async () => {
        const p = await this.getCustomPolicy(name);
        if (!p) return { kind: 'absent' };
        const have = (await this.listTags('policy', [name])).get(name) ?? {};
        const why = [
          ...(!samePolicyDocument(p.document, document) ? ['another document'] : []),
          ...((p.description ?? '') !== description ? [`description "${p.description ?? ''}"`] : []),
          ...Object.entries(tags)
            .filter(([k, v]) => have[k] !== v)
            .map(([k]) => `tag ${k} ${have[k] === undefined ? 'missing' : `is ${have[k]}`}`),
        ];
        return why.length ? { kind: 'conflict', why: why.join(', ') } : { kind: 'same' };
      },
    );
  }

  /** A create-if-absent for lock.ts: 'held' when the policy exists with another description. */
  async createLockPolicy(name: string, document: string, description: string): Promise<'created' | 'held'> {
    try {
      await this.#create(
        'ram:CreatePolicy',
        name,
        () => this.clients.ram.createPolicy(new Ram.CreatePolicyRequest({ policyName: name, policyDocument: document, description })),
        async () => {
          const p = await this.getCustomPolicy(name);
          if (!p) return { kind: 'absent' };
          return p.description === description ? { kind: 'same' } : { kind: 'conflict', why: 'held' };
        },
      );
      return 'created';
    } catch (err) {
      if (err instanceof CreateConflictError) return 'held';
      throw err;
    }
  }

  async createPolicyVersion(name: string, document: string, rotate: boolean): Promise<void> {
    await this.#create(
      'ram:CreatePolicyVersion',
      name,
      () =>
        this.clients.ram.createPolicyVersion(
          new Ram.CreatePolicyVersionRequest({
            policyName: name,
            policyDocument: document,
            setAsDefault: true,
            rotateStrategy: rotate ? 'DeleteOldestNonDefaultVersionWhenLimitExceeded' : 'None',
          }),
        ),
      // The version is created and made the default in one call: a default that already
      // reads as the new document means a lost answer, and another version would be a copy.
      async () => {
        const p = await this.getCustomPolicy(name);
        if (!p) return { kind: 'conflict', why: 'the policy no longer exists' };
        return samePolicyDocument(p.document, document) ? { kind: 'same' } : { kind: 'absent' };
      },
    );
  }

  async updatePolicyDescription(name: string, description: string): Promise<void> {
    await this.#do('ram:UpdatePolicyDescription', () =>
      this.clients.ram.updatePolicyDescription(new Ram.UpdatePolicyDescriptionRequest({ policyName: name, newDescription: description })),
    );
  }

  async listPolicyVersions(name: string): Promise<Array<{ versionId: string; isDefault: boolean }>> {
    const res = await this.#get('ram:ListPolicyVersions', () =>
      this.clients.ram.listPolicyVersions(new Ram.ListPolicyVersionsRequest({ policyName: name, policyType: 'Custom' })),
    );
    return (res?.body?.policyVersions?.policyVersion ?? []).map((v) => ({
      versionId: v.versionId ?? '',
      isDefault: v.isDefaultVersion === true,
    }));
  }

  async deletePolicyVersion(name: string, versionId: string): Promise<void> {
    await this.#delete(
      'ram:DeletePolicyVersion',
      () => this.clients.ram.deletePolicyVersion(new Ram.DeletePolicyVersionRequest({ policyName: name, versionId })),
      /^EntityNotExist\.Policy/,
    );
  }

  async deletePolicy(name: string): Promise<void> {
    await this.#delete(
      'ram:DeletePolicy',
      () => this.clients.ram.deletePolicy(new Ram.DeletePolicyRequest({ policyName: name })),
      /^EntityNotExist\.Policy$/,
    );
  }

  /** The roles, users and groups a Custom policy is attached to. */
  async listEntitiesForPolicy(name: string): Promise<{ roles: string[]; others: string[] }> {
    const res = await this.#get('ram:ListEntitiesForPolicy', () =>
      this.clients.ram.listEntitiesForPolicy(new Ram.ListEntitiesForPolicyRequest({ policyName: name, policyType: 'Custom' })),
    );
    const b = res?.body;
    return {
      roles: (b?.roles?.role ?? []).map((r) => r.roleName ?? ''),
      others: [
        ...(b?.users?.user ?? []).map((u) => `user/${u.userName ?? ''}`),
        ...(b?.groups?.group ?? []).map((g) => `group/${g.groupName ?? ''}`),
      ],
    };
  }

  /** Tags of the named roles or policies (at most 50 names a call), by name. */
  async listTags(type: ResourceType, names: readonly string[]): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>(names.map((n) => [n, {}]));
    for (let i = 0; i < names.length; i += 50) {
      const batch = names.slice(i, i + 50);
      for (const row of await this.#listTagRows(type, { resourceNames: batch })) {
        const name = row.resourceName ?? '';
        out.set(name, { ...out.get(name), ...tagsOf([row]) });
      }
    }
    return out;
  }

  /** Names of the roles or policies carrying the tag key=value. */
  async findTagged(type: ResourceType, key: string, value: string): Promise<string[]> {
    const rows = await this.#listTagRows(type, { tag: [new Ram.ListTagResourcesRequestTag({ key, value })] });
    return [...new Set(rows.map((r) => r.resourceName ?? ''))].filter(Boolean).sort();
  }

  async #listTagRows(
    type: ResourceType,
    filter: { resourceNames?: string[]; tag?: Ram.ListTagResourcesRequestTag[] },
  ): Promise<Array<{ resourceName?: string; tagKey?: string; tagValue?: string }>> {
    const rows: Array<{ resourceName?: string; tagKey?: string; tagValue?: string }> = [];
    let nextToken: string | undefined;
    for (let page = 0; page < 100; page++) {
      const res = await this.#do('ram:ListTagResources', () =>
        this.clients.ram.listTagResources(new Ram.ListTagResourcesRequest({ resourceType: type, pageSize: 100, nextToken, ...filter })),
      );
      rows.push(...(res.body?.tagResources ?? []));
      nextToken = res.body?.nextToken;
      if (!nextToken) break;
    }
    return rows;
  }

  async tagResource(type: ResourceType, name: string, tags: Tags): Promise<void> {
    await this.#do('ram:TagResources', () =>
      this.clients.ram.tagResources(
        new Ram.TagResourcesRequest({
          resourceType: type,
          resourceNames: [name],
          tag: Object.entries(tags).map(([key, value]) => new Ram.TagResourcesRequestTag({ key, value })),
        }),
      ),
    );
  }

  async untagResource(type: ResourceType, name: string, keys: readonly string[]): Promise<void> {
    await this.#do('ram:UntagResources', () =>
      this.clients.ram.untagResources(new Ram.UntagResourcesRequest({ resourceType: type, resourceNames: [name], tagKeys: [...keys] })),
    );
  }

  async findMember(region: string, workspaceId: string, userId: string): Promise<WorkspaceMember | null> {
    const api = 'aiworkspace:ListMembers';
    const members = await this.#do(api, () => this.clients.pai(region).listMembers(workspaceId, userId));
    return members[0] ?? null;
  }

  async createMember(region: string, workspaceId: string, userId: string, roles: readonly string[]): Promise<void> {
    await this.#create(
      'aiworkspace:CreateMember',
      `${userId} in workspace ${workspaceId}`,
      () => this.clients.pai(region).createMember(workspaceId, userId, roles),
      async () => {
        const m = await this.findMember(region, workspaceId, userId);
        if (!m) return { kind: 'absent' };
        const missing = roles.filter((r) => !m.roles.includes(r));
        return missing.length ? { kind: 'conflict', why: `member ${m.memberId} lacks ${missing.join(', ')}` } : { kind: 'same' };
      },
    );
  }

  async addMemberRole(region: string, workspaceId: string, memberId: string, role: string): Promise<void> {
    await this.#do(
      'aiworkspace:AddMemberRole',
      () => this.clients.pai(region).addMemberRole(workspaceId, memberId, role),
      () => undefined,
      true,
    );
  }

  async removeMemberRole(region: string, workspaceId: string, memberId: string, role: string): Promise<void> {
    await this.#do('aiworkspace:RemoveMemberRole', () => this.clients.pai(region).removeMemberRole(workspaceId, memberId, role));
  }

  async deleteMember(region: string, workspaceId: string, memberId: string): Promise<void> {
    await this.#delete(
      'aiworkspace:DeleteMembers',
      () => this.clients.pai(region).deleteMembers(workspaceId, [memberId]),
      /^MemberNotExist/,
    );
  }
}

/** The credential reaches another account than the config names. */
export class AccountMismatchError extends PaiSsoError {
  constructor(message: string, options?: ErrorOptions) {
    super('PAI_SSO_ACCOUNT_MISMATCH', 'runtime', message, options);
  }
}
