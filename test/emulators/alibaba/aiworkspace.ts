import { randomInt } from 'node:crypto';
import { ApiError, unknownAction } from './errors.js';
import { now, type AccountState, type Member } from './state.js';

// AIWorkspace 2021-02-04: workspace members and their PAI roles. A ROA API: the
// resource is in the path and CreateMember's input in a JSON body, not in the query.
// The roles CreateMember and AddMemberRole grant: PAI.WorkspaceOwner is the workspace's
// owner, not a role one grants (PAI_ROLES in src/alibaba.ts).

const PAI_ROLES = new Set([
  'PAI.AlgoDeveloper',
  'PAI.AlgoOperator',
  'PAI.LabelManager',
  'PAI.MaxComputeDeveloper',
  'PAI.WorkspaceAdmin',
  'PAI.WorkspaceGuest',
]);

export function aiWorkspace(
  action: string,
  method: string,
  path: string,
  p: Record<string, string>,
  body: Buffer,
  a: AccountState,
): Record<string, unknown> {
  const m = /^\/api\/v1\/workspaces\/([^/]+)\/members(?:\/([^/]+)\/roles\/([^/]+))?$/.exec(path);
  if (!m) throw new ApiError(404, 'InvalidAction.NotFound', `No route for ${method} ${path}.`);
  const [wsId, memberId, roleName] = [m[1], m[2], m[3]].map((x?: string) => (x === undefined ? undefined : decodeURIComponent(x)));
  const routes: Record<string, string> = {
    'GET members': 'ListMembers',
    'POST members': 'CreateMember',
    'DELETE members': 'DeleteMembers',
    'POST role': 'AddMemberRole',
    'DELETE role': 'RemoveMemberRole',
  };
  const expected = routes[`${method} ${memberId === undefined ? 'members' : 'role'}`];
  if (expected !== action) throw new ApiError(400, 'InvalidAction.Mismatch', `${method} ${path} is not ${action}.`);
  const ws = a.workspaces.get(wsId!);
  if (!ws) throw new ApiError(404, 'WorkspaceNotExists', `Workspace ${wsId} does not exist.`);
  const view = (x: Member) => ({ MemberId: x.memberId, UserId: x.userId, Roles: x.roles, AccountType: 'RamRole', GmtCreateTime: now() });
  switch (action) {
    case 'ListMembers': {
      let list = [...ws.members.values()];
      if (p['UserId']) list = list.filter((x) => x.userId === p['UserId']);
      const size = Number(p['PageSize'] ?? 20);
      const page = Number(p['PageNumber'] ?? 1);
      return { Members: list.slice((page - 1) * size, page * size).map(view), TotalCount: list.length };
    }
    case 'CreateMember': {
      let parsed: { Members?: Array<{ UserId?: string; Roles?: string[] }> };
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw new ApiError(400, 'InvalidParameter.Body', 'The body is not valid JSON.');
      }
      const created: Member[] = [];
      for (const x of parsed.Members ?? []) {
        const userId = x.UserId ?? '';
        if (![...a.roles.values()].some((r) => r.id === userId))
          throw new ApiError(400, 'InvalidParameter.UserId', `User ${userId} is not a RAM user or role of this account.`);
        if ([...ws.members.values()].some((y) => y.userId === userId))
          throw new ApiError(409, 'MemberAlreadyExists', `User ${userId} is already a member.`);
        const roles = x.Roles ?? [];
        if (roles.length === 0 || roles.some((r) => !PAI_ROLES.has(r)))
          throw new ApiError(400, 'InvalidParameter.Roles', `Roles must be among ${[...PAI_ROLES].join(', ')}.`);
        const mem = { memberId: `${randomInt(100000, 999999)}-${userId}`, userId, roles: [...roles] };
        ws.members.set(mem.memberId, mem);
        created.push(mem);
      }
      return { Members: created.map(view) };
    }
    case 'DeleteMembers': {
      const ids = (p['MemberIds'] ?? '').split(',').filter(Boolean);
      if (ids.length === 0) throw new ApiError(400, 'MissingParameter.MemberIds', 'The parameter MemberIds is required.');
      for (const id of ids) {
        if (!ws.members.has(id)) throw new ApiError(404, 'MemberNotExists', `Member ${id} does not exist.`);
      }
      for (const id of ids) ws.members.delete(id);
      return {};
    }
    case 'AddMemberRole':
    case 'RemoveMemberRole': {
      const mem = ws.members.get(memberId!);
      if (!mem) throw new ApiError(404, 'MemberNotExists', `Member ${memberId} does not exist.`);
      if (!PAI_ROLES.has(roleName!)) throw new ApiError(400, 'InvalidParameter.RoleName', `Unknown role ${roleName}.`);
      if (action === 'AddMemberRole') {
        if (!mem.roles.includes(roleName!)) mem.roles.push(roleName!);
      } else mem.roles = mem.roles.filter((r) => r !== roleName);
      return {};
    }
    default:
      throw unknownAction(action);
  }
}
