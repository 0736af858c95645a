import { describe, expect, it } from 'vitest';
import { exitCodeFor, PaiSsoError } from '../../src/errors.js';
import { ApplyError } from '../../src/ram/apply.js';
import { AccountMismatchError, CloudCallError } from '../../src/ram/cloud.js';

describe('register errors', () => {
  it('carry a stable code and kind on the PaiSsoError base', () => {
    const cause = new Error('boom');
    const apply = new ApplyError(['a'], 'b', cause, ['c']);
    expect(apply).toBeInstanceOf(PaiSsoError);
    expect(apply).toMatchObject({ name: 'ApplyError', code: 'PAI_SSO_APPLY_INCOMPLETE', kind: 'runtime', message: 'b: boom', cause });
    expect(exitCodeFor(apply)).toBe(1);
    const mismatch = new AccountMismatchError('wrong account');
    expect(mismatch).toMatchObject({ name: 'AccountMismatchError', code: 'PAI_SSO_ACCOUNT_MISMATCH', kind: 'runtime' });
    expect(exitCodeFor(mismatch)).toBe(1);
    // Alibaba's own error code stays apart from ours, so retries and hints can match on it.
    const call = new CloudCallError('ram:CreateRole', 'Throttling.User', 400, 'R1', 'slow down');
    expect(call).toMatchObject({ code: 'PAI_SSO_CLOUD_CALL', apiCode: 'Throttling.User', statusCode: 400, kind: 'runtime' });
    expect(call.message).toContain('ram:CreateRole failed: Throttling.User (HTTP 400): slow down [RequestId R1]');
    expect(exitCodeFor(call)).toBe(1);
  });
});
