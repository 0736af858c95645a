import { randomBytes } from 'node:crypto';
import { hashPassword } from './password.js';
import { newUserId, readUsers, writeUsers } from './users-file.js';

export interface FirstUser {
  readonly username: string;
  readonly password: string;
  /** False when the operator supplied the password (then it is never shown or written anywhere). */
  readonly generated: boolean;
}

/**
 * On the very first start there is no users file and so no way in. Rather than a
 * demo password anyone could read in the repo, create one admin with a random
 * password that is shown once, or with the operator's own (`password`, asked for
 * only when the admin is actually created). Returns undefined when the file already exists.
 */
export async function bootstrapUsers(
  usersFile: string,
  groups: readonly string[],
  password?: () => Promise<string | undefined>,
): Promise<FirstUser | undefined> {
  if ((await readUsers(usersFile)) !== undefined) return undefined;
  const supplied = await password?.();
  const chosen = supplied ?? randomBytes(18).toString('base64url');
  await writeUsers(usersFile, {
    admin: { id: newUserId(), displayName: 'Administrator', groups: [...groups], passwordHash: await hashPassword(chosen) },
  });
  return { username: 'admin', password: chosen, generated: supplied === undefined };
}
