// What the emulator keeps per account, and the system policies every account starts with.

export interface Provider {
  name: string;
  doc: string;
  description: string;
  algo: string;
  created: string;
  updated: string;
}
export interface Role {
  id: string;
  name: string;
  trust: string;
  max: number;
  description: string;
  created: string;
  updated: string;
  /** RAM tags (TagResources, or Tag on CreateRole). */
  tags: Map<string, string>;
}
export interface PolicyVersion {
  id: string;
  doc: string;
  created: string;
}
export interface Policy {
  name: string;
  type: 'Custom' | 'System';
  description: string;
  versions: PolicyVersion[];
  defaultVersion: string;
  nextVersion: number;
  created: string;
  tags: Map<string, string>;
}
export interface Member {
  memberId: string;
  userId: string;
  roles: string[];
}
export interface Workspace {
  id: string;
  region: string;
  members: Map<string, Member>;
}

export interface AccountState {
  readonly providers: Map<string, Provider>;
  readonly roles: Map<string, Role>;
  readonly policies: Map<string, Policy>;
  /** roleName -> "Type/Name" keys. */
  readonly attachments: Map<string, Set<string>>;
  readonly workspaces: Map<string, Workspace>;
}

const SYSTEM_POLICIES = ['AliyunPAIFullAccess', 'AliyunPAIReadOnlyAccess', 'AliyunOSSReadOnlyAccess', 'AliyunRAMReadOnlyAccess'];

export const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export function newAccount(): AccountState {
  const a: AccountState = { providers: new Map(), roles: new Map(), policies: new Map(), attachments: new Map(), workspaces: new Map() };
  for (const name of SYSTEM_POLICIES) {
    a.policies.set(`System/${name}`, {
      name,
      type: 'System',
      description: name,
      versions: [{ id: 'v1', doc: '{"Version":"1","Statement":[{"Effect":"Allow","Action":"pai:*","Resource":"*"}]}', created: now() }],
      defaultVersion: 'v1',
      nextVersion: 2,
      created: now(),
      tags: new Map(),
    });
  }
  return a;
}
