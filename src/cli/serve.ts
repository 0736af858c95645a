import { hostname } from 'node:os';
import type { LoadedConfig } from '../config/load.js';
import { loadOrCreateKeys, type KeyMaterial } from '../keys/store.js';
import { configuredKinds, createSources, mappingWarnings } from '../identity/sources.js';
import { bootstrapUsers } from '../identity/bootstrap.js';
import { buildServer } from '../server.js';
import { createLogger } from '../logger.js';
import type { Config } from '../config/schema.js';
import type { CliIo } from './io.js';

export function keysFor(config: Config, warn: (m: string) => void): Promise<KeyMaterial> {
  return loadOrCreateKeys({
    dir: config.keys.dir,
    commonName: config.keys.commonName ?? new URL(config.server.baseUrl).hostname,
    certValidityDays: config.keys.certValidityDays,
    warn,
  });
}

/** Starts the gateway and resolves when it has shut down cleanly after a signal. */
export async function serve(loaded: LoadedConfig, io: CliIo): Promise<number> {
  const { config } = loaded;
  const log = createLogger(config.log.level);
  if (loaded.embedded) log.warn({ config: loaded.path }, 'no config/gateway.yaml: serving the embedded default (copy config/gateway.example.yaml to change it)');

  const keys = await keysFor(config, (m) => log.warn(m));
  for (const f of keys.created) log.info({ file: f }, 'created');

  const groups = [...new Set(config.mappings.map((m) => m.group))];
  const usesLocal = configuredKinds(config).includes('local');
  const first = usesLocal ? await bootstrapUsers(config.identity.local.usersFile, groups) : undefined;
  if (first) {
    // Straight to the terminal, not through the logger: log pipelines keep what they get.
    io.stderr.write(
      `\n  First start: created user "${first.username}" (groups: ${groups.join(', ')}) in ${config.identity.local.usersFile}.\n` +
        `  Password (shown once): ${first.password}\n` +
        `  Add more users with: pai-sso user add NAME --groups ${groups[0] ?? 'GROUP'}\n\n`,
    );
  }

  const sources = await createSources(config, {
    env: io.env,
    onReload: (kind, detail) => log.info({ source: kind, detail }, 'identity source reloaded'),
    onError: (kind, err) => log.error({ source: kind, err: { message: err.message } }, 'identity source reload failed; keeping the previous state'),
  });
  for (const w of mappingWarnings(config, sources)) log.warn(w);
  const app = await buildServer({ config, keys, sources, logger: log });
  await app.listen({ host: config.server.host, port: config.server.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.server.port;
  log.info(
    { url: `${config.server.baseUrl.replace(/\/+$/, '')}/`, listen: `${config.server.host}:${port}`, site: config.idp.site, entityId: config.idp.entityId, cert: keys.current.sha256, host: hostname() },
    `pai-sso ready: open ${config.server.baseUrl.replace(/\/+$/, '')}/`,
  );

  return new Promise<number>((resolve) => {
    let closing = false;
    const stop = (signal: string) => {
      if (closing) return;
      closing = true;
      log.info({ signal }, 'shutting down: finishing in-flight requests');
      app.close().then(
        () => resolve(0),
        (err: Error) => {
          log.error({ err: { message: err.message } }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
