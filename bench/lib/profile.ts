import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

// Summarises a V8 .cpuprofile (from `node --cpu-prof`) by self time, so the README can
// say where a missed target's time goes without opening DevTools.

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTimeRow {
  readonly fn: string;
  readonly where: string;
  readonly selfMs: number;
  readonly share: number;
}

/** Shortens node_modules paths to `package/file` and our own files to repo-relative ones. */
function shortUrl(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const m = /\/(src|bench|test)\/(.*)$/.exec(url);
  if (m) return `${m[1]}/${m[2]}`;
  return url.replace(/^file:\/\//, '');
}

/** Calls `visit` with each sampled node and the time attributed to it; returns the total (µs). */
function eachSample(profile: CpuProfile, visit: (node: ProfileNode, dt: number) => void): number {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let total = 0;
  // timeDeltas[i] is the time before sample i; attribute it to the sampled node.
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!node) continue;
    total += dt;
    visit(node, dt);
  }
  return total;
}

export function selfTimes(profile: CpuProfile, top = 15): { totalMs: number; rows: SelfTimeRow[] } {
  const self = new Map<string, { fn: string; where: string; us: number }>();
  const total = eachSample(profile, (node, dt) => {
    const fn = node.callFrame.functionName || '(anonymous)';
    const where = `${shortUrl(node.callFrame.url)}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`;
    const key = `${fn}@${where}`;
    const row = self.get(key) ?? { fn, where, us: 0 };
    row.us += dt;
    self.set(key, row);
  });
  const rows = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((r) => ({ fn: r.fn, where: r.where, selfMs: r.us / 1000, share: total ? r.us / total : 0 }));
  return { totalMs: total / 1000, rows };
}

/** Self time grouped by package (or src/ file): the coarse "where does it go" answer. */
export function selfTimeByArea(profile: CpuProfile): { area: string; share: number }[] {
  const areas = new Map<string, number>();
  const total = eachSample(profile, (node, dt) => {
    const url = node.callFrame.url;
    let area: string;
    if (!url) area = `(native) ${node.callFrame.functionName || '(program)'}`;
    else if (url.includes('node_modules/')) {
      const rest = url.slice(url.lastIndexOf('node_modules/') + 'node_modules/'.length).split('/');
      area = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
    } else if (url.startsWith('node:')) area = url;
    else area = shortUrl(url);
    areas.set(area, (areas.get(area) ?? 0) + dt);
  });
  return [...areas].map(([area, us]) => ({ area, share: total ? us / total : 0 })).sort((a, b) => b.share - a.share);
}

export function formatProfile(file: string, top = 15): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const { totalMs, rows } = selfTimes(profile, top);
  const lines = [`${file}: ${totalMs.toFixed(0)} ms sampled`, '', '| self % | self ms | function | where |', '|---:|---:|---|---|'];
  for (const r of rows) lines.push(`| ${(r.share * 100).toFixed(1)} | ${r.selfMs.toFixed(0)} | ${r.fn} | ${r.where} |`);
  lines.push('', '| area | self % |', '|---|---:|');
  for (const a of selfTimeByArea(profile).slice(0, 12)) lines.push(`| ${a.area} | ${(a.share * 100).toFixed(1)} |`);
  return lines.join('\n');
}

// CLI: node --import tsx bench/lib/profile.ts FILE.cpuprofile [TOP]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: profile.ts FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(file, top ? Number(top) : 15)}\n`);
}
