import Ims from '@alicloud/ims20190815';
import Ram from '@alicloud/ram20150501';
import { ThrottlingError } from '@alicloud/openapi-core';
import { DEFAULT_SESSION_DURATION } from '../alibaba.js';
import { PaiSsoError } from '../errors.js';
import type { AccountClients } from './clients.js';
import type { WorkspaceMember } from './aiworkspace.js';
import type { DesiredAccount, PolicyRef } from './desired.js';
import { memberKey, type ActualAccount, type ActualRole, type SamlProviderState } from './plan.js';

// Typed, retried wrappers around the handful of IMS, RAM and AIWorkspace calls `register`
// makes, and readAccount, which reads one account's actual state through them. Callers get
// plain values or a CloudCallError whose message is safe to print.

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
  // An SDK or socket error's message: a string whenever there is one; String() covers the rest.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- fields of an untyped thrown value, read defensively
  return RETRYABLE_NETWORK.has(code) || /timeout/i.test(String(f.message ?? ''));
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

export function isAlreadyExists(err: unknown): boolean {
  const code = fields(err).code;
  return typeof code === 'string' && code.startsWith('EntityAlreadyExists');
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
}

/**
 * Runs `fn` with exponential backoff and full jitter on throttling, 5xx and network
 * errors; the SDK's own retry is off by default. A create that times out may have
 * succeeded, so an `EntityAlreadyExists` on a *retry* of a create means it did.
 */
export async function withRetry<T>(api: string, hooks: CallHooks, fn: () => Promise<T>, onAlreadyExistsAfterRetry?: () => T): Promise<T> {
  const { retry } = hooks;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt > 1 && onAlreadyExistsAfterRetry && isAlreadyExists(err)) return onAlreadyExistsAfterRetry();
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

  #do<T>(api: string, fn: () => Promise<T>, ifExisted?: () => T): Promise<T> {
    return withRetry(api, this.hooks, fn, ifExisted);
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
    await this.#do('ims:CreateSAMLProvider', () =>
      this.clients.ims.createSAMLProvider(
        new Ims.CreateSAMLProviderRequest({
          SAMLProviderName: name,
          encodedSAMLMetadataDocument: metadataBase64,
          description,
          authnSignAlgo,
        }),
      ),
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
  ): Promise<RoleState | undefined> {
    const res = await this.#do(
      'ram:CreateRole',
      async () => {
        const r = await this.clients.ram.createRole(
          new Ram.CreateRoleRequest({ roleName: name, assumeRolePolicyDocument: trustPolicy, maxSessionDuration, description }),
        );
        return r.body?.role;
      },
      () => undefined,
    );
    if (!res) return (await this.getRole(name)) ?? undefined;
    return roleState(res, { trustPolicy, maxSessionDuration });
  }

  async updateRole(name: string, change: { trustPolicy?: string; maxSessionDuration?: number }): Promise<void> {
    await this.#do('ram:UpdateRole', () =>
      this.clients.ram.updateRole(
        new Ram.UpdateRoleRequest({
          roleName: name,
          newAssumeRolePolicyDocument: change.trustPolicy,
          newMaxSessionDuration: change.maxSessionDuration,
        }),
      ),
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
    await this.#do(
      'ram:AttachPolicyToRole',
      () =>
        this.clients.ram.attachPolicyToRole(
          new Ram.AttachPolicyToRoleRequest({ roleName, policyName: policy.name, policyType: policy.type }),
        ),
      () => undefined,
    );
  }

  async detachPolicy(roleName: string, policy: PolicyRef): Promise<void> {
    try {
      await this.#do('ram:DetachPolicyFromRole', () =>
        this.clients.ram.detachPolicyFromRole(
          new Ram.DetachPolicyFromRoleRequest({ roleName, policyName: policy.name, policyType: policy.type }),
        ),
      );
    } catch (err) {
      // Already detached is the state we wanted.
      if (!(err instanceof CloudCallError && err.apiCode?.startsWith('EntityNotExist.Role.Policy'))) throw err;
    }
  }

  /** The default version's document of a Custom policy, or null when the policy does not exist. */
  async getCustomPolicyDocument(name: string): Promise<string | null> {
    const res = await this.#get('ram:GetPolicy', () =>
      this.clients.ram.getPolicy(new Ram.GetPolicyRequest({ policyName: name, policyType: 'Custom' })),
    );
    if (!res?.body?.policy) return null;
    return res.body.defaultPolicyVersion?.policyDocument ?? res.body.policy.policyDocument ?? '';
  }

  async createPolicy(name: string, document: string, description: string): Promise<void> {
    await this.#do('ram:CreatePolicy', () =>
      this.clients.ram.createPolicy(new Ram.CreatePolicyRequest({ policyName: name, policyDocument: document, description })),
    );
  }

  async createPolicyVersion(name: string, document: string, rotate: boolean): Promise<void> {
    await this.#do('ram:CreatePolicyVersion', () =>
      this.clients.ram.createPolicyVersion(
        new Ram.CreatePolicyVersionRequest({
          policyName: name,
          policyDocument: document,
          setAsDefault: true,
          rotateStrategy: rotate ? 'DeleteOldestNonDefaultVersionWhenLimitExceeded' : 'None',
        }),
      ),
    );
  }

  async findMember(region: string, workspaceId: string, userId: string): Promise<WorkspaceMember | null> {
    const api = 'aiworkspace:ListMembers';
    const members = await this.#do(api, () => this.clients.pai(region).listMembers(workspaceId, userId));
    return members[0] ?? null;
  }

  async createMember(region: string, workspaceId: string, userId: string, roles: readonly string[]): Promise<void> {
    await this.#do(
      'aiworkspace:CreateMember',
      () => this.clients.pai(region).createMember(workspaceId, userId, roles),
      () => undefined,
    );
  }

  async addMemberRole(region: string, workspaceId: string, memberId: string, role: string): Promise<void> {
    await this.#do(
      'aiworkspace:AddMemberRole',
      () => this.clients.pai(region).addMemberRole(workspaceId, memberId, role),
      () => undefined,
    );
  }

  async removeMemberRole(region: string, workspaceId: string, memberId: string, role: string): Promise<void> {
    await this.#do('aiworkspace:RemoveMemberRole', () => this.clients.pai(region).removeMemberRole(workspaceId, memberId, role));
  }
}

/** The credential reaches another account than the config names. */
export class AccountMismatchError extends PaiSsoError {
  constructor(message: string, options?: ErrorOptions) {
    super('PAI_SSO_ACCOUNT_MISMATCH', 'runtime', message, options);
  }
}

/** `acs:ram::123:role/x` -> `123`. */
const arnAccount = (arn: string): string | undefined => /^acs:[a-z]+:[^:]*:([^:]+):/.exec(arn)?.[1];

function checkArn(want: DesiredAccount, arn: string, what: string): void {
  const got = arnAccount(arn);
  if (got && got !== want.accountId) {
    throw new AccountMismatchError(
      `account "${want.key}": the credential reaches account ${got} (${what} is ${arn}) but the config says ${want.accountId}; ` +
        'use credentials of the configured account (register.accounts.<key>.profile) or fix accounts.<key>.accountId',
    );
  }
}

/** The actual state of everything `want` names, checking each ARN belongs to the configured account. */
export async function readAccount(cloud: Cloud, want: DesiredAccount): Promise<ActualAccount> {
  const provider = await cloud.getSamlProvider(want.provider.name);
  if (provider) checkArn(want, provider.arn, `saml-provider ${want.provider.name}`);
  const paiPolicyDocument = want.paiPolicy ? await cloud.getCustomPolicyDocument(want.paiPolicy.name) : undefined;
  const roles = new Map<string, ActualRole | null>();
  const members = new Map<string, WorkspaceMember | null>();
  for (const r of want.roles) {
    const role = await cloud.getRole(r.roleName);
    if (!role) {
      roles.set(r.roleName, null);
      continue;
    }
    checkArn(want, role.arn, `role ${r.roleName}`);
    const attached = await cloud.listPoliciesForRole(r.roleName);
    roles.set(r.roleName, { ...role, attached });
    for (const ws of r.workspaces) {
      members.set(memberKey(ws.id, r.roleName), await cloud.findMember(ws.region, ws.id, role.roleId));
    }
  }
  return { provider, paiPolicyDocument, roles, members };
}
