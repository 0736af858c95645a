import { createHash } from 'node:crypto';
import { unknownAction } from './errors.js';
import type { EmulatorCredential } from './signing.js';

// STS 2015-04-01 GetCallerIdentity: who the signing credential is. Like the cloud it needs no
// permission and answers for any valid credential, naming the account the key belongs to,
// whatever that account holds. An AccessKey pair answers as a RAM user, an STS credential
// (one with a security token) as an assumed role. The user and role names are the
// emulator's, derived from the AccessKey ID.

const digits = (s: string, n: number) =>
  BigInt(`0x${createHash('sha256').update(s).digest('hex').slice(0, 15)}`)
    .toString()
    .slice(0, n);

export function callerIdentity(action: string, cred: EmulatorCredential): Record<string, unknown> {
  if (action !== 'GetCallerIdentity') throw unknownAction(action);
  const uid = cred.accountId;
  if (cred.securityToken !== undefined) {
    const roleId = `3${digits(cred.accessKeyId, 15)}`;
    return {
      IdentityType: 'AssumedRoleUser',
      AccountId: uid,
      Arn: `acs:ram::${uid}:assumed-role/register-ci/session-${cred.accessKeyId.slice(-4)}`,
      RoleId: roleId,
      PrincipalId: `${roleId}:session-${cred.accessKeyId.slice(-4)}`,
    };
  }
  const userId = `2${digits(cred.accessKeyId, 15)}`;
  return {
    IdentityType: 'RAMUser',
    AccountId: uid,
    Arn: `acs:ram::${uid}:user/operator-${cred.accessKeyId.slice(-4).toLowerCase()}`,
    UserId: userId,
    PrincipalId: userId,
  };
}
