// Helpers for the browser tests: a real gateway on a loopback port, built from the
// same modules `pai-sso serve` uses, and Debian's Chromium driven by playwright-core.

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { stringify } from 'yaml';
import { buildServer } from '../../src/server.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config, Site } from '../../src/config/schema.js';
import { loadOrCreateKeys, type KeyMaterial } from '../../src/keys/store.js';
import { hashPassword } from '../../src/identity/password.js';
import { writeUsers, type UsersDocument } from '../../src/identity/users-file.js';
import { createLocalSource } from '../../src/identity/local.js';
import type { IdentitySources } from '../../src/identity/sources.js';
import { createLogger } from '../../src/logger.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Set to 1 to skip the browser tests on a machine without Chromium. */
export const SKIP_BROWSER = process.env['PAI_SSO_SKIP_BROWSER'] === '1';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Belt and braces next to route interception: any name other than the loopback
  // address fails to resolve, so nothing Chromium does on its own can reach out either.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

/** Fails loudly (never skips) when the browser is missing; see SKIP_BROWSER. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}: the end-to-end browser test needs Debian's chromium package ` +
        '(.ci/run installs it with apt; playwright never downloads a browser). ' +
        'Set PAI_SSO_SKIP_BROWSER=1 to skip this test deliberately.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

export interface TestUser {
  readonly password: string;
  readonly id: string;
  readonly displayName: string;
  readonly groups: readonly string[];
}

export interface Gateway {
  readonly url: string;
  readonly config: Config;
  readonly keys: KeyMaterial;
  /** Parsed JSON lines the gateway logged (audit events included). */
  readonly logs: readonly Record<string, unknown>[];
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts a gateway on 127.0.0.1. `config` is the YAML document minus what this helper
 * fills in (server, keys, identity, log); it goes through parseConfig like a real file.
 */
export async function startGateway(opts: {
  readonly site: Site;
  readonly config: Record<string, unknown>;
  readonly users: Readonly<Record<string, TestUser>>;
}): Promise<Gateway> {
  const dir = await mkdtemp(join(tmpdir(), 'pai-sso-e2e-'));
  let app: FastifyInstance | undefined;
  try {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const usersFile = join(dir, 'users.yaml');
    const doc = {
      server: { baseUrl, host: '127.0.0.1', port },
      keys: { dir: join(dir, 'certs'), commonName: 'pai-sso-e2e', certValidityDays: 2 },
      identity: { source: 'local', local: { usersFile } },
      log: { level: 'info' },
      ...opts.config,
      idp: { ...(opts.config['idp'] as Record<string, unknown> | undefined), site: opts.site },
    };
    const config = parseConfig(stringify(doc), `e2e-${opts.site}.yaml`);

    const stored: UsersDocument = {};
    for (const [name, u] of Object.entries(opts.users)) {
      stored[name] = {
        id: u.id,
        displayName: u.displayName,
        groups: [...u.groups],
        // Low cost so a login takes milliseconds; the format is the real one.
        passwordHash: await hashPassword(u.password, { N: 2 ** 12, r: 8, p: 1 }),
      };
    }
    await writeUsers(usersFile, stored);

    const keys = await loadOrCreateKeys({ dir: config.keys.dir, commonName: 'pai-sso-e2e', certValidityDays: config.keys.certValidityDays });
    const logs: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const local = await createLocalSource({ usersFile: config.identity.local.usersFile });
    // What createSources() builds for `identity.source: local`, spelled out so this test
    // does not load every other identity source's module.
    const sources: IdentitySources = { password: [local], redirect: [], request: undefined, all: [local] };
    app = await buildServer({ config, keys, sources, logger: createLogger(config.log.level, sink) });
    await app.listen({ host: '127.0.0.1', port });
    const started = app;
    return {
      url: baseUrl,
      config,
      keys,
      logs,
      async close() {
        await started.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
