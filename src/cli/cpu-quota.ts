import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

// `workers: auto` must not start more processes than the container may use: each costs
// about 125 MB, and Node 20's os.availableParallelism() counts the host's cores (it reads
// the CPU affinity mask, not the cgroup quota). Kubernetes CPU limits are CFS quotas.

export interface CgroupPaths {
  /** Where the cgroup filesystem is mounted; /sys/fs/cgroup. */
  readonly root: string;
  /** This process's cgroup membership; /proc/self/cgroup. */
  readonly self: string;
}

const SYSTEM: CgroupPaths = { root: '/sys/fs/cgroup', self: '/proc/self/cgroup' };

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** CPUs allowed by a quota and period in microseconds; undefined for "max", -1 or nonsense. */
export function cpusFromQuota(quota: string, period: string): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  if (!Number.isFinite(q) || !Number.isFinite(p) || q <= 0 || p <= 0) return undefined;
  return q / p;
}

/** cgroup v2 `cpu.max`: "<quota|max> <period>". */
export function parseCpuMax(text: string): number | undefined {
  const [quota = '', period = '100000'] = text.trim().split(/\s+/);
  return quota === 'max' ? undefined : cpusFromQuota(quota, period);
}

/** The cgroup path of this process for a controller ("" = v2 unified), from /proc/self/cgroup. */
function ownPath(selfText: string | undefined, controller: string): string | undefined {
  for (const line of (selfText ?? '').split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (path === undefined || controllers === undefined) continue;
    if (controller === '' ? controllers === '' : controllers.split(',').includes(controller)) return path;
  }
  return undefined;
}

/** The smallest quota on the way from `dir` up to `top` (a parent's limit binds its children). */
function smallestUpwards(top: string, relative: string, quotaAt: (dir: string) => number | undefined): number | undefined {
  let best: number | undefined;
  const parts = relative.split('/').filter(Boolean);
  for (let i = parts.length; i >= 0; i--) {
    const q = quotaAt(join(top, ...parts.slice(0, i)));
    if (q !== undefined) best = best === undefined ? q : Math.min(best, q);
  }
  return best;
}

/**
 * The CPU limit of this process's cgroup (v2 `cpu.max`, else v1 `cpu.cfs_quota_us` /
 * `cpu.cfs_period_us`), as a fraction of CPUs; undefined when there is none. Inside a
 * container the cgroup namespace makes the own cgroup the mount root; on a host the path
 * from /proc/self/cgroup is followed, and ancestors count too.
 */
export function cgroupCpuLimit(paths: CgroupPaths = SYSTEM): number | undefined {
  const self = read(paths.self);
  if (read(join(paths.root, 'cgroup.controllers')) !== undefined) {
    const quotaAt = (dir: string) => {
      const text = read(join(dir, 'cpu.max'));
      return text === undefined ? undefined : parseCpuMax(text);
    };
    return smallestUpwards(paths.root, ownPath(self, '') ?? '', quotaAt);
  }
  for (const mount of ['cpu,cpuacct', 'cpu', 'cpuacct,cpu']) {
    const top = join(paths.root, mount);
    if (read(join(top, 'cpu.cfs_period_us')) === undefined) continue;
    const quotaAt = (dir: string) => {
      const quota = read(join(dir, 'cpu.cfs_quota_us'));
      const period = read(join(dir, 'cpu.cfs_period_us'));
      return quota === undefined || period === undefined ? undefined : cpusFromQuota(quota.trim(), period.trim());
    };
    // Without a cgroup namespace v1 shows the host's path, which may not exist under this
    // mount; the mount root is then the container's own cgroup.
    return smallestUpwards(top, ownPath(self, 'cpu') ?? '', quotaAt) ?? quotaAt(top);
  }
  return undefined;
}

/** Whole CPUs this process may use: the core count capped by the cgroup quota, at least 1. */
export function usableCpus(cores: number = availableParallelism(), limit: number | undefined = cgroupCpuLimit()): number {
  // A fractional limit (1.5) rounds down: a second process on half a CPU only adds memory.
  return Math.max(1, limit === undefined ? cores : Math.min(cores, Math.floor(limit)));
}
