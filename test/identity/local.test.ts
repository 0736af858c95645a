import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalSource } from '../../src/identity/local.js';
import { hashPassword, scryptKdf, verifyPassword, type Kdf } from '../../src/identity/password.js';
import { readUsers, writeUsers, UsersFileError } from '../../src/identity/users-file.js';
import { bootstrapUsers } from '../../src/identity/bootstrap.js';
import { FAST_SCRYPT } from '../helpers/gateway.js';
import { writeFile } from 'node:fs/promises';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pai-sso-users-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('passwords', () => {
  it('hash with scrypt, verify the right password only, and never store it', async () => {
    const h = await hashPassword('s3cret password', FAST_SCRYPT);
    expect(h).toMatch(/^\$scrypt\$N=1024,r=8,p=1\$/);
    expect(h).not.toContain('s3cret');
    expect(await verifyPassword('s3cret password', h)).toBe(true);
    expect(await verifyPassword('s3cret passwore', h)).toBe(false);
    expect(await hashPassword('s3cret password', FAST_SCRYPT)).not.toBe(h);
  });

  it('refuses hashes whose cost would pin the machine', async () => {
    expect(await verifyPassword('x', '$scrypt$N=67108864,r=8,p=1$AAAA$AAAA')).toBe(false);
    expect(await verifyPassword('x', 'plaintext')).toBe(false);
  });
});

describe('local identity source', () => {
  it('authenticates against the users file and returns the common User shape', async () => {
    const file = join(dir, 'users.yaml');
    await writeUsers(file, {
      alice: {
        id: 'u-1',
        displayName: 'Alice',
        email: 'a@example.com',
        groups: ['ml'],
        passwordHash: await hashPassword('pw-alice-123', FAST_SCRYPT),
      },
    });
    const src = await createLocalSource({ usersFile: file });
    expect(await src.authenticate('alice', 'pw-alice-123')).toEqual({
      id: 'u-1',
      username: 'alice',
      displayName: 'Alice',
      email: 'a@example.com',
      groups: ['ml'],
      source: 'local',
    });
    expect(await src.authenticate('alice', 'wrong')).toBeUndefined();
    expect(await src.authenticate('nobody', 'pw-alice-123')).toBeUndefined();
    expect(await src.authenticate('__proto__', 'x')).toBeUndefined();
    await src.close();
  });

  it('does the same password-hash work for an unknown user as for a wrong password (no username oracle by timing)', async () => {
    const file = join(dir, 'users.yaml');
    // The production cost: the decoy for unknown users uses it, so a real user must too.
    await writeUsers(file, { alice: { id: 'u-1', groups: ['ml'], passwordHash: await hashPassword('pw-alice-123') } });
    const work: { N: number | undefined; r: number | undefined; p: number | undefined; keylen: number; saltBytes: number }[] = [];
    const kdf: Kdf = (password, salt, keylen, o) => {
      work.push({ N: o.N, r: o.r, p: o.p, keylen, saltBytes: salt.length });
      return scryptKdf(password, salt, keylen, o);
    };
    const src = await createLocalSource({ usersFile: file, kdf });
    const workFor = async (username: string, password: string) => {
      work.length = 0;
      const user = await src.authenticate(username, password);
      return { user, work: [...work] };
    };
    const wrongPassword = await workFor('alice', 'wrong');
    expect(wrongPassword.user).toBeUndefined();
    expect(wrongPassword.work).toEqual([{ N: 2 ** 16, r: 8, p: 1, keylen: 32, saltBytes: 16 }]);
    for (const unknown of ['nobody', 'constructor', '__proto__']) {
      const r = await workFor(unknown, 'wrong');
      expect(r.user).toBeUndefined();
      expect([unknown, r.work]).toEqual([unknown, wrongPassword.work]);
    }
    const right = await workFor('alice', 'pw-alice-123');
    expect(right.user?.id).toBe('u-1');
    expect(right.work).toEqual(wrongPassword.work);
    await src.close();
  });

  it('picks up users added while running, without a restart', async () => {
    const file = join(dir, 'users.yaml');
    await writeUsers(file, {});
    const src = await createLocalSource({ usersFile: file, watchIntervalMs: 50 });
    expect((await src.ready()).ok).toBe(false);
    await writeUsers(file, { bob: { id: 'u-2', groups: [], passwordHash: await hashPassword('pw-bob-12345', FAST_SCRYPT) } });
    await expect.poll(() => src.authenticate('bob', 'pw-bob-12345'), { timeout: 5000, interval: 100 }).toBeDefined();
    expect((await src.ready()).ok).toBe(true);
    await src.close();
  });

  it('keeps the previous users when the file is broken mid-run', async () => {
    const file = join(dir, 'users.yaml');
    await writeUsers(file, { bob: { id: 'u-2', groups: [], passwordHash: await hashPassword('pw-bob-12345', FAST_SCRYPT) } });
    const errors: Error[] = [];
    const src = await createLocalSource({ usersFile: file, watchIntervalMs: 50, onReloadError: (e) => errors.push(e) });
    await writeFile(file, 'users: { bob: { id: 1 } }');
    await expect.poll(() => errors.length, { timeout: 5000, interval: 50 }).toBeGreaterThan(0);
    expect(errors[0]).toBeInstanceOf(UsersFileError);
    expect(await src.authenticate('bob', 'pw-bob-12345')).toBeDefined();
    await src.close();
  });

  it('creates one admin with a random password on first start, and only then', async () => {
    const file = join(dir, 'users.yaml');
    const first = await bootstrapUsers(file, ['pai-users']);
    expect(first?.username).toBe('admin');
    const users = await readUsers(file);
    expect(users?.['admin']?.groups).toEqual(['pai-users']);
    expect(await verifyPassword(first?.password ?? '', users?.['admin']?.passwordHash ?? '')).toBe(true);
    expect(await bootstrapUsers(file, ['pai-users'])).toBeUndefined();
    const other = await bootstrapUsers(join(dir, 'other.yaml'), ['pai-users']);
    expect(other?.password).not.toBe(first?.password);
  });
});
