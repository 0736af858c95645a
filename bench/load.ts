import { spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFixture, PASSWORD, USERNAME } from './lib/fixture.js';
import { csrfOf, hasTaskset, httpRequest, login, metricValue, procMemory, spawnServer, TASKSET, tail, waitReady } from './lib/server.js';
import { fmt, median, slope } from './lib/stats.js';
import { createVerifier } from './lib/verify.js';

// npm run load: a soak against the real CLI process. One login, then a closed loop of
// "Open PAI" (GET /sso/pai) mixed with failed logins (401) and unknown targets (404).
// Checks: no 5xx, no connection errors, every sampled SAMLResponse verifies with node-saml,
// RSS flat after warm-up, event-loop p99 reported, and SIGTERM under load finishes every
// in-flight request with a non-5xx answer and exits 0. Exits 1 when any check fails.

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: process.env['PAI_SSO_LOAD_SECONDS'] ?? '300' },
    concurrency: { type: 'string', default: '8' },
    'fail-share': { type: 'string', default: '0.05' },
    'unknown-share': { type: 'string', default: '0.05' },
    'sample-every': { type: 'string', default: '200' },
    warmup: { type: 'string' },
    burst: { type: 'string', default: '32' },
  },
});

// The load generator goes on CPU 1 and the server on CPU 0, as in bench/http.ts.
if (hasTaskset() && !process.env['PAI_SSO_LOAD_PINNED']) {
  const r = spawnSync(TASKSET, ['-c', '1', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, PAI_SSO_LOAD_PINNED: '1' },
  });
  process.exit(r.status ?? 1);
}

const duration = Number(values.duration);
const concurrency = Number(values.concurrency);
const failShare = Number(values['fail-share']);
const unknownShare = Number(values['unknown-share']);
const sampleEvery = Number(values['sample-every']);
// Warm-up: JIT, pools and heap growth settle; RSS is judged only after it.
const warmup = values.warmup !== undefined ? Number(values.warmup) : Math.min(60, Math.round(duration * 0.2));

const fx = await createFixture();
const logFile = join(fx.dir, 'server.log');
const server = spawnServer({ configPath: fx.configPath, port: fx.port, cpus: hasTaskset() ? '0' : undefined, logFile });
const verify = createVerifier(fx.config.idp.site, fx.keys.current.pem);
await waitReady(server);
const { status: loginStatus, cookie } = await login(server.base, USERNAME, PASSWORD);
if (loginStatus !== 303) throw new Error(`login answered ${loginStatus}`);

const agent = new Agent({ keepAlive: true, maxSockets: 128 });
const counts = {
  requests: 0,
  ok: 0,
  s4xx: 0,
  s5xx: 0,
  unexpected: 0,
  connErrors: 0,
  sso: 0,
  failedLogins: 0,
  unknownTargets: 0,
  sampled: 0,
  verified: 0,
  verifyFailed: 0,
};
const problems: string[] = [];
const note = (m: string) => problems.length < 20 && problems.push(m);

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}
/** One request on the shared keep-alive agent; `written` fires once the request left this process. */
function send(
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
  written?: (reused: boolean) => void,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.base}${path}`, { agent, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (written) req.on('finish', () => written(req.reusedSocket));
    req.end(opts.body);
  });
}

function record(kind: string, status: number, expected: number): void {
  counts.requests++;
  if (status >= 500) {
    counts.s5xx++;
    note(`${kind}: ${status}`);
  } else if (status >= 400) counts.s4xx++;
  else counts.ok++;
  if (status !== expected) {
    counts.unexpected++;
    note(`${kind}: got ${status}, expected ${expected}`);
  }
}

async function openPai(): Promise<void> {
  const res = await send('/sso/pai?target=pai', { headers: { cookie } });
  record('sso', res.status, 200);
  counts.sso++;
  if (res.status === 200 && counts.sso % sampleEvery === 0) {
    counts.sampled++;
    const saml = /name="SAMLResponse" value="([^"]+)"/.exec(res.body)?.[1];
    const v = saml ? await verify(saml) : { ok: false as const, reason: 'no SAMLResponse in page' };
    if (v.ok) counts.verified++;
    else {
      counts.verifyFailed++;
      note(`verify: ${v.reason}`);
    }
  }
}

async function failedLogin(): Promise<void> {
  // A fresh browser: the login-flow cookie and csrf come from GET /login.
  const page = await send('/login?returnTo=%2F');
  record('login-page', page.status, 200);
  const flow = ([] as string[])
    .concat(page.headers['set-cookie'] ?? [])
    .map((c) => c.split(';')[0])
    .join('; ');
  const body = new URLSearchParams({ username: USERNAME, password: 'wrong password', csrf: csrfOf(page.body) }).toString();
  const res = await send('/login', {
    method: 'POST',
    body,
    headers: { cookie: flow, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)) },
  });
  record('failed-login', res.status, 401);
  counts.failedLogins++;
}

async function unknownTarget(): Promise<void> {
  const res = await send(`/sso/pai?target=nope-${counts.requests % 97}`, { headers: { cookie } });
  record('unknown-target', res.status, 404);
  counts.unknownTargets++;
}

function pick(): () => Promise<void> {
  const r = Math.random();
  return r < failShare ? failedLogin : r < failShare + unknownShare ? unknownTarget : openPai;
}

// ---- monitors: RSS every second, /metrics (event-loop p99 per scrape window) every 5 s ----
const t0 = Date.now();
const rss: { t: number; mb: number }[] = [];
const loopP99: { t: number; ms: number }[] = [];
const rssTimer = setInterval(() => {
  const m = procMemory(server.pid);
  if (m) rss.push({ t: (Date.now() - t0) / 1000, mb: m.rssMb });
}, 1000);
// prom-client resets the event-loop histogram on every scrape, so each value covers one window.
const metricsTimer = setInterval(() => {
  httpRequest(`${server.base}/metrics`, { agent })
    .then((r) => {
      const v = metricValue(r.body, 'pai_sso_nodejs_eventloop_lag_p99_seconds');
      if (v !== undefined && Number.isFinite(v)) loopP99.push({ t: (Date.now() - t0) / 1000, ms: v * 1000 });
    })
    .catch(() => {});
}, 5000);

const deadline = t0 + duration * 1000;
let lastReport = t0;
async function worker(): Promise<void> {
  while (Date.now() < deadline) {
    try {
      await pick()();
    } catch (err) {
      counts.connErrors++;
      note(`connection: ${(err as Error).message}`);
    }
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      const last = rss.at(-1);
      process.stderr.write(
        `  ${Math.round((lastReport - t0) / 1000)} s: ${counts.requests} requests, ${counts.s5xx} 5xx, ${counts.connErrors} errors, RSS ${fmt(last?.mb ?? Number.NaN)} MB\n`,
      );
    }
  }
}
process.stderr.write(
  `load: ${duration} s, ${concurrency} connections, ${failShare * 100}% failed logins, ${unknownShare * 100}% unknown targets, warm-up ${warmup} s\n`,
);
await Promise.all(Array.from({ length: concurrency }, worker));
const soakSeconds = (Date.now() - t0) / 1000;
clearInterval(rssTimer);
clearInterval(metricsTimer);

// ---- graceful shutdown under load: a burst in flight, then SIGTERM ----
const burst = Number(values.burst);
let answeredBeforeSignal = 0;
let signalled = false;
let flushed = 0;
let allFlushed!: () => void;
const flushedAll = new Promise<void>((r) => (allFlushed = r));
const shutdown = {
  inFlight: 0,
  completed: 0,
  non5xx: 0,
  s5xx: 0,
  dropped: 0,
  droppedOnKeepAlive: 0,
  exitCode: Number.NaN,
  answeredBeforeSignal: 0,
};
const inflight = Array.from({ length: burst }, () => {
  // Keep-alive sockets the server already accepted vs connections still in its accept queue.
  let reused = false;
  return send('/sso/pai?target=pai', { headers: { cookie } }, (r) => {
    reused = r;
    if (++flushed === burst) allFlushed();
  })
    .then((res) => {
      if (!signalled) answeredBeforeSignal++;
      shutdown.completed++;
      if (res.status >= 500) shutdown.s5xx++;
      else shutdown.non5xx++;
    })
    .catch((err: unknown) => {
      shutdown.dropped++;
      if (reused) shutdown.droppedOnKeepAlive++;
      note(`shutdown: ${(err as Error).message}${reused ? ' (keep-alive socket)' : ' (new connection)'}`);
    });
});
// Signal once every request has left this process, so each one is genuinely in flight.
await Promise.race([flushedAll, new Promise((r) => setTimeout(r, 1000))]);
signalled = true;
server.child.kill('SIGTERM');
await Promise.all(inflight);
shutdown.answeredBeforeSignal = answeredBeforeSignal;
shutdown.inFlight = burst - answeredBeforeSignal;
shutdown.exitCode = await Promise.race([server.exited, new Promise<number>((r) => setTimeout(() => r(Number.NaN), 15_000))]);
if (Number.isNaN(shutdown.exitCode)) server.child.kill('SIGKILL');
agent.destroy();

// ---- verdict ----
const after = rss.filter((s) => s.t >= warmup);
const firstMb = median(after.slice(0, 10).map((s) => s.mb));
const lastMb = median(after.slice(-10).map((s) => s.mb));
const slopeMbPerMin = slope(after.map((s) => ({ x: s.t / 60, y: s.mb })));
const growth = lastMb - firstMb;
// Flat means: what is left after warm-up grows by less than a V8 heap-resize step.
const RSS_GROWTH_LIMIT_MB = 16;
const loopWindows = loopP99.filter((w) => w.t >= warmup).map((w) => w.ms);

const checks: [string, boolean, string][] = [
  ['zero 5xx', counts.s5xx === 0, `${counts.s5xx}`],
  ['zero connection errors', counts.connErrors === 0, `${counts.connErrors}`],
  ['only expected statuses (200 / 401 / 404)', counts.unexpected === 0, `${counts.unexpected} unexpected`],
  ['sampled responses verify (node-saml)', counts.sampled > 0 && counts.verifyFailed === 0, `${counts.verified}/${counts.sampled}`],
  [
    'RSS flat after warm-up',
    after.length >= 2 && growth <= RSS_GROWTH_LIMIT_MB,
    `${fmt(growth, 1)} MB (limit ${RSS_GROWTH_LIMIT_MB}), slope ${fmt(slopeMbPerMin, 2)} MB/min`,
  ],
  [
    'shutdown: in-flight requests answered non-5xx',
    shutdown.dropped === 0 && shutdown.s5xx === 0,
    `${shutdown.non5xx}/${burst} non-5xx, ${shutdown.s5xx} 5xx, ${shutdown.dropped} dropped`,
  ],
  ['shutdown: exit code 0', shutdown.exitCode === 0, `${shutdown.exitCode}`],
];
const ok = checks.every(([, pass]) => pass);
const summary = [
  `soak: ${fmt(soakSeconds)} s (warm-up ${warmup} s), ${concurrency} connections, server pid ${server.pid}${hasTaskset() ? ' on CPU 0, load on CPU 1' : ''}`,
  `requests: ${counts.requests} (${fmt(counts.requests / soakSeconds)}/s): ${counts.sso} Open PAI, ${counts.failedLogins} failed logins (+ their login pages), ${counts.unknownTargets} unknown targets`,
  `statuses: ${counts.ok} 2xx/3xx, ${counts.s4xx} 4xx, ${counts.s5xx} 5xx; connection errors ${counts.connErrors}`,
  `verified samples: ${counts.verified}/${counts.sampled} (1 in ${sampleEvery} Open PAI responses)`,
  `RSS: start ${fmt(rss[0]?.mb ?? Number.NaN, 1)} MB, after warm-up ${fmt(firstMb, 1)} MB, end ${fmt(lastMb, 1)} MB, peak ${fmt(Math.max(...rss.map((s) => s.mb)), 1)} MB; slope after warm-up ${fmt(slopeMbPerMin, 2)} MB/min`,
  `event-loop delay p99 (per 5 s window after warm-up): median ${fmt(median(loopWindows), 2)} ms, max ${fmt(Math.max(...loopWindows), 2)} ms`,
  `shutdown: SIGTERM with ${shutdown.inFlight} of ${burst} burst requests still in flight: ${shutdown.completed} answered (${shutdown.s5xx} 5xx), ${shutdown.dropped} dropped (${shutdown.droppedOnKeepAlive} on keep-alive sockets, ${shutdown.dropped - shutdown.droppedOnKeepAlive} on new connections); exit code ${shutdown.exitCode}`,
  '',
  ...checks.map(([name, pass, detail]) => `${pass ? 'PASS' : 'FAIL'} ${name}: ${detail}`),
  ...(problems.length ? ['', 'first problems:', ...problems.map((p) => `  ${p}`)] : []),
];
process.stdout.write(`${summary.join('\n')}\n`);
if (!ok) process.stderr.write(`server log tail:\n${tail(logFile)}\n`);
await fx.cleanup();
process.exit(ok ? 0 : 1);
