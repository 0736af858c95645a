import { randomBytes } from 'node:crypto';
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { PaiSsoError } from '../errors.js';
import type { Cloud } from './cloud.js';

// Two applies for the same account must not interleave their writes. Two locks:
// - a lock file beside the config, for two runs on one machine (created with O_EXCL; a file
//   left by a process that is gone on this host is taken over);
// - a lock in the cloud, for runs on different machines (two CI jobs): a RAM custom policy
//   `pai-sso-register-lock` in the account. CreatePolicy refuses a name that exists, which
//   makes it a mutex; its description names the holder and an expiry, after which another
//   run may break it. The policy is attached to nothing and denies one call on a role that
//   never exists, so it grants and takes away nothing.
// Both are taken only by apply, and only when the plan has calls to make; plan reads only.

export class RegisterLockedError extends PaiSsoError {
  constructor(message: string) {
    super('PAI_SSO_REGISTER_LOCKED', 'runtime', message);
  }
}

export type Release = () => Promise<void>;

interface Holder {
  readonly host: string;
  readonly pid: number;
  readonly since: string;
  readonly token: string;
}

const newHolder = (): Holder => ({
  host: hostname(),
  pid: process.pid,
  since: new Date().toISOString(),
  token: randomBytes(8).toString('hex'),
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const lockFilePath = (configPath: string): string => join(dirname(resolve(configPath)), `.${basename(configPath)}.register.lock`);

/** Takes the lock file beside the config, or explains who holds it. */
export async function lockFile(configPath: string): Promise<Release> {
  const path = lockFilePath(configPath);
  const me = newHolder();
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${JSON.stringify(me)}\n`);
      await fh.close();
      return async () => {
        const now = await readFile(path, 'utf8').catch(() => '');
        if (now.includes(me.token)) await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let held: Partial<Holder> = {};
    try {
      held = JSON.parse(await readFile(path, 'utf8')) as Partial<Holder>;
    } catch {
      // Unreadable or half-written: treated as held; the message says what to do.
    }
    if (attempt === 0 && held.host === me.host && typeof held.pid === 'number' && !alive(held.pid)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    throw new RegisterLockedError(
      `another \`pai-sso register apply\` is running with this config: ${path} is held by pid ${String(held.pid ?? '?')} on ${held.host ?? '?'} since ${held.since ?? '?'}; ` +
        'wait for it to finish, or delete the file if that process is gone',
    );
  }
  throw new RegisterLockedError(`cannot take ${path}`);
}

export const CLOUD_LOCK_POLICY = 'pai-sso-register-lock';
export const CLOUD_LOCK_TTL_MS = 30 * 60_000;

const lockDocument = (accountId: string) =>
  JSON.stringify({
    Version: '1',
    Statement: [{ Effect: 'Deny', Action: 'ram:GetRole', Resource: `acs:ram:*:${accountId}:role/${CLOUD_LOCK_POLICY}` }],
  });

const expiresOf = (description: string | undefined): number => Date.parse(/expires=(\S+)/.exec(description ?? '')?.[1] ?? '');

/** Takes the account's cloud lock, breaking one whose holder let it expire; or explains who holds it. */
export async function lockAccount(cloud: Cloud, accountKey: string, accountId: string, now: () => number = Date.now): Promise<Release> {
  const me = newHolder();
  const description = `pai-sso register apply lock; holder=${me.host}/${me.pid}; token=${me.token}; expires=${new Date(now() + CLOUD_LOCK_TTL_MS).toISOString()}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    if ((await cloud.createLockPolicy(CLOUD_LOCK_POLICY, lockDocument(accountId), description)) === 'created') {
      return async () => {
        const p = await cloud.getCustomPolicy(CLOUD_LOCK_POLICY);
        if (p?.description?.includes(`token=${me.token}`)) await cloud.deletePolicy(CLOUD_LOCK_POLICY);
      };
    }
    const held = await cloud.getCustomPolicy(CLOUD_LOCK_POLICY);
    if (!held) continue;
    const expires = expiresOf(held.description);
    if (attempt === 0 && Number.isFinite(expires) && expires < now()) {
      await cloud.deletePolicy(CLOUD_LOCK_POLICY);
      continue;
    }
    throw new RegisterLockedError(
      `account "${accountKey}" (${accountId}) is locked by another \`pai-sso register apply\`: RAM policy ${CLOUD_LOCK_POLICY} says "${held.description ?? ''}"; ` +
        `wait for that run to finish; if it died, the lock expires by itself, or delete the policy ${CLOUD_LOCK_POLICY} in the RAM console`,
    );
  }
  throw new RegisterLockedError(`account "${accountKey}": cannot take the lock ${CLOUD_LOCK_POLICY}`);
}
