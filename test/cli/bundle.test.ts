import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { baseConfig } from '../helpers/gateway.js';

const REPO = resolve(import.meta.dirname, '../..');
let stage: string;

// The Docker image runs the esbuild bundle, not the sources: prove the bundle works,
// including a lazily loaded chunk and the data file it reads.
beforeAll(() => {
  stage = mkdtempSync(join(tmpdir(), 'pai-sso-bundle-'));
  execFileSync(process.execPath, [join(REPO, 'scripts/build.mjs'), join(stage, 'dist')], { cwd: REPO });
  cpSync(join(REPO, 'bin'), join(stage, 'bin'), { recursive: true });
  cpSync(join(REPO, 'data'), join(stage, 'data'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(stage, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(stage, 'node_modules'));
  writeFileSync(
    join(stage, 'gateway.yaml'),
    stringify({
      ...baseConfig(),
      keys: { dir: join(stage, 'certs') },
      identity: { source: 'local', local: { usersFile: join(stage, 'users.yaml') } },
    }),
  );
});
afterAll(() => rmSync(stage, { recursive: true, force: true }));

const run = (...args: string[]) =>
  spawnSync(process.execPath, [join(stage, 'bin/pai-sso.js'), ...args, '--config', join(stage, 'gateway.yaml')], {
    cwd: stage,
    encoding: 'utf8',
  });

describe('the built bundle', () => {
  it('checks a config and prints metadata', () => {
    const check = run('check');
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toContain(': ok (site cn');
    const md = run('metadata');
    expect(md.stdout).toContain('<md:IDPSSODescriptor');
  });

  it('lists every problem of a broken config through the precompiled validator, exit 2', () => {
    const broken = join(stage, 'broken.yaml');
    writeFileSync(
      broken,
      stringify(
        baseConfig({
          server: { baseUrl: 'https://x.example', colour: 'blue' },
          idp: { entityId: 'e', site: 'eu' },
          mappings: [{ group: 'g', roles: ['nope'] }],
        }),
      ),
    );
    const res = spawnSync(process.execPath, [join(stage, 'bin/pai-sso.js'), 'check', '--config', broken], { cwd: stage, encoding: 'utf8' });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('server.colour: unknown key');
    expect(res.stderr).toContain('idp.site: must be one of: cn, intl');
    expect(res.stderr).toContain('mappings.0.roles.0: refers to unknown role "nope"');
  });

  it('loads the register chunk and its policy data', () => {
    const res = run('register', 'policy');
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toContain('ram:CreateRole');
  });
});
