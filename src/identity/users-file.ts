import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import { isPasswordHash } from './password.js';
import { UsersFileError } from './errors.js';

export interface StoredUser {
  id: string;
  displayName?: string | undefined;
  email?: string | undefined;
  groups: string[];
  passwordHash: string;
}

export type UsersDocument = Record<string, StoredUser>;

export { UsersFileError };

export const USERNAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
export const GROUP_PATTERN = /^[^\s,][^,]{0,127}$/;

function checkUser(path: string, name: string, raw: unknown): StoredUser {
  const where = `${path}: users.${name}`;
  if (!USERNAME_PATTERN.test(name))
    throw new UsersFileError('PAI_SSO_USERS_FILE_INVALID', `${where}: usernames are 1-64 letters, digits, ".", "_", "@" or "-"`);
  if (!raw || typeof raw !== 'object') throw new UsersFileError('PAI_SSO_USERS_FILE_INVALID', `${where}: must be a mapping`);
  const u = raw as Record<string, unknown>;
  if (typeof u['id'] !== 'string' || !u['id']) throw new UsersFileError('PAI_SSO_USERS_FILE_INVALID', `${where}.id: is required`);
  if (typeof u['passwordHash'] !== 'string' || !isPasswordHash(u['passwordHash'])) {
    throw new UsersFileError('PAI_SSO_USERS_FILE_INVALID', `${where}.passwordHash: is not a $scrypt$ hash (use \`pai-sso user add\`)`);
  }
  const groups = u['groups'] ?? [];
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string'))
    throw new UsersFileError('PAI_SSO_USERS_FILE_INVALID', `${where}.groups: must be a list of strings`);
  for (const k of ['displayName', 'email']) {
    if (u[k] !== undefined && typeof u[k] !== 'string')
      throw new UsersFileError('PAI_SSO_USERS_FILE_INVALID', `${where}.${k}: must be a string`);
  }
  return {
    id: u['id'],
    displayName: u['displayName'] as string | undefined,
    email: u['email'] as string | undefined,
    groups: groups,
    passwordHash: u['passwordHash'],
  };
}

/** Undefined when the file does not exist yet. */
export async function readUsers(path: string): Promise<UsersDocument | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsersFileError(
      'PAI_SSO_USERS_FILE_UNREADABLE',
      `${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let doc: unknown;
  try {
    doc = parse(text) ?? { users: {} };
  } catch {
    throw new UsersFileError('PAI_SSO_USERS_FILE_INVALID', `${path}: is not valid YAML`);
  }
  const users = (doc as { users?: unknown }).users ?? {};
  if (typeof users !== 'object' || Array.isArray(users))
    throw new UsersFileError('PAI_SSO_USERS_FILE_INVALID', `${path}: users must be a mapping`);
  const out: UsersDocument = {};
  for (const [name, raw] of Object.entries(users as Record<string, unknown>)) out[name] = checkUser(path, name, raw);
  return out;
}

/** Atomic replace, so a running gateway never reads half a file. */
export async function writeUsers(path: string, users: UsersDocument): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const header = '# pai-sso local users. Edit with `pai-sso user add|list|remove`; hashes are scrypt.\n';
  await writeFile(tmp, header + stringify({ users }), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export function newUserId(): string {
  return randomUUID();
}
