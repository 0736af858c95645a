import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Starts the real CLI (`node bin/pai-sso.js serve --config …`) the way an operator does,
// optionally pinned to CPUs with taskset, and talks to it over loopback HTTP.

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const TASKSET = '/usr/bin/taskset';
export const hasTaskset = (): boolean => existsSync(TASKSET);

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly base: string;
  readonly spawnedAt: bigint;
  /** Resolves with the exit code (or 128+signal) once the process has exited. */
  readonly exited: Promise<number>;
  readonly logFile: string;
}

/** Last lines of a server log, for error messages (the temp dir is gone afterwards). */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface SpawnOptions {
  readonly configPath: string;
  readonly port: number;
  /** taskset CPU list, e.g. "0"; ignored when taskset is missing. */
  readonly cpus?: string | undefined;
  /** Where stdout/stderr (pino lines) go; a file keeps the logging cost real without a pipe to drain. */
  readonly logFile: string;
  readonly nodeArgs?: readonly string[];
  /** Directory holding bin/pai-sso.js (a staging copy with dist/ for the cold-start row). */
  readonly root?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export function spawnServer(opts: SpawnOptions): ServerProcess {
  const root = opts.root ?? REPO;
  const nodeCmd = [process.execPath, ...(opts.nodeArgs ?? []), join(root, 'bin/pai-sso.js'), 'serve', '--config', opts.configPath];
  const [cmd, ...args] = opts.cpus !== undefined && hasTaskset() ? [TASKSET, '-c', opts.cpus, ...nodeCmd] : nodeCmd;
  const out = openSync(opts.logFile, 'a');
  const spawnedAt = process.hrtime.bigint();
  // taskset execs node, so the pid we get is the server's own: signals and /proc reads hit it.
  const child = spawn(cmd as string, args, { cwd: root, stdio: ['ignore', out, out], env: { ...process.env, ...opts.env } });
  if (child.pid === undefined) throw new Error('server did not spawn');
  const exited = new Promise<number>((resolve) =>
    child.once('exit', (code, signal) =>
      resolve(code ?? (signal ? 128 + ({ SIGTERM: 15, SIGKILL: 9, SIGINT: 2 } as Record<string, number>)[signal]! : 1)),
    ),
  );
  return { child, pid: child.pid, base: `http://127.0.0.1:${opts.port}`, spawnedAt, exited, logFile: opts.logFile };
}

export interface SimpleResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request on a fresh connection (setup and probes only; load uses keep-alive agents). */
export function httpRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; agent?: import('node:http').Agent } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Polls /readyz every `everyMs` until it answers 200; returns ms since spawn. */
export async function waitReady(server: ServerProcess, { everyMs = 5, timeoutMs = 30_000 } = {}): Promise<number> {
  // Set by the callback below, which flow analysis cannot see.
  let exitedEarly = false as boolean;
  void server.exited.then(() => (exitedEarly = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitedEarly) throw new Error(`server exited before ready:\n${tail(server.logFile)}`);
    try {
      const res = await httpRequest(`${server.base}/readyz`);
      if (res.status === 200) return Number(process.hrtime.bigint() - server.spawnedAt) / 1e6;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`server not ready after ${timeoutMs} ms`);
}

function setCookies(res: SimpleResponse): Map<string, string> {
  const raw = res.headers['set-cookie'];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const out = new Map<string, string>();
  for (const c of list) {
    const pair = c.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    out.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return out;
}

const cookieHeader = (jar: Map<string, string>) =>
  [...jar]
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');

export function csrfOf(html: string): string {
  const m = /name="csrf" value="([^"]*)"/.exec(html);
  if (!m?.[1]) throw new Error('no csrf field on the login page');
  return m[1]
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** GET /login then POST /login with the csrf field; returns the status and the Cookie header to reuse. */
export async function login(
  base: string,
  username: string,
  password: string,
  agent?: import('node:http').Agent,
): Promise<{ status: number; cookie: string }> {
  const jar = new Map<string, string>();
  const page = await httpRequest(`${base}/login?returnTo=%2F`, { agent });
  for (const [k, v] of setCookies(page)) jar.set(k, v);
  const body = new URLSearchParams({ username, password, csrf: csrfOf(page.body) }).toString();
  const res = await httpRequest(`${base}/login`, {
    method: 'POST',
    agent,
    body,
    headers: {
      cookie: cookieHeader(jar),
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': String(Buffer.byteLength(body)),
    },
  });
  for (const [k, v] of setCookies(res)) jar.set(k, v);
  return { status: res.status, cookie: cookieHeader(jar) };
}

/** Resident set and its high-water mark from /proc, in MB (Linux only). */
export function procMemory(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Child pids (cluster workers) of a process, from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** One Prometheus sample by exact name from /metrics text. */
export function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+|NaN)$`, 'm').exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}
