import { parseArgs } from 'node:util';
import { median, percentileSorted } from './stats.js';

// Closed-loop, one-at-a-time measurement for the in-process rows. Each implementation runs
// in its own process (bench/impl/*.ts) so one library's JIT state, heap and RSS never
// leak into another's row.

export interface RunResult {
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface ImplResult {
  readonly name: string;
  readonly runs: RunResult[];
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Peak resident set of this process (getrusage maxrss), MB. */
  readonly peakRssMb: number;
  readonly note?: string;
}

export interface ImplOptions {
  readonly runs: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
}

export function implOptions(argv = process.argv.slice(2)): ImplOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
    },
    allowPositionals: true,
    // Implementations add their own flags (samlify's --key-object).
    strict: false,
  });
  return { runs: Number(values.runs), seconds: Number(values.seconds), warmupSeconds: Number(values.warmup) };
}

type Op = () => unknown;

async function loop(op: Op, seconds: number, record: boolean): Promise<RunResult> {
  // Preallocated: growing a JS array of millions of latencies would itself show up in the profile.
  const lat = new Float64Array(record ? 2_000_000 : 0);
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    const t0 = now;
    const r = op();
    // Only await real promises: an extra microtask per sync op would tax the sync rows.
    if (r instanceof Promise) await r;
    now = process.hrtime.bigint();
    if (record && n < lat.length) lat[n] = Number(now - t0) / 1e6;
    n++;
  }
  const elapsed = Number(now - start) / 1e9;
  const sorted = lat.subarray(0, Math.min(n, lat.length)).sort();
  return { ops: n, seconds: elapsed, opsPerSec: n / elapsed, p50Ms: percentileSorted(sorted, 50), p99Ms: percentileSorted(sorted, 99) };
}

export type Command = { cmd: 'run'; seconds: number } | { cmd: 'done' };
export type Reply = { kind: 'ready'; name: string; note?: string } | { kind: 'run'; run: RunResult } | { kind: 'done'; peakRssMb: number };

/**
 * Under bench/run.ts (an IPC channel exists) the process stays up and does one timed run
 * per command, so the orchestrator can interleave implementations round by round: on a
 * shared 2-core machine, background load then hits every row alike instead of whichever
 * row happened to run during it. Run directly, it does warm-up plus `runs` runs and prints
 * one JSON line.
 */
export async function runImpl(name: string, op: Op, opts: ImplOptions = implOptions(), note?: string): Promise<ImplResult | undefined> {
  await loop(op, opts.warmupSeconds, false);
  const send = process.send?.bind(process);
  if (send) {
    send({ kind: 'ready', name, ...(note ? { note } : {}) } satisfies Reply);
    await new Promise<void>((resolve) => {
      process.on('message', (m: Command) => {
        if (m.cmd === 'done') {
          send({ kind: 'done', peakRssMb: process.resourceUsage().maxRSS / 1024 } satisfies Reply, () => resolve());
          return;
        }
        (globalThis as { gc?: () => void }).gc?.();
        void loop(op, m.seconds, true).then((run) => send({ kind: 'run', run } satisfies Reply));
      });
    });
    process.disconnect();
    return undefined;
  }
  const runs: RunResult[] = [];
  for (let i = 0; i < opts.runs; i++) {
    // A collection between runs keeps one run's garbage from being billed to the next.
    (globalThis as { gc?: () => void }).gc?.();
    runs.push(await loop(op, opts.seconds, true));
  }
  const result: ImplResult = {
    name,
    runs,
    opsPerSec: median(runs.map((r) => r.opsPerSec)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    ...(note ? { note } : {}),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result;
}
