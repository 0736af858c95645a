import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PassThrough } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { REDIS_MISSING, startRedis } from '../helpers/redis-server.js';
import { stringify } from 'yaml';
import { main } from '../../src/cli.js';
import { readUsers } from '../../src/identity/users-file.js';
import { hashPassword, verifyPassword } from '../../src/identity/password.js';
import { writeUsers } from '../../src/identity/users-file.js';
import { FAST_SCRYPT, baseConfig } from '../helpers/gateway.js';
import { freePort } from '../helpers/fixture.js';

let dir: string;
let configPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pai-sso-cli-'));
  configPath = join(dir, 'gateway.yaml');
  await writeFile(
    configPath,
    stringify({
      ...baseConfig(),
      keys: { dir: join(dir, 'certs') },
      identity: { source: 'local', local: { usersFile: join(dir, 'users.yaml') } },
    }),
  );
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function run(args: string[], stdinText?: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  if (stdinText !== undefined) stdin.end(stdinText);
  const code = await main(['--config', configPath, ...args], { stdout, stderr, stdin, env: {} });
  return { code, out, err };
}

describe('pai-sso user', () => {
  it('adds a user with a scrypt hash (file 0600), lists and removes them', async () => {
    const added = await run(
      ['user', 'add', 'alice', '--groups', 'ml,ml-admins', '--display-name', 'Alice A', '--password-stdin'],
      'a long enough password\n',
    );
    expect(added.code).toBe(0);
    const users = await readUsers(join(dir, 'users.yaml'));
    expect(users?.['alice']?.groups).toEqual(['ml', 'ml-admins']);
    expect(users?.['alice']?.passwordHash).toMatch(/^\$scrypt\$/);
    expect(await verifyPassword('a long enough password', users?.['alice']?.passwordHash ?? '')).toBe(true);
    expect((await stat(join(dir, 'users.yaml'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'users.yaml'), 'utf8')).not.toContain('a long enough password');

    const list = await run(['user', 'list']);
    expect(list.out).toContain('alice\tAlice A\t\tml,ml-admins');
    expect(list.out).not.toContain('scrypt');

    expect((await run(['user', 'add', 'alice', '--password-stdin'], 'another long password')).code).toBe(2);
    expect((await run(['user', 'remove', 'alice'])).code).toBe(0);
    expect((await readUsers(join(dir, 'users.yaml')))?.['alice']).toBeUndefined();
    expect((await run(['user', 'remove', 'alice'])).code).toBe(1);
  });

  it('refuses short passwords, bad names and a missing terminal', async () => {
    expect((await run(['user', 'add', 'bob', '--password-stdin'], 'short')).code).toBe(2);
    expect((await run(['user', 'add', 'bob b', '--password-stdin'], 'a long enough password')).code).toBe(2);
    const noTty = await run(['user', 'add', 'bob']);
    expect(noTty.code).toBe(2);
    expect(noTty.err).toMatch(/--password-stdin/);
  });
});

describe('pai-sso check / metadata', () => {
  it('exits 2 and lists every problem of a broken config', async () => {
    await writeFile(
      configPath,
      stringify(
        baseConfig({ accounts: { prod: { accountId: 'x', samlProvider: 'corp-idp' } }, mappings: [{ group: 'g', roles: ['missing'] }] }),
      ),
    );
    const res = await run(['check']);
    expect(res.code).toBe(2);
    expect(res.err).toContain('accounts.prod.accountId: must be a numeric Alibaba Cloud account ID');
    expect(res.err).toContain('mappings.0.roles.0: refers to unknown role "missing"');
  });

  it('prints the metadata the server serves', async () => {
    const res = await run(['metadata']);
    expect(res.code).toBe(0);
    expect(res.out).toContain('entityID="https://sso.example.test/saml/metadata"');
    expect(res.out).toContain('<ds:X509Certificate>');
  });

  it('rejects an unknown command with exit 2', async () => {
    expect((await run(['frobnicate'])).code).toBe(2);
  });

  it('maps errors to exit codes: bad flags 2, unusable key or users file 1, message after "pai-sso: "', async () => {
    const flag = await run(['check', '--bogus']);
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/^pai-sso: Unknown option '--bogus'/);

    await mkdir(join(dir, 'certs'), { recursive: true });
    await writeFile(join(dir, 'certs', 'signing.key'), 'not a key');
    const keys = await run(['check']);
    expect(keys.code).toBe(1);
    expect(keys.err).toMatch(/^pai-sso: .*signing\.key/);

    await writeFile(join(dir, 'users.yaml'), 'users: [1, 2]\n');
    const users = await run(['user', 'list']);
    expect(users.code).toBe(1);
    expect(users.err).toMatch(/^pai-sso: .*users\.yaml/);
  });
});

describe('pai-sso register: arguments', () => {
  it('prints its help on --help, -h or nothing, exit 0', async () => {
    for (const args of [
      ['register', '--help'],
      ['register', '-h'],
      ['register'],
      ['register', 'plan', '--help'],
      ['register', 'apply', '-h'],
    ]) {
      const res = await run(args);
      expect(res.code, args.join(' ')).toBe(0);
      expect(res.out).toMatch(/^usage: pai-sso register <command> \[options\]/);
    }
  });

  it('takes only the flags each command knows, exit 2 with the usage otherwise', async () => {
    const bad = [
      [['register', 'frobnicate'], /unknown command "frobnicate"/],
      [['register', 'plan', '--yes'], /Unknown option '--yes'/],
      [['register', 'apply', '--json'], /Unknown option '--json'/],
      [['register', 'policy', 'extra'], /Unexpected argument 'extra'/],
      [['register', 'plan', '--account'], /'--account <value>' argument missing/],
      [['register', 'plan', '--account', '--prune'], /'--account' argument is ambiguous/],
      [['register', 'plan', '--account='], /--account needs an account key/],
    ] as const;
    for (const [args, message] of bad) {
      const res = await run([...args]);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.err).toMatch(/^pai-sso register: /);
      expect(res.err).toMatch(message);
      expect(res.err).toContain('usage: pai-sso register <command>');
    }
  });

  it('policy takes --account, --prune and --json', async () => {
    const res = await run(['register', 'policy', '--json', '--prune']);
    expect(res.code, res.err).toBe(0);
    expect(res.out).toContain('ram:CreateRole');
    const unknown = await run(['register', 'policy', '--account=nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--account "nope" is not a key of accounts:');
  });
});

describe('the pai-sso binary', () => {
  it('is the only entry point: importing the CLI module runs nothing, whatever the script is called', async () => {
    const script = join(dir, 'pai-sso.js');
    await writeFile(join(dir, 'package.json'), '{"type":"module"}');
    await writeFile(script, `await import(${JSON.stringify(pathToFileURL(join(process.cwd(), 'src/cli.ts')).href)});\n`);
    const res = spawnSync(process.execPath, ['--import', 'tsx', script, 'help'], { encoding: 'utf8' });
    expect(res.stderr).toBe('');
    expect(res.stdout).toBe('');
    expect(res.status).toBe(0);
    const bin = spawnSync(process.execPath, ['bin/pai-sso.js', 'help'], { encoding: 'utf8' });
    expect(bin.status).toBe(0);
    expect(bin.stdout).toContain('Usage: pai-sso <command>');
  });

  it('refuses to start on a broken config: exit 2, problems on stderr', () => {
    const res = spawnSync(process.execPath, ['bin/pai-sso.js', 'serve'], {
      encoding: 'utf8',
      env: { ...process.env, PAI_SSO_CONFIG: join(dir, 'missing.yaml') },
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('(file): cannot be read (ENOENT)');
  });

  it('starts on a config, says where to go, serves /readyz and stops cleanly on SIGTERM', async () => {
    // No usersFile in the config: it goes to the data directory.
    await writeFile(
      configPath,
      stringify({
        ...baseConfig(),
        server: { baseUrl: 'http://127.0.0.1:0', port: 0, shutdownGraceSeconds: 0.2 },
        keys: { dir: join(dir, 'certs') },
      }),
    );
    const child = spawn(process.execPath, ['bin/pai-sso.js', 'serve', '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PAI_SSO_DATA_DIR: join(dir, 'data') },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const listen = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ready line: ${out}${err}`)), 20_000);
      child.stdout.on('data', () => {
        const m = /"listen":"127\.0\.0\.1:(\d+)"/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1] ?? '');
        }
      });
    });
    expect(out).toContain('pai-sso ready: open http://127.0.0.1:0/');
    // First start with output piped (not a terminal): one admin, random password, written once
    // to a 0600 file in the data directory; stdout says where, and nothing prints the password.
    const passwordFile = join(dir, 'data', 'initial-admin-password');
    expect(out).toContain(passwordFile);
    const password = (await readFile(passwordFile, 'utf8')).trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect((await stat(passwordFile)).mode & 0o777).toBe(0o600);
    expect(await verifyPassword(password, (await readUsers(join(dir, 'data', 'users.yaml')))?.['admin']?.passwordHash ?? '')).toBe(true);
    expect(out + err).not.toContain(password);
    // Only the groups the embedded default maps, not this config's ml and ml-admins (the admin role).
    expect((await readUsers(join(dir, 'data', 'users.yaml')))?.['admin']?.groups).toEqual(['pai-users']);
    expect(out).toContain('"groups":["pai-users"]');
    const ready = await fetch(`http://127.0.0.1:${listen}/readyz`);
    expect(ready.status).toBe(200);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
  });
});

describe('serve with an admin listener', () => {
  const adminConfig = (server: Record<string, unknown>) =>
    writeFile(
      configPath,
      stringify({
        ...baseConfig(),
        server: { baseUrl: 'http://127.0.0.1:0', port: 0, shutdownGraceSeconds: 0.2, ...server },
        keys: { dir: join(dir, 'certs') },
        identity: { source: 'local', local: { usersFile: join(dir, 'users.yaml') } },
      }),
    );

  it('listens on server.adminListen for /metrics and /readyz reasons; the main port keeps only the status', async () => {
    await adminConfig({ adminListen: '127.0.0.1:0', adminTokenEnv: 'PAI_SSO_TEST_ADMIN' });
    const child = spawn(process.execPath, ['bin/pai-sso.js', 'serve', '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PAI_SSO_TEST_ADMIN: 'cli-admin-token-5e8a1c' },
    });
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const [listen, side] = await new Promise<[string, string]>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ready line: ${out}`)), 20_000);
      child.stdout.on('data', () => {
        const m = /"listen":"127\.0\.0\.1:(\d+)".*"admin":"127\.0\.0\.1:(\d+)"/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve([m[1] ?? '', m[2] ?? '']);
        }
      });
    });
    expect(side).not.toBe(listen);
    expect((await fetch(`http://127.0.0.1:${listen}/metrics`)).status).toBe(404);
    expect(await (await fetch(`http://127.0.0.1:${listen}/readyz`)).json()).toEqual({ status: 'ready' });
    const withToken = await fetch(`http://127.0.0.1:${listen}/readyz`, { headers: { authorization: 'Bearer cli-admin-token-5e8a1c' } });
    expect(await withToken.json()).toMatchObject({ status: 'ready', checks: { state: { ok: true } } });
    const metrics = await fetch(`http://127.0.0.1:${side}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('pai_sso_logins_total');
    expect(await (await fetch(`http://127.0.0.1:${side}/readyz`)).json()).toMatchObject({ checks: { signingKey: { ok: true } } });
    child.kill('SIGTERM');
    expect(await new Promise<number | null>((resolve) => child.on('exit', resolve))).toBe(0);
  });

  it('refuses to start when server.adminTokenEnv names a missing or short variable (exit 2, before writing anything)', async () => {
    await adminConfig({ adminTokenEnv: 'PAI_SSO_TEST_ADMIN' });
    const res = spawnSync(process.execPath, ['bin/pai-sso.js', 'serve', '--config', configPath], {
      encoding: 'utf8',
      env: { ...process.env, PAI_SSO_TEST_ADMIN: 'short' },
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('server.adminTokenEnv: environment variable PAI_SSO_TEST_ADMIN must hold the admin token');
    expect(res.stderr).not.toContain('short');
    await expect(stat(join(dir, 'users.yaml'))).rejects.toThrow();
  });
});

describe('several workers', () => {
  it('refuse to start with the memory store: each worker would count alone', () => {
    writeFileSync(
      configPath,
      stringify({
        ...baseConfig(),
        server: { baseUrl: 'http://127.0.0.1:8080', workers: 2 },
        keys: { dir: join(dir, 'certs') },
        identity: { source: 'local', local: { usersFile: join(dir, 'users.yaml') } },
      }),
    );
    const res = spawnSync(process.execPath, ['bin/pai-sso.js', 'serve', '--config', configPath], { encoding: 'utf8' });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('server.workers: more than 1 worker needs state.store: redis');
  });

  it.skipIf(REDIS_MISSING !== undefined)(
    'serve one session from any worker and shut down together on SIGTERM',
    { timeout: 90_000 },
    async () => {
      const redis = await startRedis();
      onTestFinished(() => redis.close());
      const port = await freePort();
      const usersFile = join(dir, 'users.yaml');
      await writeUsers(usersFile, {
        alice: { id: 'u-a', groups: ['ml'], passwordHash: await hashPassword('correct horse battery', FAST_SCRYPT) },
      });
      await writeFile(
        configPath,
        stringify({
          ...baseConfig(),
          server: { baseUrl: `http://127.0.0.1:${port}`, port, workers: 2, shutdownGraceSeconds: 0.2 },
          keys: { dir: join(dir, 'certs') },
          identity: { source: 'local', local: { usersFile } },
          state: { store: 'redis', redis: { url: redis.url } },
        }),
      );
      const child = spawn(process.execPath, ['bin/pai-sso.js', 'serve', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      await expect.poll(() => out, { timeout: 60_000, interval: 100 }).toContain('pai-sso ready');
      expect(out).toContain('"workers":2');
      const base = `http://127.0.0.1:${port}`;
      const page = await fetch(`${base}/login`);
      const flowCookie = (page.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';
      const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
      const login = await fetch(`${base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: flowCookie },
        body: new URLSearchParams({ username: 'alice', password: 'correct horse battery', csrf }).toString(),
      });
      expect(login.status).toBe(303);
      const session =
        login.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .find((c) => c?.startsWith('pai_sso=')) ?? '';
      // New connections each time, so the kernel spreads them over both workers.
      for (let i = 0; i < 8; i++) {
        const res = await fetch(`${base}/sso/pai`, { headers: { cookie: session, connection: 'close' } });
        expect(res.status).toBe(200);
        expect(await res.text()).toContain('name="SAMLResponse"');
      }
      const workersIssuing = new Set(
        out
          .split('\n')
          .filter((l) => l.includes('"audit":"assertion.issued"'))
          .map((l) => (JSON.parse(l) as { worker: number }).worker),
      );
      expect(workersIssuing.size).toBe(2);
      child.kill('SIGTERM');
      expect(await new Promise<number | null>((resolve) => child.on('exit', resolve))).toBe(0);
    },
  );
});
