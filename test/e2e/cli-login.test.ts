// End to end for the command line: `register apply` puts the gateway's provider and roles
// into the Alibaba emulator; `pai-sso login` runs its loopback flow while Debian's
// Chromium signs in and allows on the consent page; the emulator's STS judges the
// assertion and hands out credentials; `pai-sso credentials` prints them in the aliyun
// CLI's External format and as environment exports; `@alicloud/credentials` gets them from
// `pai-sso credentials serve` through ALIBABA_CLOUD_CREDENTIALS_URI and signs a real API
// call with them. Then: refresh without a browser, the device flow, sign-out ending it.

import { readFile, rm, stat } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import Credentials from '@alicloud/credentials';
import Ram from '@alicloud/ram20150501';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { main } from '../../src/cli.js';
import { runRegister } from '../../src/ram/command.js';
import { AlibabaEmulator } from '../emulators/alibaba.js';
import { tempDir } from '../helpers/fixture.js';
import { SKIP_BROWSER, launchChromium, startGateway, type Gateway, type TestUser } from './gateway.js';

const ACCOUNT = '1234567890123456';
const AK = { id: 'LTAI5tEmulatorKeyId01', secret: 'emulator-secret-Zq8vX3pW9kLm2NbR' };
const USERS: Record<string, TestUser> = {
  alice: { password: 'alice-e2e-password', id: 'u-alice-0001', displayName: 'Alice Liddell', groups: ['pai-users', 'pai-admins'] },
};

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let emulator: AlibabaEmulator;
let gw: Gateway;
let browser: Browser;
/** What beforeAll started, stopped in reverse order even when it failed half way. */
const cleanups: (() => Promise<void>)[] = [];
let home: string;

function cliIo(extra: { openUrl?: (url: string) => Promise<boolean>; signal?: AbortSignal } = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = { stdout: '', stderr: '' };
  stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
  stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const stdin = Object.assign(Readable.from([]), { isTTY: false });
  const env = { HOME: home, XDG_CONFIG_HOME: join(home, 'config'), PAI_SSO_STS_ENDPOINT: `http://${emulator.endpoint}` };
  return { io: { stdout, stderr, stdin, env, ...extra }, out };
}

async function run(args: string[], extra: Parameters<typeof cliIo>[0] = {}): Promise<Run> {
  const { io, out } = cliIo(extra);
  const code = await main(args, io);
  return { code, ...out };
}

async function signInAndAllow(page: Page, url: string, role: string): Promise<void> {
  await page.goto(url);
  await page.fill('#username', 'alice');
  await page.fill('#password', USERS['alice']!.password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/cli\/(authorize|device)/);
  // A role marked cli: false is never offered.
  expect(await page.content()).not.toContain('Console only');
  const radio = page.locator(`input[type=radio][name=role][value="${role}"]`);
  if ((await radio.count()) > 0) await radio.check();
  await page.click('button[value=allow]');
}

beforeAll(async () => {
  if (SKIP_BROWSER) return;
  emulator = new AlibabaEmulator([{ accessKeyId: AK.id, accessKeySecret: AK.secret, accountId: ACCOUNT }]);
  await emulator.start();
  cleanups.push(() => emulator.stop());
  gw = await startGateway({
    site: 'cn',
    users: USERS,
    config: {
      idp: { entityId: 'https://sso.e2e.example/cli/saml/metadata' },
      accounts: { prod: { accountId: ACCOUNT, samlProvider: 'pai-sso-e2e', label: 'Production' } },
      roles: {
        'pai-developer': { account: 'prod', roleName: 'pai-sso-developer', label: 'PAI developer', sessionDuration: 7200 },
        'pai-admin': { account: 'prod', roleName: 'pai-sso-admin', label: 'PAI administrator' },
        'pai-console': { account: 'prod', roleName: 'pai-sso-console', label: 'Console only', cli: false },
      },
      mappings: [
        { group: 'pai-users', roles: ['pai-developer', 'pai-console'] },
        { group: 'pai-admins', roles: ['pai-admin'] },
      ],
      targets: { pai: { url: 'https://pai.console.aliyun.com/' } },
      cli: { maxDurationSeconds: 7200, device: { intervalSeconds: 1 } },
      register: {
        endpoints: {
          ims: emulator.endpoint,
          ram: emulator.endpoint,
          sts: emulator.endpoint,
          aiworkspace: emulator.endpoint,
          protocol: 'http',
        },
        roles: { 'pai-developer': { systemPolicies: ['AliyunPAIReadOnlyAccess'] }, 'pai-admin': {}, 'pai-console': {} },
      },
    },
  });
  cleanups.push(() => gw.close());
  home = await tempDir('pai-sso-cli-home-');
  cleanups.push(() => rm(home, { recursive: true, force: true }));
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  stdout.resume();
  const applied = await runRegister(['apply', '--yes'], {
    config: gw.config,
    configPath: 'e2e-cli.yaml',
    keys: gw.keys,
    stdout,
    stderr,
    stdin: Object.assign(Readable.from([]), { isTTY: false }),
    env: { ALIBABA_CLOUD_ACCESS_KEY_ID: AK.id, ALIBABA_CLOUD_ACCESS_KEY_SECRET: AK.secret },
  });
  expect(applied, err).toBe(0);
  expect(emulator.account(ACCOUNT).roles.get('pai-sso-developer')?.max).toBe(7200);
  browser = await launchChromium();
  cleanups.push(() => browser.close());
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe.skipIf(SKIP_BROWSER)('pai-sso login, credentials, serve', () => {
  let context: BrowserContext;
  let page: Page;

  it('login: the browser signs in and allows on the consent page; STS credentials land in a 0600 cache', async () => {
    context = await browser.newContext();
    page = await context.newPage();
    let browsing: Promise<void> | undefined;
    let consentUrl = '';
    // A browser step that fails cancels the command instead of leaving it waiting.
    const abort = new AbortController();
    const login = await run(['login', '--gateway', gw.url, '--profile', 'e2e', '--duration', '7200'], {
      signal: abort.signal,
      openUrl: async (url) => {
        consentUrl = url;
        browsing = signInAndAllow(page, url, 'pai-developer').catch((err: unknown) => {
          abort.abort();
          throw err;
        });
        return true;
      },
    });
    await browsing;
    expect(login.code, login.stderr).toBe(0);
    expect(consentUrl).toMatch(
      /\/cli\/authorize\?response_type=code&client_id=pai-sso-cli&redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Fcallback/,
    );
    expect(consentUrl).toContain('code_challenge_method=S256');
    expect(await page.locator('h1').textContent()).toBe('Signed in');
    expect(login.stderr).toContain('Signed in: role PAI developer in Production');
    expect(login.stdout).toBe('');

    const issued = emulator.stsIssued.at(-1)!;
    expect(issued.roleArn).toBe(`acs:ram::${ACCOUNT}:role/pai-sso-developer`);
    const lifetime = Date.parse(issued.expiration) - Date.now();
    expect(lifetime).toBeGreaterThan(7000_000);
    expect(lifetime).toBeLessThanOrEqual(7200_000);

    const dir = join(home, 'config', 'pai-sso', 'credentials', 'e2e');
    const { readdir } = await import('node:fs/promises');
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect((await stat(join(dir, files[0]!))).mode & 0o777).toBe(0o600);
    expect((await stat(join(home, 'config', 'pai-sso'))).mode & 0o777).toBe(0o700);
    const cached = JSON.parse(await readFile(join(dir, files[0]!), 'utf8'));
    expect(cached.credentials.accessKeyId).toBe(issued.accessKeyId);
    // The gateway logged the grant, never the assertion.
    expect(gw.logs.filter((l) => l['audit'] === 'credentials.authorized').at(-1)).toMatchObject({ user: 'alice', flow: 'loopback' });
    expect(JSON.stringify(gw.logs)).not.toContain(issued.securityToken);
  });

  it('credentials --format aliyun-external and env print the emulator STS credentials (from the cache)', async () => {
    const before = emulator.stsIssued.length;
    const issued = emulator.stsIssued.at(-1)!;
    const external = await run(['credentials', '--format', 'aliyun-external', '--profile', 'e2e']);
    expect(external.code, external.stderr).toBe(0);
    expect(JSON.parse(external.stdout)).toEqual({
      mode: 'StsToken',
      access_key_id: issued.accessKeyId,
      access_key_secret: issued.accessKeySecret,
      sts_token: issued.securityToken,
    });
    const env = await run(['credentials', '--format', 'env', '--profile', 'e2e']);
    expect(env.stdout).toBe(
      `export ALIBABA_CLOUD_ACCESS_KEY_ID='${issued.accessKeyId}' ALIBABA_CLOUD_ACCESS_KEY_SECRET='${issued.accessKeySecret}' ALIBABA_CLOUD_SECURITY_TOKEN='${issued.securityToken}'\n`,
    );
    expect(emulator.stsIssued.length).toBe(before);
  });

  it('@alicloud/credentials with ALIBABA_CLOUD_CREDENTIALS_URI gets them from `pai-sso credentials serve` and signs an API call', async () => {
    const abort = new AbortController();
    const { io, out } = cliIo({ signal: abort.signal });
    const serving = main(['credentials', 'serve', '--port', '0', '--profile', 'e2e'], io);
    await expect.poll(() => out.stderr, { timeout: 10_000 }).toMatch(/export ALIBABA_CLOUD_CREDENTIALS_URI=(\S+)/);
    const uri = /export ALIBABA_CLOUD_CREDENTIALS_URI=(\S+)/.exec(out.stderr)![1]!;
    const saved = { ...process.env };
    try {
      process.env['HOME'] = home;
      process.env['ALIBABA_CLOUD_CREDENTIALS_URI'] = uri;
      process.env['ALIBABA_CLOUD_ECS_METADATA_DISABLED'] = 'true';
      delete process.env['ALIBABA_CLOUD_ACCESS_KEY_ID'];
      delete process.env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'];
      const credential = new Credentials.default();
      const got = await credential.getCredential();
      const issued = emulator.stsIssued.at(-1)!;
      expect(got.accessKeyId).toBe(issued.accessKeyId);
      expect(got.securityToken).toBe(issued.securityToken);
      // A real consumer: the RAM SDK signs with them (the emulator checks signature and token).
      const ram = new Ram.default(
        new $OpenApiUtil.Config({ credential, endpoint: emulator.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }),
      );
      const role = await ram.getRole(new Ram.GetRoleRequest({ roleName: 'pai-sso-developer' }));
      expect(role.body?.role?.arn).toBe(`acs:ram::${ACCOUNT}:role/pai-sso-developer`);
    } finally {
      process.env = saved;
    }
    // Only requests addressed to the loopback listener by name, and none from a browser page.
    const port = new URL(uri).port;
    const status = (headers: Record<string, string>) =>
      new Promise<number | undefined>((resolve, reject) => {
        httpGet(uri, { headers }, (res) => {
          res.resume();
          resolve(res.statusCode);
        }).once('error', reject);
      });
    expect(await status({ host: `evil.example:${port}` })).toBe(403);
    expect(await status({ origin: 'https://evil.example' })).toBe(403);
    expect(await status({})).toBe(200);
    abort.abort();
    expect(await serving).toBe(0);
  });

  it('near Expiration, credentials are refreshed through the gateway without a browser', async () => {
    const dir = join(home, 'config', 'pai-sso', 'credentials', 'e2e');
    const { readdir, writeFile } = await import('node:fs/promises');
    const file = join(dir, (await readdir(dir))[0]!);
    const cached = JSON.parse(await readFile(file, 'utf8'));
    cached.credentials.expiration = new Date(Date.now() + 120_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await writeFile(file, JSON.stringify(cached));
    const before = emulator.stsIssued.length;
    const r = await run(['credentials', '--format', 'aliyun-external', '--profile', 'e2e']);
    expect(r.code, r.stderr).toBe(0);
    expect(emulator.stsIssued.length).toBe(before + 1);
    const fresh = emulator.stsIssued.at(-1)!;
    expect(JSON.parse(r.stdout).access_key_id).toBe(fresh.accessKeyId);
    expect(fresh.accessKeyId).not.toBe(cached.credentials.accessKeyId);
    expect(gw.logs.filter((l) => l['audit'] === 'credentials.authorized').at(-1)).toMatchObject({ grant: 'refresh' });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('login --device: the code is approved in a signed-in browser, the command polls and gets credentials', async () => {
    const abort = new AbortController();
    const { io, out } = cliIo({ signal: abort.signal });
    const login = main(['login', '--device', '--gateway', gw.url, '--profile', 'notebook', '--role', 'pai-admin'], io);
    await expect.poll(() => out.stderr, { timeout: 10_000 }).toMatch(/\(or open (\S+)\)/);
    const url = /\(or open (\S+)\)/.exec(out.stderr)![1]!;
    expect(out.stderr).toMatch(/\n {4}[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}\n/);
    const browsing = (async () => {
      await page.goto(url);
      await page.click('button[value=allow]');
    })().catch((err: unknown) => {
      abort.abort();
      throw err;
    });
    await browsing;
    expect(await login, out.stderr).toBe(0);
    expect(emulator.stsIssued.at(-1)!.roleArn).toBe(`acs:ram::${ACCOUNT}:role/pai-sso-admin`);
    expect(gw.logs.filter((l) => l['audit'] === 'credentials.authorized').at(-1)).toMatchObject({ flow: 'device', roleKey: 'pai-admin' });
  });

  it('after signing out of the gateway, credentials cannot be refreshed and say to run pai-sso login; logout deletes the cache', async () => {
    await page.goto(gw.url);
    await page.click('header form button[type=submit]');
    const dir = join(home, 'config', 'pai-sso', 'credentials', 'e2e');
    const { readdir, writeFile } = await import('node:fs/promises');
    const file = join(dir, (await readdir(dir))[0]!);
    const cached = JSON.parse(await readFile(file, 'utf8'));
    cached.credentials.expiration = new Date(Date.now() + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await writeFile(file, JSON.stringify(cached));
    const r = await run(['credentials', '--profile', 'e2e']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('run `pai-sso login --profile e2e`');
    expect(r.stdout).toBe('');

    const out = await run(['logout', '--profile', 'e2e']);
    expect(out.code).toBe(0);
    expect(await readdir(dir)).toEqual([]);
    const after = await run(['credentials', '--profile', 'e2e']);
    expect(after.code).toBe(1);
    await context.close();
  });
});
