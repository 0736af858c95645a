import { PassThrough, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { envExports, aliyunExternal } from '../../src/cli/client/formats.js';
import { gatewayUrl } from '../../src/cli/client/profile.js';
import { AlibabaEmulator } from '../emulators/alibaba.js';
import { baseConfig, hiddenField, login, request, startGateway, type TestGateway } from '../helpers/gateway.js';
import { tempDir } from '../helpers/fixture.js';

// The client commands against a listening gateway, with the browser's part played by
// requests (the Chromium run is test/e2e/cli-login.test.ts): what the command does with a
// foreign callback, a denial, an STS refusal, and bad usage.

const PASSWORD = 'correct horse battery';
let gw: TestGateway | undefined;
let emulator: AlibabaEmulator | undefined;
afterEach(async () => {
  await gw?.close();
  await emulator?.stop();
  gw = undefined;
  emulator = undefined;
});

async function setup() {
  emulator = new AlibabaEmulator([]);
  await emulator.start();
  gw = await startGateway({ config: baseConfig() });
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const address = gw.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { gateway: `http://127.0.0.1:${port}`, home: await tempDir('pai-sso-client-') };
}

async function run(args: string[], home: string, openUrl?: (url: string) => Promise<boolean>) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const env = { HOME: home, XDG_CONFIG_HOME: `${home}/config`, PAI_SSO_STS_ENDPOINT: `http://${emulator?.endpoint ?? '127.0.0.1:1'}` };
  const code = await main(args, {
    stdout,
    stderr,
    stdin: Object.assign(Readable.from([]), { isTTY: false }),
    env,
    ...(openUrl ? { openUrl } : {}),
  });
  return { code, stdout: out, stderr: err };
}

/** The browser's part: sign in, answer the consent page, return the loopback redirect. */
async function consent(g: TestGateway, url: string, decision: 'allow' | 'deny'): Promise<string> {
  const u = new URL(url);
  const path = `${u.pathname}${u.search}`;
  const { jar } = await login(g, 'alice', PASSWORD, path);
  const page = await request(g, jar, 'GET', path);
  const res = await request(g, jar, 'POST', '/cli/authorize', {
    csrf: hiddenField(page.body, 'csrf'),
    redirect_uri: hiddenField(page.body, 'redirect_uri'),
    state: hiddenField(page.body, 'state'),
    code_challenge: hiddenField(page.body, 'code_challenge'),
    duration: hiddenField(page.body, 'duration'),
    role: 'dev',
    decision,
  });
  expect(res.statusCode).toBe(303);
  return String(res.headers.location);
}

describe('pai-sso login', () => {
  it('ignores a callback with another state, takes ours, and shows an STS refusal with its code and a hint', async () => {
    const { gateway, home } = await setup();
    let foreign: number | undefined;
    const r = await run(['login', '--gateway', gateway], home, async (url) => {
      const g = gw!;
      void (async () => {
        const location = await consent(g, url, 'allow');
        const forged = new URL(location);
        forged.searchParams.set('state', 'another-state-value-0000');
        foreign = (await fetch(forged)).status;
        await fetch(location);
      })();
      return true;
    });
    expect(foreign).toBe(400);
    // The emulator's account has no provider: nothing was registered.
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('EntityNotExist.SAMLProvider');
    expect(r.stderr).toContain('pai-sso register apply');
    expect(r.stderr).toContain('If it does not open, visit');
    // The assertion is never printed.
    expect(r.stderr).not.toMatch(/PHNhbWxwOlJlc3BvbnNl/);
    const again = await run(['credentials', '--format', 'env'], home);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('pai-sso login --gateway');
  });

  it('a denial in the browser ends the command with exit 1', async () => {
    const { gateway, home } = await setup();
    const r = await run(['login', '--gateway', gateway], home, async (url) => {
      const g = gw!;
      void consent(g, url, 'deny').then((location) => fetch(location));
      return true;
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not allowed (access_denied)');
  });

  it('refuses a gateway that is not https (http only on loopback), and a bad duration', async () => {
    const home = await tempDir('pai-sso-client-');
    expect((await run(['login', '--gateway', 'http://sso.example.com'], home)).code).toBe(2);
    expect((await run(['login', '--gateway', 'https://sso.example.com', '--duration', '60'], home)).code).toBe(2);
    expect((await run(['login'], home)).stderr).toContain('--gateway');
    expect(gatewayUrl('https://sso.example.com/')).toBe('https://sso.example.com');
    expect(() => gatewayUrl('https://user:pw@sso.example.com')).toThrow(/plain base URL/);
  });
});

describe('credential formats', () => {
  const c = { accessKeyId: 'STS.abc', accessKeySecret: "se'cret", securityToken: 'CAIS+/=', expiration: '2030-01-01T00:00:00Z' };
  it('aliyun External mode JSON', () => {
    expect(JSON.parse(aliyunExternal(c))).toEqual({
      mode: 'StsToken',
      access_key_id: 'STS.abc',
      access_key_secret: "se'cret",
      sts_token: 'CAIS+/=',
    });
  });
  it('one export line, quoted for the shell', () => {
    expect(envExports(c)).toBe(
      `export ALIBABA_CLOUD_ACCESS_KEY_ID='STS.abc' ALIBABA_CLOUD_ACCESS_KEY_SECRET='se'\\''cret' ALIBABA_CLOUD_SECURITY_TOKEN='CAIS+/='\n`,
    );
  });
});
