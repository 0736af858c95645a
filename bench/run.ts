import { fork, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Command, Reply, RunResult } from './lib/inproc.js';
import { supportsWorkers } from './lib/fixture.js';
import { REPO, TASKSET, hasTaskset } from './lib/server.js';
import { fmt, median } from './lib/stats.js';

// npm run bench: every implementation in its own process, in the same run, ratios against
// the raw-rsa ceiling measured in that run. Not part of npm test: it needs quiet cores and
// minutes, and a unit test that times things only measures the CI neighbour.

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    'http-runs': { type: 'string', default: '3' },
    'http-seconds': { type: 'string', default: '10' },
    'cold-runs': { type: 'string', default: '7' },
    'skip-http': { type: 'boolean', default: false },
    'skip-cold': { type: 'boolean', default: false },
    'skip-workers': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const pin = (cpu: string, cmd: string[]) => (hasTaskset() ? [TASKSET, '-c', cpu, ...cmd] : cmd);
const TSX = ['--import', 'tsx'];

interface Row {
  name: string;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  peakRssMb: number;
  note?: string;
  runs?: unknown[];
  extra?: Record<string, unknown>;
}

/** CPU pressure (PSI "some" total, µs) and steal ticks: how contended the machine was. */
function contention(): { psiUs: number; steal: number } {
  const psi = Number(/some .*total=(\d+)/.exec(safeRead('/proc/pressure/cpu'))?.[1] ?? Number.NaN);
  const steal = Number(safeRead('/proc/stat').split('\n')[0]?.trim().split(/\s+/)[8] ?? Number.NaN);
  return { psiUs: psi, steal };
}
function safeRead(f: string): string {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
}

// ---- in-process rows: one long-lived process each, runs interleaved round by round ----
const IMPLS: { file: string; args?: string[] }[] = [
  { file: 'raw-rsa.ts' },
  { file: 'xml-crypto-naive.ts' },
  { file: 'samlify.ts' },
  { file: 'samlify.ts', args: ['--key-object'] },
  { file: 'pai-sso.ts' },
];

interface Worker {
  name: string;
  note?: string;
  runs: RunResult[];
  peakRssMb: number;
  send(c: Command): Promise<Reply>;
}

async function startImpl(file: string, args: string[] = []): Promise<Worker> {
  // All on CPU 1 (CPU 0 is where the HTTP server goes later); fork gives the IPC channel.
  const execPath = hasTaskset() ? TASKSET : process.execPath;
  const execArgv = hasTaskset() ? ['-c', '1', process.execPath, ...TSX, '--expose-gc'] : [...TSX, '--expose-gc'];
  const child = fork(join(REPO, 'bench/impl', file), ['--warmup', '2', ...args], {
    execPath,
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queue: ((r: Reply) => void)[] = [];
  let ready!: (r: Reply) => void;
  const first = new Promise<Reply>((r) => (ready = r));
  queue.push(ready);
  child.on('message', (m: Reply) => queue.shift()?.(m));
  child.once('exit', (code) => {
    if (code !== 0) for (const q of queue.splice(0)) q({ kind: 'done', peakRssMb: Number.NaN });
  });
  const hello = await first;
  if (hello.kind !== 'ready') throw new Error(`${file} did not start`);
  return {
    name: hello.name,
    ...(hello.note ? { note: hello.note } : {}),
    runs: [],
    peakRssMb: Number.NaN,
    send: (c) =>
      new Promise<Reply>((resolve) => {
        queue.push(resolve);
        child.send(c);
      }),
  };
}

function runJson(cmd: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const [bin, ...args] = cmd;
    const child = spawn(bin as string, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) {
        reject(new Error(`${args.join(' ')} exited ${code}`));
        return;
      }
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`no JSON from ${args.join(' ')}: ${out.slice(-300)}`));
      }
    });
  });
}

const before = contention();
const startedAt = new Date();
process.stderr.write(`bench: ${rounds} rounds x ${seconds} s per in-process implementation\n`);
const workers: Worker[] = [];
for (const impl of IMPLS) workers.push(await startImpl(impl.file, impl.args));
for (let r = 0; r < rounds; r++) {
  // Rotate the order each round so no implementation always runs first or last.
  for (let i = 0; i < workers.length; i++) {
    const w = workers[(i + r) % workers.length] as Worker;
    const reply = await w.send({ cmd: 'run', seconds });
    if (reply.kind === 'run') w.runs.push(reply.run);
  }
  process.stderr.write(`  round ${r + 1}/${rounds} done\n`);
}
for (const w of workers) {
  const reply = await w.send({ cmd: 'done' });
  if (reply.kind === 'done') w.peakRssMb = reply.peakRssMb;
}
const rows: Row[] = workers.map((w) => ({
  name: w.name,
  opsPerSec: median(w.runs.map((x) => x.opsPerSec)),
  p50Ms: median(w.runs.map((x) => x.p50Ms)),
  p99Ms: median(w.runs.map((x) => x.p99Ms)),
  peakRssMb: w.peakRssMb,
  runs: w.runs.map((x) => Math.round(x.opsPerSec)),
  ...(w.note ? { note: w.note } : {}),
}));

// ---- HTTP rows ----
const httpArgs = ['--runs', values['http-runs'], '--seconds', values['http-seconds']];
const toRow = (j: Record<string, unknown>): Row => ({
  name: j['name'] as string,
  opsPerSec: j['opsPerSec'] as number,
  p50Ms: j['p50Ms'] as number,
  p99Ms: j['p99Ms'] as number,
  peakRssMb: j['peakRssMb'] as number,
  note: j['note'] as string,
  runs: (j['runs'] as { reqPerSec: number }[]).map((x) => Math.round(x.reqPerSec)),
  extra: { halfRate: j['halfRate'], halfRatePaced: j['halfRatePaced'], bad: j['bad'] },
});
let workersNote = '';
let redisNote = '';
if (!values['skip-http']) {
  process.stderr.write('bench: pai-sso-http (server CPU 0, autocannon CPU 1)\n');
  rows.push(toRow(await runJson(pin('1', [process.execPath, ...TSX, 'bench/http.ts', ...httpArgs]))));
  // The shared store's cost on the hot path: one MGET per request (the session record check).
  process.stderr.write('bench: pai-sso-http (redis) (server CPU 0, autocannon and redis-server CPU 1)\n');
  try {
    rows.push(toRow(await runJson(pin('1', [process.execPath, ...TSX, 'bench/http.ts', ...httpArgs, '--store', 'redis']))));
  } catch (err) {
    redisNote = `redis row failed: ${(err as Error).message}`;
  }
  if (values['skip-workers']) workersNote = 'skipped';
  else if (!supportsWorkers()) workersNote = 'server.workers (with state.store: redis) is not in src/config/schema.ts: no cluster row';
  else {
    process.stderr.write('bench: pai-sso-http with workers=2 (unpinned: server and autocannon share both cores)\n');
    try {
      rows.push(toRow(await runJson([process.execPath, ...TSX, 'bench/http.ts', ...httpArgs, '--workers', '2'])));
    } catch (err) {
      workersNote = `workers=2 run failed: ${(err as Error).message}`;
    }
  }
}

// ---- cold start ----
let cold: { mode: string; medianMs: number; maxMs: number; runsMs: number[]; error?: string }[] = [];
if (!values['skip-cold']) {
  process.stderr.write('bench: cold start\n');
  cold = (await runJson([process.execPath, ...TSX, 'bench/coldstart.ts', '--runs', values['cold-runs']]))['results'] as typeof cold;
}
const after = contention();

// ---- report ----
const raw = rows.find((r) => r.name === 'raw-rsa');
const by = (name: string) => rows.find((r) => r.name === name);
const ratio = (r: Row | undefined) => (r && raw ? r.opsPerSec / raw.opsPerSec : Number.NaN);
const lines: string[] = [];
const elapsedS = (Date.now() - startedAt.getTime()) / 1000;
lines.push(
  `Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load avg ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ` +
    `CPU pressure (PSI some) ${fmt((after.psiUs - before.psiUs) / 1e4 / elapsedS, 1)}% of the ${fmt(elapsedS)} s run, steal ${after.steal - before.steal} ticks`,
  '',
  '| implementation | logins/s | × raw-rsa | p50 ms | p99 ms | peak RSS MB | runs (logins/s) |',
  '|---|---:|---:|---:|---:|---:|---|',
);
for (const r of rows) {
  lines.push(
    `| ${r.name} | ${fmt(r.opsPerSec)} | ${fmt(ratio(r), 2)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${fmt(r.peakRssMb)} | ${(r.runs ?? []).join(', ')} |`,
  );
}
for (const r of rows.filter((x) => x.extra)) {
  const h = r.extra?.['halfRate'] as { target: number; reqPerSec: number; p50Ms: number; p99Ms: number } | undefined;
  const p = r.extra?.['halfRatePaced'] as { rate: number; p50Ms: number; p99Ms: number; maxMs: number } | undefined;
  if (h)
    lines.push(
      `| ${r.name} @ ${h.target}/s (autocannon overallRate) | ${fmt(h.reqPerSec)} | | ${fmt(h.p50Ms, 2)} | ${fmt(h.p99Ms, 2)} | | |`,
    );
  if (p) lines.push(`| ${r.name} @ ${p.rate}/s (evenly paced) | ${fmt(p.rate)} | | ${fmt(p.p50Ms, 2)} | ${fmt(p.p99Ms, 2)} | | |`);
}
for (const c of cold)
  lines.push(
    `| cold start: ${c.mode} | | | ${fmt(c.medianMs)} (median) | ${fmt(c.maxMs)} (max) | | ${c.error ?? c.runsMs.map((x) => Math.round(x)).join(', ')} |`,
  );
if (workersNote) lines.push('', `workers: ${workersNote}`);
if (redisNote) lines.push('', `redis: ${redisNote}`);

const pai = by('pai-sso');
const http = by('pai-sso-http');
const half = http?.extra?.['halfRate'] as { p99Ms: number } | undefined;
const halfPaced = http?.extra?.['halfRatePaced'] as { p99Ms: number } | undefined;
const check = (label: string, value: number, target: number, unit: string, higherIsBetter = true) => {
  const ok = higherIsBetter ? value >= target : value <= target;
  const by = higherIsBetter ? value / target - 1 : target / value - 1;
  return `- ${ok ? 'MET   ' : 'MISSED'} ${label}: ${fmt(value, 2)}${unit} (target ${higherIsBetter ? '≥' : '≤'} ${target}${unit}, ${by >= 0 ? '+' : ''}${fmt(by * 100, 0)}%)`;
};
lines.push('', 'Targets (same run):');
if (pai) lines.push(check('pai-sso / raw-rsa', ratio(pai), 0.7, '×'));
if (http) lines.push(check('pai-sso-http / raw-rsa', ratio(http), 0.5, '×'));
const httpRedis = by('pai-sso-http (redis)');
if (httpRedis) lines.push(check('pai-sso-http (redis) / raw-rsa', ratio(httpRedis), 0.6, '×'));
if (httpRedis && http) lines.push(`- pai-sso-http (redis) / pai-sso-http (memory): ${fmt(httpRedis.opsPerSec / http.opsPerSec, 2)}×`);
if (half) lines.push(check('pai-sso-http p99 at half max (autocannon overallRate)', half.p99Ms, 10, ' ms', false));
if (halfPaced) lines.push(check('pai-sso-http p99 at half max (evenly paced)', halfPaced.p99Ms, 10, ' ms', false));
if (pai && by('samlify')) lines.push(check('pai-sso / samlify', pai.opsPerSec / (by('samlify') as Row).opsPerSec, 6, '×'));
if (pai && by('xml-crypto-naive'))
  lines.push(check('pai-sso / xml-crypto-naive', pai.opsPerSec / (by('xml-crypto-naive') as Row).opsPerSec, 3.5, '×'));
for (const c of cold) if (!c.error) lines.push(check(`cold start ${c.mode} (median)`, c.medianMs, 500, ' ms', false));
const bad = rows.reduce((s, r) => s + ((r.extra?.['bad'] as number | undefined) ?? 0), 0);
if (bad) lines.push(`- HTTP runs saw ${bad} non-2xx answers or errors`);

process.stdout.write(`${lines.join('\n')}\n`);
const jsonFile = values.json ?? join(tmpdir(), `pai-sso-bench-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(jsonFile, JSON.stringify({ startedAt, rows, cold, workersNote, redisNote }, null, 2));
process.stderr.write(`bench: raw results in ${jsonFile}\n`);
