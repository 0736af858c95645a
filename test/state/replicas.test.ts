import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../src/cli.js';
import { hashPassword } from '../../src/identity/password.js';
import { writeUsers } from '../../src/identity/users-file.js';
import { FAST_SCRYPT, baseConfig } from '../helpers/gateway.js';
import { REDIS_MISSING, freePort, startRedis, type RedisServer } from '../helpers/redis-server.js';

// Two gateway processes (`pai-sso serve`, separate ports, one config, one certs/ dir, one
// Redis), as two replicas behind a balancer with no sticky sessions.

const PASSWORD = 'correct horse battery';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Replica {
  readonly base: string;
  readonly child: ChildProcess;
  output(): string;
}

/** server.adminTokenEnv's token: /readyz then names the reason (the store) to the test. */
const REPLICA_ADMIN_TOKEN = 'replicas-admin-token-0b7d3e';

async function startReplica(configPath: string): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/pai-sso.js', 'serve', '--config', configPath], {
    env: { ...process.env, PORT: String(port), PAI_SSO_TEST_ADMIN_TOKEN: REPLICA_ADMIN_TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!out.includes('pai-sso ready')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`replica did not start: ${out}`);
    await sleep(50);
  }
  return { base: `http://127.0.0.1:${port}`, child, output: () => out };
}

async function stopReplica(r: Replica | undefined): Promise<void> {
  if (!r || r.child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    r.child.once('exit', () => resolve());
    r.child.kill('SIGTERM');
  });
}

const cookieOf = (res: Response, name: string) =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0] ?? '')
    .find((c) => c.startsWith(`${name}=`) && c.length > name.length + 1);
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

async function login(r: Replica, username: string): Promise<string> {
  const page = await fetch(`${r.base}/login`, { redirect: 'manual' });
  const flow = cookieOf(page, 'pai_sso_login') ?? '';
  const res = await fetch(`${r.base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: flow, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password: PASSWORD, csrf: csrfOf(await page.text()) }).toString(),
  });
  const session = cookieOf(res, 'pai_sso');
  if (res.status !== 303 || !session) throw new Error(`login of ${username} on ${r.base}: ${res.status}`);
  return session;
}

async function openPai(r: Replica, cookie: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${r.base}/sso/pai?target=pai`, { redirect: 'manual', headers: { cookie } });
  return { status: res.status, body: await res.text() };
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`);
    await sleep(100);
  }
}

describe.skipIf(REDIS_MISSING !== undefined)('two replicas sharing Redis', () => {
  let dir: string;
  let configPath: string;
  let redis: RedisServer;
  let a: Replica | undefined;
  let b: Replica | undefined;

  async function cli(args: string[]) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString()));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await main(['--config', configPath, ...args], { stdout, stderr, stdin: new PassThrough(), env: { USER: 'responder' } });
    return { code, out, err };
  }

  beforeAll(async () => {
    redis = await startRedis();
    dir = await mkdtemp(join(tmpdir(), 'pai-sso-replicas-'));
    configPath = join(dir, 'gateway.yaml');
    const usersFile = join(dir, 'users.yaml');
    await writeFile(
      configPath,
      stringify({
        ...baseConfig(),
        server: { baseUrl: 'http://127.0.0.1:8080', port: 0, shutdownGraceSeconds: 0, adminTokenEnv: 'PAI_SSO_TEST_ADMIN_TOKEN' },
        keys: { dir: join(dir, 'certs') },
        identity: { source: 'local', local: { usersFile } },
        state: { store: 'redis', redis: { url: redis.url, keyPrefix: 'replicas-test:' } },
        log: { level: 'info' },
      }),
    );
    const hash = await hashPassword(PASSWORD, FAST_SCRYPT);
    await writeUsers(
      usersFile,
      Object.fromEntries(
        ['alice', 'bob', 'carol', 'dave'].map((n) => [n, { id: `id-${n}`, displayName: n, groups: ['ml'], passwordHash: hash }]),
      ),
    );
    // One after the other: the first creates the keys in certs/, the second reads them.
    a = await startReplica(configPath);
    b = await startReplica(configPath);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([stopReplica(a), stopReplica(b)]);
    // Unset when beforeAll failed: that failure is the one to report.
    await (redis as RedisServer | undefined)?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a session from A works on B; logging out on A ends it on B', async () => {
    const [ra, rb] = [a as Replica, b as Replica];
    const cookie = await login(ra, 'alice');
    expect((await openPai(rb, cookie)).body).toContain('SAMLResponse');
    const landing = await fetch(`${ra.base}/`, { headers: { cookie } });
    const out = await fetch(`${ra.base}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: csrfOf(await landing.text()) }).toString(),
    });
    expect(out.status).toBe(303);
    for (const r of [rb, ra]) {
      const replay = await openPai(r, cookie);
      expect(replay.status).toBe(302);
      expect(replay.body).not.toContain('SAMLResponse');
    }
  });

  it('`pai-sso session list/revoke` reach every replica, with an audit line', async () => {
    const [ra, rb] = [a as Replica, b as Replica];
    const cookie = await login(rb, 'bob');
    const list = await cli(['session', 'list', '--user', 'bob']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/\tbob\tid-bob\tlocal\t.*\tactive/);
    const revoke = await cli(['session', 'revoke', '--user', 'bob']);
    expect(revoke.code).toBe(0);
    expect(revoke.out).toContain('revoked 1 session(s) of bob');
    const audit = revoke.err
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit).toContainEqual(
      expect.objectContaining({ audit: 'session.revoked', scope: 'user', user: 'bob', count: 1, operator: 'responder' }),
    );
    expect((await openPai(ra, cookie)).status).toBe(302);
    expect((await openPai(rb, cookie)).status).toBe(302);
    expect((await cli(['session', 'list', '--user', 'bob'])).out).toMatch(/\tbob\t.*\trevoked/);
    expect((await cli(['session', 'revoke', '--sid', 'nope'])).code).toBe(1);
    expect((await cli(['session', 'revoke', '--all', '--user', 'bob'])).code).toBe(2);
  });

  it('`pai-sso user remove` takes effect on both replicas', async () => {
    const [ra, rb] = [a as Replica, b as Replica];
    const cookie = await login(ra, 'carol');
    expect((await openPai(rb, cookie)).status).toBe(200);
    expect((await cli(['user', 'remove', 'carol'])).code).toBe(0);
    // The users file is polled every 2 s by each replica.
    for (const r of [ra, rb])
      await until(
        `carol refused on ${r.base}`,
        () => openPai(r, cookie),
        (x) => x.status === 302,
      );
  });

  it('store down: both refuse (503) and are not ready; store back: both recover by themselves', async () => {
    const [ra, rb] = [a as Replica, b as Replica];
    const cookie = await login(ra, 'dave');
    // Keep what is in Redis across the restart (the test server persists nothing by itself).
    const admin = new Redis(redis.url);
    await admin.save();
    await admin.quit();
    await redis.stop();
    for (const r of [ra, rb]) {
      const pai = await openPai(r, cookie);
      expect(pai.status).toBe(503);
      expect(pai.body).not.toContain('SAMLResponse');
      const ready = await fetch(`${r.base}/readyz`, { headers: { authorization: `Bearer ${REPLICA_ADMIN_TOKEN}` } });
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { status: string; checks: { state: { ok: boolean; reason?: string } } };
      expect(body.status).toBe('not ready');
      expect(body.checks.state.ok).toBe(false);
      expect(body.checks.state.reason).toMatch(/redis/);
      expect((await fetch(`${r.base}/healthz`)).status).toBe(200);
    }
    await redis.start();
    for (const r of [ra, rb]) {
      await until(
        `${r.base} ready again`,
        async () => (await fetch(`${r.base}/readyz`)).status,
        (s) => s === 200,
        15_000,
      );
      const pai = await openPai(r, cookie);
      expect(pai.status).toBe(200);
      expect(pai.body).toContain('SAMLResponse');
    }
    for (const r of [ra, rb])
      await until(
        'the outage and the recovery in the log',
        async () => r.output(),
        (o) => o.includes('state store unreachable') && o.includes('state store reachable again'),
      );
  });
});
