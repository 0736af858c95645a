// Helpers for the browser tests: a real gateway on a loopback port, built from the
// same modules `pai-sso serve` uses, and Debian's Chromium driven by playwright-core.

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { stringify } from 'yaml';
import { buildServer } from '../../src/server.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config, Site } from '../../src/config/schema.js';
import type { KeyMaterial } from '../../src/keys/store.js';
import { createLocalSource } from '../../src/identity/local.js';
import type { IdentitySources } from '../../src/identity/sources.js';
import { createLogger } from '../../src/logger.js';
import { captureLogs, fixtureKeys, freePort, localFiles, tempDir, writeFixtureUsers } from '../helpers/fixture.js';

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
  // localhost too: WebAuthn needs a host name (the passkey test's gateway is http://localhost:PORT).
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
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

/**
 * Starts a gateway on 127.0.0.1. `config` is the YAML document minus what this helper
 * fills in (server, keys, identity, log); it goes through parseConfig like a real file.
 */
export async function startGateway(opts: {
  readonly site: Site;
  readonly config: Record<string, unknown>;
  readonly users: Readonly<Record<string, TestUser>>;
  /** The host of server.baseUrl (still listening on 127.0.0.1): WebAuthn needs a name, not an IP address. */
  readonly host?: 'localhost';
}): Promise<Gateway> {
  const dir = await tempDir('pai-sso-e2e-');
  let app: FastifyInstance | undefined;
  try {
    const port = await freePort();
    const baseUrl = `http://${opts.host ?? '127.0.0.1'}:${port}`;
    const doc = {
      server: { baseUrl, host: '127.0.0.1', port },
      ...localFiles(dir),
      log: { level: 'info' },
      ...opts.config,
      idp: { ...(opts.config['idp'] as Record<string, unknown> | undefined), site: opts.site },
    };
    const config = parseConfig(stringify(doc), `e2e-${opts.site}.yaml`);
    await writeFixtureUsers(config.identity.local.usersFile, opts.users);
    const keys = await fixtureKeys(config.keys.dir);
    const logs = captureLogs();
    const local = await createLocalSource({ usersFile: config.identity.local.usersFile });
    // What createSources() builds for `identity.source: local`, spelled out so this test
    // does not load every other identity source's module.
    const sources: IdentitySources = { password: [local], redirect: [], request: undefined, all: [local] };
    app = await buildServer({ config, keys, sources, logger: createLogger(config.log.level, logs.sink) });
    await app.listen({ host: '127.0.0.1', port });
    const started = app;
    return {
      url: baseUrl,
      config,
      keys,
      get logs() {
        return logs.records();
      },
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
