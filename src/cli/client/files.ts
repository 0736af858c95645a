import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Where `pai-sso login` keeps its state on the user's computer, and how it writes it:
//   $XDG_CONFIG_HOME/pai-sso/ (else ~/.config/pai-sso/), mode 0700
//     profiles/<profile>.json                     gateway, role, duration, STS endpoint
//     credentials/<profile>/<gateway+role>.json   STS credentials and the refresh token, mode 0600
// Files are written whole to a temporary name (0600 from creation) and renamed into place,
// so a reader never sees half a file and the secret is never readable by others.

export const PROFILE_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export function configDir(env: NodeJS.ProcessEnv): string {
  const xdg = env['XDG_CONFIG_HOME'];
  return join(xdg && xdg.startsWith('/') ? xdg : join(env['HOME'] ?? homedir(), '.config'), 'pai-sso');
}

export const profileFile = (dir: string, profile: string): string => join(dir, 'profiles', `${profile}.json`);
export const credentialsDir = (dir: string, profile: string): string => join(dir, 'credentials', profile);

/** One cache file per gateway + profile + role. */
export function credentialsFile(dir: string, profile: string, gateway: string, role: string): string {
  const id = createHash('sha256').update(`${gateway}\n${role}`, 'utf8').digest('hex').slice(0, 16);
  return join(credentialsDir(dir, profile), `${role}-${id}.json`);
}

export async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

export async function writePrivateJson(path: string, value: unknown): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf('/'));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

export async function listJson(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith('.json')).map((f) => join(dir, f));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export const removeFile = (path: string): Promise<void> => rm(path, { force: true });

const LOCK_STALE_MS = 120_000;
const LOCK_WAIT_MS = 150_000;

/**
 * One process at a time refreshes a cache file (`credentials serve` and the aliyun CLI's
 * process_command may ask at once): the refresh token rotates, and a second use of the same
 * token would end the grant for both.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  await mkdir(lock.slice(0, lock.lastIndexOf('/')), { recursive: true, mode: 0o700 });
  const started = Date.now();
  for (;;) {
    try {
      const h = await open(lock, 'wx', 0o600);
      await h.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > LOCK_STALE_MS) await unlink(lock).catch(() => undefined);
      else if (Date.now() - started > LOCK_WAIT_MS) throw new Error(`another pai-sso holds ${lock}`, { cause: err });
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}
