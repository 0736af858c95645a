import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ldapts';

/**
 * A real OpenLDAP (Debian's slapd) on loopback for one test file: temp config and mdb
 * database, the memberof overlay, optional TLS with a CA made by openssl on the spot.
 */

const run = promisify(execFile);
export const SLAPD = '/usr/sbin/slapd';
export const SUFFIX = 'dc=corp,dc=test';
export const ROOT_DN = `cn=admin,${SUFFIX}`;

export interface Slapd {
  /** ldap:// (StartTLS available when started with tls) */
  readonly url: string;
  /** ldaps://, when started with tls */
  readonly ldapsUrl: string | undefined;
  /** PEM file of the CA that signed the server certificate */
  readonly caFile: string | undefined;
  readonly dir: string;
  readonly rootPassword: string;
  /** slapd's operation log so far (stats level: one SRCH line per search, with its filter as received). */
  log(): string;
  /** A client bound as the rootdn, for seeding. */
  admin(): Promise<Client>;
  stop(): Promise<void>;
}

export { freePort } from '../helpers/fixture.js';
import { freePort } from '../helpers/fixture.js';

async function waitForPort(port: number, child: ChildProcess, deadlineMs: number, log: () => string): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`slapd did not listen on ${port}: ${log()}`);
}

async function makeCerts(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=pai-sso test CA']);
  await run('openssl', ['req', ...ec, '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1']);
  await writeFile(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return { ca, cert, key };
}

export async function startSlapd(opts: { tls?: boolean } = {}): Promise<Slapd> {
  const dir = await mkdtemp(join(tmpdir(), 'pai-sso-slapd-'));
  await mkdir(join(dir, 'db'));
  const rootPassword = `root-${Math.random().toString(36).slice(2)}`;
  const certs = opts.tls ? await makeCerts(dir) : undefined;
  const conf = [
    ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include /etc/ldap/schema/${s}.schema`),
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'moduleload memberof',
    `pidfile ${join(dir, 'slapd.pid')}`,
    // Many directories accept a simple bind with a DN and an empty password as an
    // anonymous bind. This one is told to, so the source's own refusal is what is tested.
    'allow bind_anon_dn',
    ...(certs ? [`TLSCACertificateFile ${certs.ca}`, `TLSCertificateFile ${certs.cert}`, `TLSCertificateKeyFile ${certs.key}`] : []),
    'database mdb',
    `suffix "${SUFFIX}"`,
    `rootdn "${ROOT_DN}"`,
    `rootpw ${rootPassword}`,
    `directory ${join(dir, 'db')}`,
    'maxsize 16777216',
    'index objectClass eq',
    'index uid eq',
    'index member eq',
    'overlay memberof',
  ].join('\n');
  const confFile = join(dir, 'slapd.conf');
  await writeFile(confFile, `${conf}\n`);

  const port = await freePort();
  const ldapsPort = certs ? await freePort() : undefined;
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = ldapsPort ? `ldaps://127.0.0.1:${ldapsPort}` : undefined;
  // 127.0.0.2 too: a name the certificate does not carry, for hostname-check tests.
  const listen = [`${url}/`, `ldap://127.0.0.2:${port}/`, ...(ldapsUrl ? [`${ldapsUrl}/`] : [])].join(' ');
  const child = spawn(SLAPD, ['-f', confFile, '-h', listen, '-d', 'stats'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitForPort(port, child, 10_000, () => stderr);
    if (ldapsPort) await waitForPort(ldapsPort, child, 10_000, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    url,
    ldapsUrl,
    caFile: certs?.ca,
    dir,
    rootPassword,
    log: () => stderr,
    async admin() {
      const c = new Client({ url, timeout: 5000, connectTimeout: 5000 });
      await c.bind(ROOT_DN, rootPassword);
      return c;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
