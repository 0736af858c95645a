import { randomBytes } from 'node:crypto';
import type { NameIdFormat } from '../config/schema.js';
import { DEFAULT_SESSION_DURATION, type SiteFacts } from '../alibaba.js';
import { buildResponseParts, type RolePair } from './assertion.js';
import type { ResponseSigner } from './sign.js';

// The issuing core: plain values in, one signed Response out. Who the user is and which
// roles they get are decided before this point (mapping/); nothing here knows about users.

export interface IssuedRole extends RolePair {
  /** Console session seconds this role asks for, if any. */
  readonly sessionDuration?: number | undefined;
}

export interface IssueRequest {
  readonly nameId: { readonly format: NameIdFormat; readonly value: string };
  /** Already fitted to Alibaba's rule (alibaba.ts `roleSessionName`). */
  readonly roleSessionName: string;
  readonly roles: readonly IssuedRole[];
  readonly authnInstant: Date;
  readonly sessionIndex: string;
  readonly now: Date;
  /** AuthnContextClassRef: what the sign-in proved (PasswordProtectedTransport when omitted). */
  readonly authnContextClassRef?: string | undefined;
}

export interface IssuedResponse {
  /** Base64 of the signed samlp:Response: the SAMLResponse form field. */
  readonly samlResponse: string;
  readonly assertionId: string;
  readonly responseId: string;
  readonly roleSessionName: string;
}

export type Issuer = (req: IssueRequest) => IssuedResponse;

/** The per-deployment settings an issuer binds once (the config's `idp:` section fits). */
export interface IssuerSettings {
  readonly entityId: string;
  readonly assertionLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
}

export const newId = (): string => `_${randomBytes(20).toString('hex')}`;

/**
 * Binds the per-deployment constants once; each call builds and signs one Response.
 * `site` is the one source of the ACS, used as both Destination and Recipient.
 */
export function createIssuer(settings: IssuerSettings, site: SiteFacts, signer: ResponseSigner): Issuer {
  return ({ nameId, roleSessionName, roles, authnInstant, sessionIndex, now, authnContextClassRef }) => {
    const durations = roles.map((r) => r.sessionDuration).filter((d): d is number => d !== undefined);
    // With several roles Alibaba applies one SessionDuration to whichever is picked,
    // so the smallest is the only value no role's maximum can reject.
    const sessionDuration = durations.length ? Math.min(...durations) : undefined;
    const responseId = newId();
    const assertionId = newId();
    const parts = buildResponseParts({
      issuer: settings.entityId,
      acs: site.acs,
      audience: site.audience,
      now,
      responseId,
      assertionId,
      sessionIndex,
      lifetimeSeconds: settings.assertionLifetimeSeconds,
      skewSeconds: settings.clockSkewSeconds,
      nameId,
      authnInstant,
      // No SessionDuration: the console session is capped at a role's default maximum.
      sessionNotOnOrAfter: new Date(now.getTime() + (sessionDuration ?? DEFAULT_SESSION_DURATION) * 1000),
      roles,
      roleSessionName,
      sessionDuration,
      authnContextClassRef,
    });
    const signed = signer.sign(parts);
    return { samlResponse: Buffer.from(signed, 'utf8').toString('base64'), assertionId, responseId, roleSessionName };
  };
}
