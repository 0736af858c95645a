import { readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bootstrapUsers } from '../../src/identity/bootstrap.js';
import { readUsers } from '../../src/identity/users-file.js';
import { verifyPassword } from '../../src/identity/password.js';
import { announceFirstAdmin, GENERATED_PASSWORD_FILE, suppliedAdminPassword } from '../../src/cli/first-admin.js';
import { createLogger } from '../../src/logger.js';
import { captureLogs, tempDir } from '../helpers/fixture.js';
import type { CliIo } from '../../src/cli/io.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir('pai-sso-first-admin-');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function streams(tty: boolean): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const stdout = Object.assign(new PassThrough(), { isTTY: tty });
  const stderr = Object.assign(new PassThrough(), { isTTY: tty });
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { io: { stdout, stderr, stdin: new PassThrough(), env: {} }, out: () => out, err: () => err };
}

describe('the first admin password', () => {
  it('comes from PAI_SSO_ADMIN_PASSWORD_FILE (one trailing newline dropped) or PAI_SSO_ADMIN_PASSWORD', async () => {
    const file = join(dir, 'admin-password');
    await writeFile(file, 'a secret from the vault\n');
    expect(await suppliedAdminPassword({ PAI_SSO_ADMIN_PASSWORD_FILE: file })).toBe('a secret from the vault');
    expect(await suppliedAdminPassword({ PAI_SSO_ADMIN_PASSWORD: 'an inline secret 1' })).toBe('an inline secret 1');
    expect(await suppliedAdminPassword({})).toBeUndefined();
  });

  it('refuses both at once, a missing file and a short password: exit 2 (config), never the value in the message', async () => {
    const file = join(dir, 'short');
    await writeFile(file, 'tiny\n');
    await expect(suppliedAdminPassword({ PAI_SSO_ADMIN_PASSWORD_FILE: file, PAI_SSO_ADMIN_PASSWORD: 'x' })).rejects.toMatchObject({
      kind: 'config',
      message: expect.stringContaining('not both') as string,
    });
    await expect(suppliedAdminPassword({ PAI_SSO_ADMIN_PASSWORD_FILE: join(dir, 'nope') })).rejects.toThrow(/cannot be read \(ENOENT\)/);
    const short = suppliedAdminPassword({ PAI_SSO_ADMIN_PASSWORD_FILE: file });
    await expect(short).rejects.toThrow(/at least 12 characters/);
    await expect(short).rejects.not.toThrow(/tiny/);
  });

  it('a supplied password creates the admin with it and is neither shown nor written anywhere else', async () => {
    const usersFile = join(dir, 'users.yaml');
    const first = await bootstrapUsers(usersFile, ['pai-users'], () => Promise.resolve('operator chosen pw'));
    expect(first).toMatchObject({ username: 'admin', generated: false });
    expect(await verifyPassword('operator chosen pw', (await readUsers(usersFile))?.['admin']?.passwordHash ?? '')).toBe(true);
    const logs = captureLogs();
    const s = streams(false);
    await announceFirstAdmin(first!, { usersFile, groups: ['pai-users'], io: s.io, log: createLogger('info', logs.sink) });
    expect(logs.text()).toContain('password you supplied');
    expect(logs.text() + s.out() + s.err()).not.toContain('operator chosen pw');
    await expect(stat(join(dir, GENERATED_PASSWORD_FILE))).rejects.toThrow(/ENOENT/);
    // The supplier is asked only when the admin is created: later starts never read it.
    let asked = false;
    const again = await bootstrapUsers(usersFile, ['pai-users'], () => {
      asked = true;
      return Promise.resolve('other');
    });
    expect(again).toBeUndefined();
    expect(asked).toBe(false);
  });

  it('a generated password goes to a 0600 file, not to the output, when output is not a terminal; the log says where', async () => {
    const usersFile = join(dir, 'users.yaml');
    // A link left where the file goes is replaced, not written through.
    const target = join(dir, 'elsewhere');
    await writeFile(target, 'untouched');
    await symlink(target, join(dir, GENERATED_PASSWORD_FILE));
    const first = await bootstrapUsers(usersFile, ['pai-users']);
    expect(first?.generated).toBe(true);
    const logs = captureLogs();
    const s = streams(false);
    await announceFirstAdmin(first!, { usersFile, groups: ['pai-users'], io: s.io, log: createLogger('info', logs.sink) });
    const file = join(dir, GENERATED_PASSWORD_FILE);
    expect(await readFile(file, 'utf8')).toBe(`${first!.password}\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(target, 'utf8')).toBe('untouched');
    expect(logs.text()).toContain(file);
    expect(logs.text() + s.out() + s.err()).not.toContain(first!.password);
  });

  it('a generated password is shown once on the terminal when both outputs are one, and no file is written', async () => {
    const usersFile = join(dir, 'users.yaml');
    const first = await bootstrapUsers(usersFile, ['pai-users']);
    const logs = captureLogs();
    const s = streams(true);
    await announceFirstAdmin(first!, { usersFile, groups: ['pai-users'], io: s.io, log: createLogger('info', logs.sink) });
    expect(s.err()).toContain(`Password (shown once): ${first!.password}`);
    expect(logs.text()).not.toContain(first!.password);
    await expect(stat(join(dir, GENERATED_PASSWORD_FILE))).rejects.toThrow(/ENOENT/);
  });
});
