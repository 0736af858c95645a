import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../src/cli.js';
import { generateSigningPair } from '../../src/keys/generate.js';
import { baseConfig } from '../helpers/gateway.js';

// `pai-sso check` runs the identity sources' start-up checks (settings, files, environment
// variables) that `serve` runs when it builds them, and exits 2 on each; it never connects.

let dir: string;
let configPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pai-sso-check-'));
  configPath = join(dir, 'gateway.yaml');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const SECRETS = {
  PAI_SSO_LDAP_BIND_PASSWORD: 'bind-secret',
  PAI_SSO_OIDC_CLIENT_SECRET: 'client-secret',
  PAI_SSO_PROXY_SECRET: 'a-proxy-secret-of-16+',
};

async function run(command: string, identity: Record<string, unknown>, env: NodeJS.ProcessEnv = SECRETS) {
  await writeFile(
    configPath,
    stringify(
      baseConfig({
        server: { baseUrl: 'http://127.0.0.1:0', port: 0, workers: 1 },
        log: { level: 'error' },
        keys: { dir: join(dir, 'certs') },
        identity,
      }),
    ),
  );
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(['--config', configPath, command], { stdout, stderr, stdin: new PassThrough(), env });
  return { code, out, err };
}

const ldap = (over: Record<string, unknown> = {}) => ({
  url: 'ldap://127.0.0.1:1',
  bindDN: 'cn=gw,dc=corp',
  userBase: 'ou=people,dc=corp',
  ...over,
});
const oidc = (over: Record<string, unknown> = {}) => ({ issuer: 'https://idp.example.test', clientId: 'pai-sso', ...over });
const saml = (over: Record<string, unknown> = {}) => ({
  entryPoint: 'https://idp.example.test/sso',
  idpIssuer: 'https://idp.example.test',
  ...over,
});

describe('pai-sso check: identity source settings', () => {
  it('exits 2 on an LDAP userFilter without {username}, naming the key', async () => {
    const res = await run('check', { source: 'ldap', ldap: ldap({ userFilter: '(uid=alice)' }) });
    expect(res.code).toBe(2);
    expect(res.err).toContain(`invalid config ${configPath}`);
    expect(res.err).toContain('identity.ldap.userFilter: must contain {username}');
    expect(res.out).toBe('');
  });

  it('exits 2 on an OIDC issuer that is not an absolute https URL', async () => {
    const bad = await run('check', { source: 'oidc', oidc: oidc({ issuer: 'idp.example.test' }) });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('identity.oidc.issuer: must be an absolute URL');
    const plain = await run('check', { source: 'oidc', oidc: oidc({ issuer: 'http://idp.example.test' }) });
    expect(plain.code).toBe(2);
    expect(plain.err).toContain('identity.oidc.issuer: must be https');
  });

  it('exits 2 on an unreadable upstream SAML IdP certificate file', async () => {
    const res = await run('check', { source: 'saml', saml: saml({ idpCertFile: join(dir, 'missing.pem') }) });
    expect(res.code).toBe(2);
    expect(res.err).toContain(`identity.saml.idpCertFile: cannot read ${join(dir, 'missing.pem')}: ENOENT`);
  });

  it('lists every problem of every configured source at once, secrets never echoed', async () => {
    const res = await run(
      'check',
      {
        source: ['ldap', 'oidc', 'header'],
        ldap: ldap({ caFile: join(dir, 'ca.pem') }),
        oidc: oidc(),
        header: { trustedSources: ['10.0.0.0/8', 'proxy.internal'] },
      },
      { PAI_SSO_PROXY_SECRET: 'short' },
    );
    expect(res.code).toBe(2);
    for (const path of [
      'identity.ldap.caFile',
      'identity.ldap.bindPasswordEnv',
      'identity.oidc.clientSecretEnv',
      'identity.header.secretEnv',
      'identity.header.trustedSources.1',
    ]) {
      expect(res.err).toContain(`  ${path}: `);
    }
    expect(res.err).not.toContain('short');
  });

  it('serve refuses the same config with exit 2 before listening', async () => {
    const res = await run('serve', { source: 'ldap', ldap: ldap({ userFilter: '(uid=alice)' }) });
    expect(res.code).toBe(2);
    expect(res.err).toContain('identity.ldap.userFilter: must contain {username}');
  });

  describe('with every upstream pointed at a listener that counts connections', () => {
    let server: Server;
    let connections = 0;
    let port = 0;
    beforeEach(async () => {
      connections = 0;
      server = createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
    });
    afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('says ok for a good config and opens no network connection', async () => {
      const { certPem } = await generateSigningPair('idp.example.test', 30);
      const res = await run('check', {
        source: ['ldap', 'oidc', 'saml'],
        ldap: ldap({ url: `ldap://127.0.0.1:${port}` }),
        oidc: oidc({ issuer: `http://127.0.0.1:${port}/realm` }),
        saml: saml({ entryPoint: `http://127.0.0.1:${port}/sso`, idpCertPem: certPem }),
      });
      expect(res.err).toBe('');
      expect(res.code).toBe(0);
      expect(res.out).toContain(': ok (site cn');
      // Give any stray connect a moment to land before counting.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(connections).toBe(0);
    });
  });
});
