import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFixture } from './lib/fixture.js';
import { REPO, spawnServer, waitReady } from './lib/server.js';
import { median } from './lib/stats.js';

// Cold start: process spawn to the first 200 from /readyz (polled every 5 ms), keys
// already on disk. Two ways `node bin/pai-sso.js serve` can run:
//   tsx  - no dist/: the launcher registers tsx and compiles src/ on the fly;
//   dist - `npm run build` output present: plain node on compiled JS.
// The dist case runs from a staging copy (bin/, dist/ built by scripts/build.mjs, data/, and a
// node_modules symlink) so a dist/ never appears in the shared working tree, where
// bin/pai-sso.js would silently prefer it over everyone else's fresh src/.

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);

interface ModeResult {
  readonly mode: string;
  readonly runsMs: number[];
  readonly medianMs: number;
  readonly maxMs: number;
  readonly error?: string;
}

const fx = await createFixture();

async function once(root: string): Promise<number> {
  const server = spawnServer({ configPath: fx.configPath, port: fx.port, logFile: join(fx.dir, 'cold.log'), root });
  try {
    return await waitReady(server, { everyMs: 5 });
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
}

function stageDist(): string {
  const stage = mkdtempSync(join(tmpdir(), 'pai-sso-dist-'));
  execFileSync(process.execPath, [join(REPO, 'scripts/build.mjs'), join(stage, 'dist')], { cwd: REPO, stdio: 'pipe' });
  cpSync(join(REPO, 'bin'), join(stage, 'bin'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(stage, 'package.json'));
  if (existsSync(join(REPO, 'data'))) cpSync(join(REPO, 'data'), join(stage, 'data'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(stage, 'node_modules'));
  return stage;
}

const results: ModeResult[] = [];
const treeHasDist = existsSync(join(REPO, 'dist/cli.js'));
let stage: string | undefined;
let stageError: string | undefined;
try {
  stage = stageDist();
} catch (err) {
  stageError = `build failed: ${((err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message).split('\n').slice(0, 3).join(' ')}`;
}
const modes: { mode: string; root: string | undefined }[] = [
  { mode: treeHasDist ? 'dist (repo already had dist/)' : 'tsx (no dist/)', root: REPO },
  { mode: 'dist (npm run build output)', root: stage },
];
const times = new Map<string, number[]>(modes.map((m) => [m.mode, []]));
// Alternate the modes so disk cache and background load treat both alike; one unmeasured
// start first warms the page cache for node_modules (a restart, not a first boot after reboot).
for (const m of modes) if (m.root) await once(m.root);
for (let i = 0; i < runs; i++) for (const m of modes) if (m.root) times.get(m.mode)?.push(await once(m.root));
for (const m of modes) {
  const t = times.get(m.mode) ?? [];
  results.push({
    mode: m.mode,
    runsMs: t,
    medianMs: median(t),
    maxMs: Math.max(...t),
    ...(m.root ? {} : { error: stageError ?? 'not run' }),
  });
}
if (stage) rmSync(stage, { recursive: true, force: true });
await fx.cleanup();
process.stdout.write(`${JSON.stringify({ name: 'cold-start', results })}\n`);
