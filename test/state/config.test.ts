import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { validateConfig } from '../../src/config/validate.js';
import { workerCount } from '../../src/cli/serve.js';
import { main } from '../../src/cli.js';
import { baseConfig } from '../helpers/gateway.js';

const problems = (doc: Record<string, unknown>) => {
  const r = validateConfig(doc);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.reason}`);
};

describe('state config', () => {
  it('defaults to the memory store', () => {
    const r = validateConfig(baseConfig());
    expect(r.ok && r.config.state).toEqual({ store: 'memory' });
  });

  it('fills redis defaults and reports mistakes as path: reason', () => {
    const r = validateConfig(baseConfig({ state: { store: 'redis', redis: { url: 'redis://cache:6379/0' } } }));
    expect(r.ok && r.config.state.redis).toEqual({
      url: 'redis://cache:6379/0',
      keyPrefix: 'pai-sso:',
      connectTimeoutMs: 2000,
      commandTimeoutMs: 1000,
    });
    expect(problems(baseConfig({ state: { store: 'redis' } }))).toContain('state.redis.url: is required when state.store is "redis"');
    expect(problems(baseConfig({ state: { store: 'redis', redis: { url: 'http://cache' } } }))).toContain(
      'state.redis.url: must be a redis://host:port or rediss://host:port URL',
    );
    expect(problems(baseConfig({ state: { store: 'redis', redis: { url: 'redis://:hunter2@cache:6379' } } }))[0]).toMatch(
      /^state\.redis\.url: must not carry a password/,
    );
    expect(problems(baseConfig({ state: { store: 'redis', redis: { url: 'redis://cache', tls: { caFile: 'ca.pem' } } } }))).toContain(
      'state.redis.tls: needs a rediss:// URL',
    );
    expect(problems(baseConfig({ state: { store: 'valkey' } }))).toContain('state.store: must be one of: memory, redis');
  });

  it('never lets workers count alone: >1 with memory is refused, auto means 1', () => {
    expect(problems(baseConfig({ server: { baseUrl: 'http://localhost:8080', workers: 2 } }))[0]).toMatch(
      /^server\.workers: more than 1 worker needs state\.store: redis/,
    );
    expect(
      problems(
        baseConfig({
          server: { baseUrl: 'http://localhost:8080', workers: 2 },
          state: { store: 'redis', redis: { url: 'redis://cache' } },
        }),
      ),
    ).toEqual([]);
    const auto = validateConfig(baseConfig({ server: { baseUrl: 'http://localhost:8080', workers: 'auto' } }));
    expect(auto.ok && workerCount(auto.config)).toBe(1);
  });

  it('`pai-sso session` with the memory store refuses and says what to do instead', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pai-sso-state-cli-'));
    try {
      const configPath = join(dir, 'gateway.yaml');
      await writeFile(
        configPath,
        stringify({
          ...baseConfig(),
          keys: { dir: join(dir, 'certs') },
          identity: { source: 'local', local: { usersFile: join(dir, 'users.yaml') } },
        }),
      );
      const stderr = new PassThrough();
      let err = '';
      stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await main(['--config', configPath, 'session', 'revoke', '--all'], {
        stdout: new PassThrough(),
        stderr,
        stdin: new PassThrough(),
        env: {},
      });
      expect(code).toBe(2);
      expect(err).toContain('need state.store: redis');
      expect(err).toContain('pai-sso user remove NAME');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
