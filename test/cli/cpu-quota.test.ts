import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cgroupCpuLimit, parseCpuMax, usableCpus } from '../../src/cli/cpu-quota.js';
import { workerCount } from '../../src/cli/serve.js';
import { parseConfig } from '../../src/config/load.js';
import { stringify } from 'yaml';
import { baseConfig, tempDir } from '../helpers/fixture.js';

let dir: string;
beforeEach(async () => {
  dir = await tempDir('pai-sso-cgroup-');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Lays out a fake /sys/fs/cgroup and /proc/self/cgroup under the temp dir. */
async function fixture(files: Record<string, string>, self: string) {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, 'cg', path)), { recursive: true });
    await writeFile(join(dir, 'cg', path), text);
  }
  await writeFile(join(dir, 'self'), self);
  return { root: join(dir, 'cg'), self: join(dir, 'self') };
}

describe('workers: auto and the cgroup CPU quota', () => {
  it('parses cgroup v2 cpu.max', () => {
    expect(parseCpuMax('max 100000\n')).toBeUndefined();
    expect(parseCpuMax('200000 100000\n')).toBe(2);
    expect(parseCpuMax('150000 100000')).toBe(1.5);
    expect(parseCpuMax('50000 100000')).toBe(0.5);
    expect(parseCpuMax('garbage')).toBeUndefined();
  });

  it('reads v2 inside a container (cgroup namespace: own cgroup is the root)', async () => {
    const paths = await fixture({ 'cgroup.controllers': 'cpu memory\n', 'cpu.max': '200000 100000\n' }, '0::/\n');
    expect(cgroupCpuLimit(paths)).toBe(2);
  });

  it('reads v2 on a host along /proc/self/cgroup, the smallest limit of the cgroup and its parents', async () => {
    const paths = await fixture(
      {
        'cgroup.controllers': 'cpu\n',
        'kubepods.slice/cpu.max': '300000 100000\n',
        'kubepods.slice/pod1/cpu.max': 'max 100000\n',
        'kubepods.slice/pod1/ctr/cpu.max': '150000 100000\n',
      },
      '0::/kubepods.slice/pod1/ctr\n',
    );
    expect(cgroupCpuLimit(paths)).toBe(1.5);
  });

  it('no limit at all (cpu.max "max" everywhere) is undefined', async () => {
    const paths = await fixture({ 'cgroup.controllers': 'cpu\n', 'cpu.max': 'max 100000\n' }, '0::/\n');
    expect(cgroupCpuLimit(paths)).toBeUndefined();
  });

  it('reads v1 cpu.cfs_quota_us / cpu.cfs_period_us, also when /proc/self/cgroup shows the host path', async () => {
    const v1 = await fixture(
      { 'cpu,cpuacct/cpu.cfs_quota_us': '300000\n', 'cpu,cpuacct/cpu.cfs_period_us': '100000\n' },
      '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n',
    );
    expect(cgroupCpuLimit(v1)).toBe(3);
    await rm(join(dir, 'cg'), { recursive: true });
    const unlimited = await fixture({ 'cpu/cpu.cfs_quota_us': '-1\n', 'cpu/cpu.cfs_period_us': '100000\n' }, '1:cpu:/\n');
    expect(cgroupCpuLimit(unlimited)).toBeUndefined();
  });

  it('nothing mounted: undefined', () => {
    expect(cgroupCpuLimit({ root: join(dir, 'none'), self: join(dir, 'none-self') })).toBeUndefined();
  });

  it('caps the core count by the quota, rounds down, never below 1', () => {
    expect(usableCpus(16, 2)).toBe(2);
    expect(usableCpus(16, 1.5)).toBe(1);
    expect(usableCpus(16, 0.25)).toBe(1);
    expect(usableCpus(4, 8)).toBe(4);
    expect(usableCpus(4, undefined)).toBe(4);
  });

  it('auto is the usable CPUs with redis, 1 with the memory store; a number is taken as written', () => {
    const cfg = (server: Record<string, unknown>, state?: Record<string, unknown>) =>
      parseConfig(
        stringify({ ...baseConfig(), server: { baseUrl: 'http://localhost:8080', ...server }, ...(state ? { state } : {}) }),
        'x',
      );
    const redis = { store: 'redis', redis: { url: 'redis://127.0.0.1:6379' } };
    expect(workerCount(cfg({ workers: 'auto' }), () => 8)).toBe(1);
    expect(workerCount(cfg({ workers: 3 }, redis), () => 8)).toBe(3);
    // 16 cores, a 2-CPU limit: 2 workers.
    expect(workerCount(cfg({ workers: 'auto' }, redis), () => usableCpus(16, 2))).toBe(2);
  });
});
