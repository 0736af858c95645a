import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PaiSsoError } from '../errors.js';
import { createSealer } from '../crypto/sealer.js';

// Second-factor enrolments, one file per user in a directory the gateway owns (mode 0700,
// files 0600, written by atomic rename). A user is keyed by `<source>:<stable id>` (the
// users file's id for local users, the directory's stable id for LDAP users), so a renamed
// LDAP account keeps its factors and a new account that reuses a name does not inherit them.
//
// Each file holds the username and source in clear (so the helpdesk's `pai-sso user
// reset-mfa NAME` works without any secret) and the enrolment itself sealed with
// AES-256-GCM under a key derived (HKDF) from the session secret, with the user key as
// both the derivation label and the associated data: a record copied onto another user's
// file does not open. Files are re-read on every use, so a reset applies at once.

export interface UserRef {
  readonly source: string;
  readonly id: string;
  readonly username: string;
}

export interface TotpEnrolment {
  /** base32 */
  readonly secret: string;
  readonly createdAt: number;
}

export interface PasskeyEnrolment {
  /** Credential ID, base64url. */
  readonly id: string;
  /** COSE public key, base64url. */
  readonly publicKey: string;
  readonly counter: number;
  readonly transports?: readonly string[] | undefined;
  readonly label: string;
  readonly createdAt: number;
  readonly lastUsedAt?: number | undefined;
}

export interface Enrolment {
  readonly totp?: TotpEnrolment | undefined;
  readonly passkeys: readonly PasskeyEnrolment[];
  /** HMAC-SHA256 of each unused recovery code (hex); a used code is removed. */
  readonly recovery: readonly string[];
}

export const EMPTY_ENROLMENT: Enrolment = { passkeys: [], recovery: [] };

export const hasSecondFactor = (e: Enrolment | undefined): boolean => !!e && (e.totp !== undefined || e.passkeys.length > 0);

/** The enrolment store cannot be read or written: sign-in is refused (503), never let through on the password alone. */
export class EnrolmentStoreError extends PaiSsoError {
  constructor(reason: string, options?: ErrorOptions) {
    super('PAI_SSO_MFA_STORE', 'unavailable', `second-factor enrolments: ${reason}`, options);
  }
}

interface StoredFile {
  readonly version: 1;
  readonly key: string;
  readonly source: string;
  readonly username: string;
  readonly updatedAt: string;
  readonly sealed: string;
}

export interface EnrolmentStore {
  readonly dir: string;
  /** The user's enrolment, or undefined when they have none. Throws EnrolmentStoreError when it cannot be read or opened. */
  get(user: UserRef): Promise<Enrolment | undefined>;
  /** Read, change, write: serialised per user in this process. `change` returning undefined removes the enrolment. */
  update(user: UserRef, change: (current: Enrolment) => Enrolment | undefined): Promise<Enrolment | undefined>;
}

export const userKey = (u: Pick<UserRef, 'source' | 'id'>): string => `${u.source}:${u.id}`;
const fileName = (key: string) => `${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 40)}.json`;

function isEnrolment(v: unknown): v is Enrolment {
  if (!v || typeof v !== 'object') return false;
  const e = v as Record<string, unknown>;
  return Array.isArray(e['passkeys']) && Array.isArray(e['recovery']);
}

function parseFile(text: string, path: string): StoredFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new EnrolmentStoreError(`${path} is not valid JSON`);
  }
  const f = doc as Partial<StoredFile> | null;
  if (!f || f.version !== 1 || typeof f.key !== 'string' || typeof f.sealed !== 'string' || typeof f.username !== 'string')
    throw new EnrolmentStoreError(`${path} is not an enrolment file`);
  return f as StoredFile;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export function createEnrolmentStore(dir: string, sessionSecret: Buffer, now: () => number = Date.now): EnrolmentStore {
  const sealerFor = (key: string) => createSealer(sessionSecret, `mfa-enrolment:${key}`);
  const queues = new Map<string, Promise<unknown>>();
  const renamed = new Set<string>();

  const read = async (user: UserRef): Promise<Enrolment | undefined> => {
    const key = userKey(user);
    const path = join(dir, fileName(key));
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new EnrolmentStoreError(`${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const file = parseFile(text, path);
    if (file.key !== key) throw new EnrolmentStoreError(`${path} belongs to another user`);
    if (file.username !== user.username) renamed.add(key);
    const opened = sealerFor(key).open(file.sealed);
    // Not a wrong guess by a user: the file was tampered with, or the session secret changed.
    if (!isEnrolment(opened))
      throw new EnrolmentStoreError(
        `${path} does not open with this session secret (reset it with pai-sso user reset-mfa ${file.username})`,
      );
    return opened;
  };

  const write = async (user: UserRef, e: Enrolment | undefined) => {
    const key = userKey(user);
    const path = join(dir, fileName(key));
    renamed.delete(key);
    try {
      if (!e) {
        await rm(path, { force: true });
        return;
      }
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const file: StoredFile = {
        version: 1,
        key,
        source: user.source,
        username: user.username,
        updatedAt: new Date(now()).toISOString(),
        sealed: sealerFor(key).seal(e),
      };
      await writeAtomic(path, `${JSON.stringify(file, null, 2)}\n`);
    } catch (err) {
      throw new EnrolmentStoreError(`${path} cannot be written (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };

  const store: EnrolmentStore = {
    dir,
    async get(user) {
      const found = await read(user);
      // Renamed in the directory (same stable id): the clear name follows, so the helpdesk finds them by today's name.
      if (found && renamed.has(userKey(user))) {
        renamed.delete(userKey(user));
        await store.update(user, (e) => e);
      }
      return found;
    },
    async update(user, change) {
      const key = userKey(user);
      const previous = queues.get(key) ?? Promise.resolve();
      const next = previous.then(async () => {
        const current = (await read(user)) ?? EMPTY_ENROLMENT;
        const changed = change(current);
        const empty = !changed || (!hasSecondFactor(changed) && changed.recovery.length === 0);
        await write(user, empty ? undefined : changed);
        return empty ? undefined : changed;
      });
      const settled = next.catch(() => undefined);
      queues.set(key, settled);
      void settled.then(() => {
        if (queues.get(key) === settled) queues.delete(key);
      });
      return next;
    },
  };
  return store;
}

export interface EnrolmentListing {
  readonly file: string;
  readonly key: string;
  readonly source: string;
  readonly username: string;
  readonly updatedAt: string;
}

/** Every enrolment file's clear part (no secret needed): for the helpdesk commands. */
export async function listEnrolments(dir: string): Promise<EnrolmentListing[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new EnrolmentStoreError(`${dir} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const out: EnrolmentListing[] = [];
  for (const name of names.filter((n) => /^[0-9a-f]{40}\.json$/.test(n)).sort()) {
    const file = join(dir, name);
    const f = parseFile(await readFile(file, 'utf8'), file);
    out.push({ file, key: f.key, source: f.source, username: f.username, updatedAt: f.updatedAt });
  }
  return out;
}

/** Removes the files of every enrolment held under `username` (optionally of one source only). */
export async function removeEnrolments(dir: string, username: string, source?: string): Promise<EnrolmentListing[]> {
  const gone = (await listEnrolments(dir)).filter((e) => e.username === username && (source === undefined || e.source === source));
  for (const e of gone) await rm(e.file, { force: true });
  return gone;
}
