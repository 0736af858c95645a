import type { Config, NameIdFormat, UserField } from '../config/schema.js';
import type { User } from '../identity/user.js';
import { roleSessionName } from '../alibaba.js';

// Who an assertion is about: the user, as the config says to name them to Alibaba.

export interface AssertionSubject {
  readonly nameId: { readonly format: NameIdFormat; readonly value: string };
  /** Fitted to Alibaba's RoleSessionName rule, distinct per user (source and stable id). */
  readonly roleSessionName: string;
}

type NamedUser = Pick<User, 'id' | 'username' | 'email' | 'source'>;

export function userField(user: NamedUser, source: UserField): string {
  if (source === 'email') return user.email ?? user.username;
  return source === 'id' ? user.id : user.username;
}

export function assertionSubject(user: NamedUser, idp: Pick<Config['idp'], 'nameId' | 'roleSessionName'>): AssertionSubject {
  return {
    nameId: { format: idp.nameId.format, value: userField(user, idp.nameId.source) },
    roleSessionName: roleSessionName(userField(user, idp.roleSessionName.source), user),
  };
}
