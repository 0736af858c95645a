import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { applyDefaultUsersFile, defaultUsersFile, LEGACY_USERS_FILE } from '../../src/config/data-dir.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { main } from '../../src/cli.js';
import { readUsers, writeUsers } from '../../src/identity/users-file.js';
import { hashPassword } from '../../src/identity/password.js';
import { FAST_SCRYPT, baseConfig, tempDir } from '../helpers/fixture.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir('pai-sso-data-dir-');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('the data directory', () => {
  it('holds users.yaml by default: var/, or PAI_SSO_DATA_DIR', () => {
    const none = () => false;
    expect(defaultUsersFile({}, none)).toEqual({ path: join('var', 'users.yaml') });
    expect(defaultUsersFile({ PAI_SSO_DATA_DIR: '/srv/pai-sso' }, none)).toEqual({ path: '/srv/pai-sso/users.yaml' });
  });

  it('still reads an existing config/users.yaml, with a warning, when the data dir has none', () => {
    const onlyLegacy = (p: string) => p === LEGACY_USERS_FILE;
    const choice = defaultUsersFile({ PAI_SSO_DATA_DIR: '/srv/pai-sso' }, onlyLegacy);
    expect(choice.path).toBe(LEGACY_USERS_FILE);
    expect(choice.warning).toContain('move it to /srv/pai-sso/users.yaml');
    // Once the file is in the data dir, the old one is ignored.
    const both = defaultUsersFile({ PAI_SSO_DATA_DIR: '/srv/pai-sso' }, () => true);
    expect(both).toEqual({ path: '/srv/pai-sso/users.yaml' });
  });

  it('never overrides a usersFile the config names, and leaves malformed sections to validation', () => {
    const doc = { identity: { local: { usersFile: '/etc/pai-sso/users.yaml' } } };
    expect(applyDefaultUsersFile(doc, { PAI_SSO_DATA_DIR: '/x' }, () => true)).toBeUndefined();
    expect(doc.identity.local.usersFile).toBe('/etc/pai-sso/users.yaml');
    const bad = { identity: 'local' };
    applyDefaultUsersFile(bad, {}, () => false);
    expect(bad).toEqual({ identity: 'local' });
    expect(() => parseConfig(stringify({ ...baseConfig(), identity: 'local' }), 'x')).toThrow(/identity/);
  });

  it('is where loadConfig points the local source, and where `pai-sso user add` writes', async () => {
    const configPath = join(dir, 'gateway.yaml');
    await writeFile(configPath, stringify({ ...baseConfig(), keys: { dir: join(dir, 'certs') } }));
    const env = { PAI_SSO_DATA_DIR: join(dir, 'data') };
    const loaded = await loadConfig(configPath, env);
    expect(loaded.config.identity.local.usersFile).toBe(join(dir, 'data', 'users.yaml'));
    expect(loaded.warnings).toEqual([]);

    const stdin = new PassThrough();
    stdin.end('a long enough password\n');
    let err = '';
    const stderr = new PassThrough();
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await main(['--config', configPath, 'user', 'add', 'bob', '--groups', 'ml', '--password-stdin'], {
      stdout: new PassThrough(),
      stderr,
      stdin,
      env,
    });
    expect(code, err).toBe(0);
    expect((await readUsers(join(dir, 'data', 'users.yaml')))?.['bob']?.groups).toEqual(['ml']);
    expect((await stat(join(dir, 'data', 'users.yaml'))).mode & 0o777).toBe(0o600);
  });

  it('an upgrade keeps its config/users.yaml: read from the working directory, with a warning on stderr', async () => {
    // The legacy path is relative to the working directory, as it always was: run the CLI there.
    const { spawnSync } = await import('node:child_process');
    await mkdir(join(dir, 'config'));
    await writeFile(join(dir, 'config', 'gateway.yaml'), stringify({ ...baseConfig(), keys: { dir: join(dir, 'certs') } }));
    await writeUsers(join(dir, 'config', 'users.yaml'), {
      carol: { id: 'u-c', groups: ['ml'], passwordHash: await hashPassword('a long enough password', FAST_SCRYPT) },
    });
    const usersYaml = await readFile(join(dir, 'config', 'users.yaml'), 'utf8');
    const bin = join(process.cwd(), 'bin', 'pai-sso.js');
    const res = spawnSync(process.execPath, [bin, 'user', 'list'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, PAI_SSO_DATA_DIR: '' },
    });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain('carol');
    expect(res.stderr).toContain(`warning: reading local users from ${LEGACY_USERS_FILE}, the old location: move it to var/users.yaml`);
    expect(await readFile(join(dir, 'config', 'users.yaml'), 'utf8')).toBe(usersYaml);
  });
});
