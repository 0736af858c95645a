import cluster from 'node:cluster';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.js';
import { loadOrCreateKeys, type KeyMaterial } from '../keys/store.js';
import { configuredKinds, createSources, mappingWarnings } from '../identity/sources.js';
import { bootstrapUsers } from '../identity/bootstrap.js';
import { announceFirstAdmin, suppliedAdminPassword } from './first-admin.js';
import { usableCpus } from './cpu-quota.js';
import { checkIdentitySettings } from '../identity/check.js';
import { ConfigError } from '../config/errors.js';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../server.js';
import { buildAdminServer } from '../http/admin-server.js';
import { parseListenAddress, readAdminToken } from '../config/admin-listener.js';
import { embeddedDefaultGroups } from '../config/embedded-default.js';
import { publicUrl } from '../saml/metadata.js';
import { createLogger } from '../logger.js';
import type { Config } from '../config/schema.js';
import type { CliIo } from './io.js';
import { createStore } from '../state/create.js';

export function keysFor(config: Config, warn: (m: string) => void): Promise<KeyMaterial> {
  return loadOrCreateKeys({
    dir: config.keys.dir,
    commonName: config.keys.commonName ?? new URL(config.server.baseUrl).hostname,
    certValidityDays: config.keys.certValidityDays,
    warn,
  });
}

/**
 * `auto` is one process per core the container may use (cgroup CPU quota), except with the memory store: its state is per process,
 * so several workers would each keep their own sessions and counters. Then it is 1 (and
 * serve says why); a number above 1 with memory is refused by config validation.
 */
export function workerCount(config: Config, cpus: () => number = usableCpus): number {
  if (config.server.workers !== 'auto') return config.server.workers;
  return config.state.store === 'memory' ? 1 : cpus();
}

const publicRoot = (config: Config) => publicUrl(config.server.baseUrl, '/');

/** host:port the admin listener is bound to (the real port when the config says 0). */
function adminAddress(admin: FastifyInstance): string {
  const a = admin.server.address();
  return typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : String(a);
}

/** Resolves with the exit code once SIGTERM/SIGINT has been handled by `stop`. */
function onSignal(stop: (signal: string) => Promise<number>): Promise<number> {
  return new Promise<number>((resolve) => {
    let closing = false;
    const handle = (signal: string) => {
      if (closing) return;
      closing = true;
      stop(signal).then(resolve, () => resolve(1));
    };
    process.once('SIGTERM', () => handle('SIGTERM'));
    process.once('SIGINT', () => handle('SIGINT'));
  });
}

/** One-time work that must not race between workers: keys, the first user. */
async function prepare(loaded: LoadedConfig, io: CliIo, log: Logger): Promise<KeyMaterial> {
  const { config } = loaded;
  // Settings the identity sources would refuse: before anything is written to disk.
  const problems = await checkIdentitySettings(config, io.env);
  if (problems.length > 0) throw new ConfigError(loaded.path, problems);
  readAdminToken(config.server, io.env, loaded.path);
  if (loaded.embedded)
    log.warn(
      { config: loaded.path },
      'no config/gateway.yaml: serving the embedded default (copy config/gateway.example.yaml to change it)',
    );
  for (const w of loaded.warnings ?? []) log.warn(w);
  const keys = await keysFor(config, (m) => log.warn(m));
  for (const f of keys.created) log.info({ file: f }, 'created');

  // Only what the embedded default maps, whatever this config maps (config/embedded-default.ts).
  const groups = await embeddedDefaultGroups();
  const usersFile = config.identity.local.usersFile;
  const first = configuredKinds(config).includes('local')
    ? await bootstrapUsers(usersFile, groups, () => suppliedAdminPassword(io.env))
    : undefined;
  if (first) await announceFirstAdmin(first, { usersFile, groups, io, log });
  return keys;
}

/** Builds and starts one server in this process; resolves to a stop function. */
async function startServer(config: Config, keys: KeyMaterial, io: CliIo, log: Logger, announce: boolean): Promise<() => Promise<void>> {
  const sources = await createSources(config, {
    env: io.env,
    onReload: (kind, detail) => log.info({ source: kind, detail }, 'identity source reloaded'),
    onError: (kind, err) => log.error({ source: kind, err: { message: err.message } }, 'identity source error'),
  });
  if (announce) for (const w of mappingWarnings(config, sources)) log.warn(w);
  const store = await createStore(config.state, {
    env: io.env,
    onError: (err) =>
      log.error(
        { store: config.state.store, err: { message: err.message } },
        'state store unreachable: refusing sign-ins and assertions (503) until it is back',
      ),
    onReady: () => log.info({ store: config.state.store }, 'state store reachable again'),
  });
  let app;
  let admin;
  try {
    const adminToken = readAdminToken(config.server, io.env, 'config');
    app = await buildServer({ config, keys, sources, logger: log, store, adminToken });
    if (config.server.adminListen !== undefined) admin = await buildAdminServer(app);
    await app.listen({ host: config.server.host, port: config.server.port });
    if (config.server.adminListen !== undefined) await admin?.listen(parseListenAddress(config.server.adminListen));
  } catch (err) {
    await admin?.close();
    await app?.close();
    await store.close();
    throw err;
  }
  const started = app;
  const startedAdmin = admin;
  if (announce) {
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.server.port;
    log.info(
      {
        url: publicRoot(config),
        listen: `${config.server.host}:${port}`,
        site: config.idp.site,
        entityId: config.idp.entityId,
        cert: keys.current.sha256,
        workers: workerCount(config),
        host: hostname(),
        ...(startedAdmin ? { admin: adminAddress(startedAdmin) } : {}),
      },
      `pai-sso ready: open ${publicRoot(config)}`,
    );
  }
  // Drain first: balancers see /readyz fail and clients are told to reconnect elsewhere,
  // while connections already queued in the kernel still get answers. Then close()
  // stops accepting and waits for in-flight requests.
  return async () => {
    started.drain();
    await new Promise((resolve) => setTimeout(resolve, config.server.shutdownGraceSeconds * 1000));
    await started.close();
    await startedAdmin?.close();
    await store.close();
  };
}

/**
 * Starts the gateway and resolves when it has shut down cleanly after a signal. With
 * `server.workers` > 1 the primary prepares keys and users once, then forks workers
 * that share the listening socket (node:cluster). Sessions are sealed cookies and the
 * session key is on disk, so any worker can serve any request.
 */
export async function serve(loaded: LoadedConfig, io: CliIo): Promise<number> {
  const { config } = loaded;
  const workers = workerCount(config);

  if (cluster.isWorker) {
    const log = createLogger(config.log.level).child({ worker: cluster.worker?.id });
    const keys = await keysFor(config, () => {});
    const stop = await startServer(config, keys, io, log, false);
    process.send?.({ type: 'pai-sso:listening' });
    return onSignal(async () => {
      await stop();
      // The IPC channel to the primary would keep this process alive forever. Typed as always
      // there, but Node leaves process.disconnect undefined in a process without an IPC channel.
      (process as { disconnect?: () => void }).disconnect?.();
      return 0;
    });
  }

  const log = createLogger(config.log.level);
  if (config.server.workers === 'auto' && config.state.store === 'memory' && usableCpus() > 1) {
    log.info(
      { workers: 1 },
      'server.workers auto: 1 worker, because state.store is memory (per process); use state.store: redis for one worker per core',
    );
  }
  const keys = await prepare(loaded, io, log);
  if (workers <= 1) {
    const stop = await startServer(config, keys, io, log, true);
    return onSignal(async (signal) => {
      log.info({ signal }, 'shutting down: finishing in-flight requests');
      await stop();
      return 0;
    });
  }
  return runPrimary(config, keys, workers, log);
}

async function runPrimary(config: Config, keys: KeyMaterial, workers: number, log: Logger): Promise<number> {
  let stopping = false;
  const fork = () =>
    new Promise<void>((resolve, reject) => {
      const w = cluster.fork();
      w.once('message', (m: { type?: string }) => m.type === 'pai-sso:listening' && resolve());
      w.once('exit', (code) => reject(new Error(`worker exited with code ${code} before listening`)));
    });
  await Promise.all(Array.from({ length: workers }, fork));
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log.error({ worker: worker.id, code, signal }, 'worker died; starting a new one');
    fork().catch((err: unknown) => log.error({ err: { message: (err as Error).message } }, 'replacement worker failed'));
  });
  log.info(
    {
      url: publicRoot(config),
      listen: `${config.server.host}:${config.server.port}`,
      site: config.idp.site,
      entityId: config.idp.entityId,
      cert: keys.current.sha256,
      workers,
      host: hostname(),
    },
    `pai-sso ready: open ${publicRoot(config)}`,
  );
  return onSignal(async (signal) => {
    stopping = true;
    log.info({ signal, workers }, 'shutting down: workers finish in-flight requests');
    const all = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
    const codes = await Promise.all(
      all.map(
        (w) =>
          new Promise<number>((resolve) => {
            // Typed as a number, but null when a signal ended the worker (Node's cluster docs).
            w.once('exit', (code: number | null) => resolve(code ?? 1));
            w.process.kill('SIGTERM');
          }),
      ),
    );
    return codes.every((c) => c === 0) ? 0 : 1;
  });
}
