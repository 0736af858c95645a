import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { validateConfig } from '../../src/config/validate.js';
import { baseConfig } from '../helpers/gateway.js';

function problems(doc: unknown): string[] {
  const r = validateConfig(doc);
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.reason}`);
}

describe('config validation', () => {
  it.each(['config/default.yaml', 'config/gateway.example.yaml'])('accepts the shipped %s', (file) => {
    const c = parseConfig(readFileSync(file, 'utf8'), file);
    expect(c.idp.assertionLifetimeSeconds).toBeGreaterThan(0);
  });

  it('fills documented defaults', () => {
    const r = validateConfig(baseConfig());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.idp).toMatchObject({
      assertionLifetimeSeconds: 300,
      clockSkewSeconds: 60,
      signResponse: false,
      roleSelection: 'gateway',
      nameId: { format: 'persistent', source: 'id' },
    });
    expect(r.config.session).toMatchObject({ idleTimeoutSeconds: 1800, absoluteTimeoutSeconds: 28800, cookieName: 'pai_sso' });
    expect(r.config.server.port).toBe(8080);
  });

  it('lists every problem of a broken config as path: reason', () => {
    const broken = baseConfig({
      server: { baseUrl: 'https://sso.example.test', colour: 'blue' },
      accounts: { prod: { accountId: '12ab', samlProvider: 'corp-idp' } },
      roles: {
        dev: { account: 'prod', roleName: 'pai-developer', sessionDuration: 60 },
        ghost: { account: 'staging', roleName: 'x', sessionDuration: 50000 },
      },
      mappings: [{ group: 'ml', roles: ['dev', 'nope'] }],
      targets: { evil: { url: 'https://evil.example.com/pai' }, plain: { url: 'http://pai.console.aliyun.com/' } },
    });
    expect(problems(broken)).toEqual([
      'server.colour: unknown key',
      'accounts.prod.accountId: must be a numeric Alibaba Cloud account ID (10-20 digits)',
      'roles.dev.sessionDuration: must be between 900 and 43200 seconds',
      'roles.ghost.account: refers to unknown account "staging"',
      'roles.ghost.sessionDuration: must be between 900 and 43200 seconds',
      'mappings.0.roles.1: refers to unknown role "nope"',
      expect.stringMatching(/^targets\.evil\.url: must be an https URL on an Alibaba RelayState domain/),
      expect.stringMatching(/^targets\.plain\.url: must be an https URL on an Alibaba RelayState domain/),
    ]);
  });

  it('names the allowed values of an enum and the missing keys', () => {
    const { idp: _idp, ...noIdp } = baseConfig();
    expect(problems(noIdp)).toContain('idp: is required');
    expect(problems(baseConfig({ idp: { entityId: 'x', site: 'eu' } }))).toEqual(['idp.site: must be one of: cn, intl']);
  });

  it.each([
    ['https://pai.console.aliyun.com/?regionId=cn-hangzhou#/dsw', true],
    ['https://signin.alibabacloud.com/', true],
    ['https://aliyun.com.evil.example/', false],
    ['https://evilaliyun.com/', false],
    ['https://user@pai.console.aliyun.com/', false],
    ['https://pai.console.aliyun.com:8443/', false],
    ['javascript:alert(1)//aliyun.com', false],
  ])('RelayState target %s allowed=%s', (url, ok) => {
    expect(problems(baseConfig({ targets: { t: { url } } })).length === 0).toBe(ok);
  });

  it('reports YAML syntax errors with a position', () => {
    expect(() => parseConfig('server: [unclosed', 'x.yaml')).toThrow(ConfigError);
    const dup = (() => {
      try {
        parseConfig('a: 1\na: 2\n', 'dup.yaml');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(dup).toBeInstanceOf(ConfigError);
    expect((dup as ConfigError).problems[0]?.path).toMatch(/^\(line 2, column \d+\)$/);
  });

  it('lets PORT override the configured port', () => {
    const c = parseConfig(stringify(baseConfig()), 'x', { PORT: '9999' });
    expect(c.server.port).toBe(9999);
  });
});
