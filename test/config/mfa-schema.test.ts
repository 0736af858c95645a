import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.js';
import { baseConfig } from '../helpers/gateway.js';

const withRoles = (identity: Record<string, unknown>) => {
  const base = baseConfig();
  return {
    ...base,
    identity,
    roles: { ...(base['roles'] as object), admin: { account: 'prod', roleName: 'pai-admin', requireMfa: true } },
  };
};

describe('identity.mfa and roles.<key>.requireMfa', () => {
  it('defaults to optional with the documented second-factor settings', () => {
    const v = validateConfig(baseConfig());
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.config.identity.mfa).toBe('optional');
    expect(v.config.identity.secondFactor).toEqual({
      totpIssuer: 'pai-sso',
      totpSkewSteps: 1,
      recoveryCodes: 10,
      pendingSeconds: 300,
      webauthnRpName: 'pai-sso',
    });
  });

  it('refuses a mode that is not off, optional or required', () => {
    const v = validateConfig({ ...baseConfig(), identity: { mfa: 'sometimes' } });
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.problems).toContainEqual({ path: 'identity.mfa', reason: 'must be one of: off, optional, required' });
  });

  it('refuses a requireMfa role nobody could reach: gateway factor off and no upstream IdP', () => {
    const v = validateConfig(withRoles({ source: 'local', mfa: 'off' }));
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.problems.map((p) => p.path)).toEqual(['roles.admin.requireMfa']);
    expect(validateConfig(withRoles({ source: 'local', mfa: 'optional' })).ok).toBe(true);
  });
});
