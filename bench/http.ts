import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import { createFixture, PASSWORD, USERNAME } from './lib/fixture.js';
import { childPids, hasTaskset, httpRequest, login, procMemory, spawnServer, waitReady } from './lib/server.js';
import { median } from './lib/stats.js';
import { paced } from './lib/paced.js';
import { createVerifier } from './lib/verify.js';
import { REDIS_MISSING, startRedis, type RedisServer } from '../test/helpers/redis-server.js';

// pai-sso-http: GET /sso/pai with a signed-in session, end to end over loopback HTTP/1.1
// keep-alive, measured with autocannon. The server is the real CLI process pinned to CPU 0;
// this process (the load generator) is pinned to CPU 1 by bench/run.ts, so they never share
// a core. Then a second autocannon run at a fixed rate of half the measured maximum gives
// the p99 an operator sees at a comfortable load.

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    workers: { type: 'string', default: '1' },
    'server-cpus': { type: 'string', default: '0' },
    profile: { type: 'string' },
    // memory: the embedded default; redis: a redis-server started here (loopback), as replicas share it.
    store: { type: 'string', default: 'memory' },
  },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const workers = Number(values.workers);
// With workers the cluster needs both cores; pinning it to one would measure nothing.
const serverCpus = workers > 1 ? undefined : values['server-cpus'];

// Several workers need the shared store: memory is refused with workers > 1.
const store = workers > 1 ? 'redis' : values.store;
if (store !== 'memory' && store !== 'redis') throw new Error(`--store memory|redis, not ${store}`);
if (store === 'redis' && REDIS_MISSING) throw new Error(REDIS_MISSING);
// redis-server on the load generator's core: it is the store's own cost, not the gateway's.
const redis: RedisServer | undefined = store === 'redis' ? await startRedis() : undefined;
const fx = await createFixture({ ...(workers > 1 ? { workers } : {}), ...(redis ? { redisUrl: redis.url } : {}) });
const server = spawnServer({
  configPath: fx.configPath,
  port: fx.port,
  cpus: serverCpus,
  logFile: join(fx.dir, 'server.log'),
  nodeArgs: values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [],
});
try {
  await waitReady(server);
  const { status, cookie } = await login(server.base, USERNAME, PASSWORD);
  if (status !== 303) throw new Error(`login answered ${status}, expected 303`);
  const url = `${server.base}/sso/pai?target=pai`;

  // What we measure must be a real, verifiable hand-off page.
  const first = await httpRequest(url, { headers: { cookie } });
  const saml = /name="SAMLResponse" value="([^"]+)"/.exec(first.body)?.[1];
  if (first.status !== 200 || !saml) throw new Error(`GET /sso/pai answered ${first.status} without a SAMLResponse`);
  const check = await createVerifier(fx.config.idp.site, fx.keys.current.pem)(saml);
  if (!check.ok) throw new Error(`served SAMLResponse does not verify: ${check.reason}`);

  const cannon = (opts: { duration: number; overallRate?: number }): Promise<Result> =>
    autocannon({
      url,
      connections,
      duration: opts.duration,
      headers: { cookie },
      ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
    });
  const summary = (r: Result) => ({
    reqPerSec: r['2xx'] / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  });

  await cannon({ duration: 2 }); // JIT and connection warm-up, not reported
  const maxRuns = [];
  for (let i = 0; i < runs; i++) maxRuns.push(summary(await cannon({ duration: seconds })));
  const maxRate = median(maxRuns.map((r) => r.reqPerSec));
  const half = Math.max(1, Math.floor(maxRate / 2));
  const atHalf = summary(await cannon({ duration: seconds, overallRate: half }));
  // The same rate, evenly spaced (see lib/paced.ts for why autocannon's p99 is not that).
  const atHalfPaced = await paced({ url, headers: { cookie }, rate: half, seconds });

  const pids = [server.pid, ...childPids(server.pid)];
  const peakRssMb = pids.map((p) => procMemory(p)?.hwmMb ?? 0).reduce((a, b) => a + b, 0);
  const result = {
    name: workers > 1 ? `pai-sso-http (workers=${workers}, redis)` : store === 'redis' ? 'pai-sso-http (redis)' : 'pai-sso-http',
    runs: maxRuns,
    opsPerSec: maxRate,
    p50Ms: median(maxRuns.map((r) => r.p50Ms)),
    p99Ms: median(maxRuns.map((r) => r.p99Ms)),
    peakRssMb,
    halfRate: { target: half, ...atHalf },
    halfRatePaced: atHalfPaced,
    bad: maxRuns.reduce((s, r) => s + r.non2xx + r.errors, 0) + atHalf.non2xx + atHalf.errors + atHalfPaced.non2xx + atHalfPaced.errors,
    note: `autocannon ${connections} connections, keep-alive; server ${serverCpus !== undefined && hasTaskset() ? `pinned to CPU ${serverCpus}` : 'unpinned'}, ${workers} worker(s), ${store} store${redis ? " (redis-server on the load generator's CPU)" : ''}`,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  server.child.kill('SIGTERM');
  const code = await server.exited;
  if (code !== 0) process.stderr.write(`server exited with ${code}\n`);
  await fx.cleanup();
  await redis?.close();
}
