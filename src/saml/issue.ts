import { randomBytes } from 'node:crypto';
import type { Config, UserField } from '../config/schema.js';
import type { GrantedRole } from '../mapping/roles.js';
import type { User } from '../identity/user.js';
import { DEFAULT_SESSION_DURATION, roleSessionName, siteFacts } from '../alibaba.js';
import { buildResponseParts } from './assertion.js';
import type { ResponseSigner } from './sign.js';

export interface IssueRequest {
  readonly user: User;
  readonly roles: readonly GrantedRole[];
  readonly authnInstant: Date;
  readonly sessionIndex: string;
  readonly now: Date;
}

export interface IssuedResponse {
  /** Base64 of the signed samlp:Response: the SAMLResponse form field. */
  readonly samlResponse: string;
  readonly assertionId: string;
  readonly responseId: string;
  readonly roleSessionName: string;
}

export type Issuer = (req: IssueRequest) => IssuedResponse;

export const newId = (): string => `_${randomBytes(20).toString('hex')}`;

function field(user: User, source: UserField): string {
  if (source === 'email') return user.email ?? user.username;
  return source === 'id' ? user.id : user.username;
}

/** Binds the per-deployment constants once; each call builds and signs one Response. */
export function createIssuer(config: Pick<Config, 'idp'>, signer: ResponseSigner): Issuer {
  const site = siteFacts(config.idp.site);
  const { idp } = config;
  return ({ user, roles, authnInstant, sessionIndex, now }) => {
    const durations = roles.map((r) => r.sessionDuration).filter((d): d is number => d !== undefined);
    // With several roles Alibaba applies one SessionDuration to whichever is picked,
    // so the smallest is the only value no role's maximum can reject.
    const sessionDuration = durations.length ? Math.min(...durations) : undefined;
    const rsn = roleSessionName(field(user, idp.roleSessionName.source));
    const responseId = newId();
    const assertionId = newId();
    const parts = buildResponseParts({
      issuer: idp.entityId,
      acs: site.acs,
      audience: site.audience,
      now,
      responseId,
      assertionId,
      sessionIndex,
      lifetimeSeconds: idp.assertionLifetimeSeconds,
      skewSeconds: idp.clockSkewSeconds,
      nameId: { format: idp.nameId.format, value: field(user, idp.nameId.source) },
      authnInstant,
      sessionNotOnOrAfter: new Date(now.getTime() + (sessionDuration ?? DEFAULT_SESSION_DURATION) * 1000),
      roles,
      roleSessionName: rsn,
      sessionDuration,
    });
    const signed = signer.sign(parts);
    return { samlResponse: Buffer.from(signed, 'utf8').toString('base64'), assertionId, responseId, roleSessionName: rsn };
  };
}
