import { randomBytes } from 'node:crypto';
import { hashPassword } from './password.js';
import { newUserId, readUsers, writeUsers } from './users-file.js';

export interface FirstUser {
  readonly username: string;
  readonly password: string;
}

/**
 * On the very first start there is no users file and so no way in. Rather than a
 * demo password anyone could read in the repo, create one admin with a random
 * password that is shown once. Returns undefined when the file already exists.
 */
export async function bootstrapUsers(usersFile: string, groups: readonly string[]): Promise<FirstUser | undefined> {
  if ((await readUsers(usersFile)) !== undefined) return undefined;
  const password = randomBytes(18).toString('base64url');
  await writeUsers(usersFile, {
    admin: { id: newUserId(), displayName: 'Administrator', groups: [...groups], passwordHash: await hashPassword(password) },
  });
  return { username: 'admin', password };
}
