import { watchFile, unwatchFile } from 'node:fs';
import { decoyHash, verifyPassword, type Kdf } from './password.js';
import { readUsers, type StoredUser, type UsersDocument } from './users-file.js';
import type { User } from './user.js';
import type { PasswordSource } from './source.js';

export interface LocalSourceOptions {
  readonly usersFile: string;
  /** Called when a reload of the users file fails; the previous copy stays in use. */
  readonly onReloadError?: (err: Error) => void;
  readonly onReload?: (count: number) => void;
  readonly watchIntervalMs?: number;
  /** The key derivation (default scrypt); tests count its calls to prove both failures do the same work. */
  readonly kdf?: Kdf;
}

export interface LocalSource extends PasswordSource {
  /**
   * The user as the file says now (groups, names), or undefined when they were removed or
   * replaced (another id under the name). No disk access: the file is watched.
   */
  current(user: Pick<User, 'id' | 'username'>): User | undefined;
}

/**
 * The embedded user directory. The file is read at start and re-read when it changes
 * (so `pai-sso user add` needs no restart); a login never touches the disk.
 */
export async function createLocalSource(opts: LocalSourceOptions): Promise<LocalSource> {
  let users: UsersDocument = (await readUsers(opts.usersFile)) ?? {};
  // Checked when the user does not exist, with the default cost, so both failures take
  // the same time and an attacker cannot enumerate usernames by timing. No password
  // matches it: the stored key is random bytes, not the output of scrypt.
  const decoy = decoyHash();

  const reload = () => {
    readUsers(opts.usersFile).then(
      (doc) => {
        users = doc ?? {};
        opts.onReload?.(Object.keys(users).length);
      },
      (err: unknown) => opts.onReloadError?.(err instanceof Error ? err : new Error(String(err))),
    );
  };
  watchFile(opts.usersFile, { interval: opts.watchIntervalMs ?? 2000, persistent: false }, reload);

  const toUser = (username: string, stored: StoredUser): User => ({
    id: stored.id,
    username,
    displayName: stored.displayName ?? username,
    email: stored.email,
    groups: [...stored.groups],
    source: 'local',
  });

  return {
    kind: 'local',
    type: 'password',
    label: 'Company account',
    async authenticate(username, password): Promise<User | undefined> {
      const stored = Object.hasOwn(users, username) ? users[username] : undefined;
      const ok = await verifyPassword(password, stored?.passwordHash ?? decoy, opts.kdf);
      if (!stored || !ok) return undefined;
      return toUser(username, stored);
    },
    current(user) {
      const stored = Object.hasOwn(users, user.username) ? users[user.username] : undefined;
      return stored && stored.id === user.id ? toUser(user.username, stored) : undefined;
    },
    async refresh(user): Promise<User | undefined> {
      // The directory as last (re)loaded: a removed user or changed groups show within the reload interval.
      const stored = Object.hasOwn(users, user.username) ? users[user.username] : undefined;
      if (!stored || stored.id !== user.id) return undefined;
      return {
        id: stored.id,
        username: user.username,
        displayName: stored.displayName ?? user.username,
        email: stored.email,
        groups: [...stored.groups],
        source: 'local',
      };
    },
    async ready() {
      return Object.keys(users).length > 0 ? { ok: true } : { ok: false, reason: 'no local users (add one with `pai-sso user add`)' };
    },
    async close() {
      unwatchFile(opts.usersFile, reload);
    },
  };
}
