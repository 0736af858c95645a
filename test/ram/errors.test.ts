import { describe, expect, it } from 'vitest';
import { exitCodeFor, PaiSsoError } from '../../src/errors.js';
import { ApplyError } from '../../src/ram/apply.js';
import { AccountMismatchError } from '../../src/ram/cloud.js';

describe('register errors', () => {
  it('carry a stable code and kind on the PaiSsoError base', () => {
    const cause = new Error('boom');
    const apply = new ApplyError(['a'], 'b', cause, ['c']);
    expect(apply).toBeInstanceOf(PaiSsoError);
    expect(apply).toMatchObject({ name: 'ApplyError', code: 'PAI_SSO_APPLY_INCOMPLETE', kind: 'runtime', message: 'b: boom', cause });
    expect(exitCodeFor(apply)).toBe(1);
    const mismatch = new AccountMismatchError('wrong account');
    expect(mismatch).toMatchObject({ name: 'AccountMismatchError', code: 'PAI_SSO_ACCOUNT_MISMATCH', kind: 'config' });
  });
});
