import OpenApi, { $OpenApiUtil } from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';

// AIWorkspace 2021-02-04 has no published TypeScript SDK, so its member calls go
// through the generic ROA call of @alicloud/openapi-core: same signing (ACS3-HMAC-SHA256
// over path, query and JSON body hash), same typed errors as the IMS and RAM SDKs.

export const AIWORKSPACE_VERSION = '2021-02-04';

export interface WorkspaceMember {
  readonly memberId: string;
  readonly userId: string;
  readonly roles: readonly string[];
}

interface RawMember {
  MemberId?: unknown;
  UserId?: unknown;
  Roles?: unknown;
}

/** IDs come back as strings or numbers; anything else reads as empty. */
const id = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');

function toMember(m: RawMember): WorkspaceMember {
  return {
    memberId: id(m.MemberId),
    userId: id(m.UserId),
    roles: Array.isArray(m.Roles) ? m.Roles.map(String) : [],
  };
}

const seg = (s: string) => encodeURIComponent(s);

export class AiWorkspaceClient {
  readonly #client: OpenApi.default;

  constructor(config: $OpenApiUtil.Config) {
    this.#client = new OpenApi.default(config);
  }

  async #call(action: string, method: 'GET' | 'POST' | 'DELETE', pathname: string, query?: Record<string, string>, body?: unknown) {
    const params = new $OpenApiUtil.Params({
      action,
      version: AIWORKSPACE_VERSION,
      protocol: 'HTTPS',
      pathname,
      method,
      authType: 'AK',
      style: 'ROA',
      reqBodyType: 'json',
      bodyType: 'json',
    });
    const request = new $OpenApiUtil.OpenApiRequest({ query: query ?? {}, ...(body === undefined ? {} : { body }) });
    const res = await this.#client.callApi(params, request, new RuntimeOptions({}));
    return (res['body'] ?? {}) as Record<string, unknown>;
  }

  /** Every member holding `userId` (the API filters server-side; paging guards against a filter that is ignored). */
  async listMembers(workspaceId: string, userId: string): Promise<WorkspaceMember[]> {
    const out: WorkspaceMember[] = [];
    const pageSize = 100;
    for (let page = 1; page <= 50; page++) {
      const body = await this.#call('ListMembers', 'GET', `/api/v1/workspaces/${seg(workspaceId)}/members`, {
        UserId: userId,
        PageNumber: String(page),
        PageSize: String(pageSize),
      });
      const members = Array.isArray(body['Members']) ? (body['Members'] as RawMember[]) : [];
      out.push(...members.map(toMember).filter((m) => m.userId === userId));
      const total = Number(body['TotalCount'] ?? 0);
      if (members.length < pageSize || page * pageSize >= total) break;
    }
    return out;
  }

  async createMember(workspaceId: string, userId: string, roles: readonly string[]): Promise<WorkspaceMember | undefined> {
    const body = await this.#call('CreateMember', 'POST', `/api/v1/workspaces/${seg(workspaceId)}/members`, undefined, {
      Members: [{ UserId: userId, Roles: [...roles] }],
    });
    const members = Array.isArray(body['Members']) ? (body['Members'] as RawMember[]) : [];
    return members.map(toMember).find((m) => m.userId === userId);
  }

  async addMemberRole(workspaceId: string, memberId: string, role: string): Promise<void> {
    await this.#call('AddMemberRole', 'POST', `/api/v1/workspaces/${seg(workspaceId)}/members/${seg(memberId)}/roles/${seg(role)}`);
  }

  /** DELETE on AddMemberRole's path, as the generated AIWorkspace SDKs call it. */
  async removeMemberRole(workspaceId: string, memberId: string, role: string): Promise<void> {
    await this.#call('RemoveMemberRole', 'DELETE', `/api/v1/workspaces/${seg(workspaceId)}/members/${seg(memberId)}/roles/${seg(role)}`);
  }

  /** DELETE /api/v1/workspaces/{id}/members?MemberIds=a,b (the generated AIWorkspace SDKs' DeleteMembers). */
  async deleteMembers(workspaceId: string, memberIds: readonly string[]): Promise<void> {
    await this.#call('DeleteMembers', 'DELETE', `/api/v1/workspaces/${seg(workspaceId)}/members`, { MemberIds: memberIds.join(',') });
  }
}
