import { Agent, request } from 'node:http';
import { percentileSorted } from './stats.js';

// Open-loop load at a steady rate: request i is due at start + i/rate, and its latency
// runs from that due time, not from when it was actually sent. A late generator or a
// stalled server therefore shows up in the percentiles (no coordinated omission).
//
// Why not only autocannon's overallRate: autocannon limits each connection to N requests
// per one-second window and sends them back to back, so "half the max rate" becomes a
// saturated burst for the first half of every second and its p99 is the saturated p99.

export interface PacedResult {
  readonly rate: number;
  readonly seconds: number;
  readonly sent: number;
  readonly completed: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export async function paced(opts: {
  url: string;
  headers: Record<string, string>;
  rate: number;
  seconds: number;
  maxSockets?: number;
}): Promise<PacedResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64 });
  const total = Math.round(opts.rate * opts.seconds);
  const lat = new Float64Array(total);
  let sent = 0;
  let completed = 0;
  let non2xx = 0;
  let errors = 0;
  const start = performance.now();
  const interval = 1000 / opts.rate;

  await new Promise<void>((resolve) => {
    const finish = () => {
      if (completed + errors === total) resolve();
    };
    const fire = (due: number) => {
      const req = request(opts.url, { agent, headers: opts.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          lat[completed++] = performance.now() - due;
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) non2xx++;
          finish();
        });
      });
      req.on('error', () => {
        errors++;
        finish();
      });
      req.end();
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) fire(start + interval * sent++);
      if (sent < total) setTimeout(tick, Math.max(0, Math.min(1, start + sent * interval - performance.now())));
    };
    tick();
  });
  agent.destroy();
  const sorted = lat.subarray(0, completed).sort();
  return {
    rate: opts.rate,
    seconds: opts.seconds,
    sent,
    completed,
    non2xx,
    errors,
    p50Ms: percentileSorted(sorted, 50),
    p99Ms: percentileSorted(sorted, 99),
    maxMs: percentileSorted(sorted, 100),
  };
}
