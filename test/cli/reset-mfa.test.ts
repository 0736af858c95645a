import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../src/cli.js';
import { base32Decode, totp } from '../../src/mfa/totp.js';
import { baseConfig, hiddenField, login, request, startGateway, type TestGateway } from '../helpers/gateway.js';

const PASSWORD = 'correct horse battery';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function run(configPath: string, args: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(['--config', configPath, ...args], { stdout, stderr, stdin: new PassThrough(), env: { USER: 'helpdesk-bob' } });
  return { code, out, err };
}

describe('pai-sso user reset-mfa', () => {
  it('removes the enrolment of a user who lost their phone, with an audit line; their next sign-in is password only', async () => {
    gw = await startGateway({ users: { alice: { password: PASSWORD, groups: ['ml'] }, carol: { password: PASSWORD, groups: ['ml'] } } });
    for (const name of ['alice', 'carol']) {
      const { jar } = await login(gw, name, PASSWORD);
      const page = await request(gw, jar, 'GET', '/account/security');
      const csrf = hiddenField(page.body, 'csrf');
      const setup = await request(gw, jar, 'POST', '/account/security/totp/begin', { csrf });
      const secret = base32Decode(/<code id="totp-secret">([^<]+)<\/code>/.exec(setup.body)?.[1] ?? '')!;
      expect((await request(gw, jar, 'POST', '/account/security/totp', { csrf, code: totp(secret, gw.clock.now) })).statusCode).toBe(200);
    }
    expect((await login(gw, 'alice', PASSWORD)).res.headers.location).toBe('/login/mfa');
    const dir = join(gw.dir, 'mfa');
    expect(await readdir(dir)).toHaveLength(2);

    const configPath = join(gw.dir, 'gateway.yaml');
    await writeFile(
      configPath,
      stringify({
        ...baseConfig(),
        keys: { dir: join(gw.dir, 'certs') },
        identity: { local: { usersFile: gw.config.identity.local.usersFile } },
      }),
    );
    const reset = await run(configPath, ['user', 'reset-mfa', 'alice']);
    expect(reset.code).toBe(0);
    expect(reset.out).toContain('reset the second factor of alice (local)');
    const line = JSON.parse(reset.err.trim().split('\n').at(-1)!);
    expect(line).toMatchObject({ audit: 'mfa.reset', by: 'admin', operator: 'helpdesk-bob', user: 'alice', source: 'local' });
    expect(await readdir(dir)).toHaveLength(1);

    // At once, without a restart: alice signs in with her password and may enrol again; carol still has hers.
    const after = await login(gw, 'alice', PASSWORD);
    expect(after.res.headers.location).toBe('/');
    expect((await login(gw, 'carol', PASSWORD)).res.headers.location).toBe('/login/mfa');

    const again = await run(configPath, ['user', 'reset-mfa', 'alice']);
    expect(again.code).toBe(1);
    expect(again.err).toContain('alice has no second factor enrolled');
    expect((await run(configPath, ['user', 'reset-mfa'])).code).toBe(2);
    expect((await run(configPath, ['user', 'reset-mfa', 'carol', '--source', 'oidc'])).code).toBe(2);
  });
});
