import { randomBytes } from 'node:crypto';
import { SAML, ValidateInResponseTo, type CacheProvider, type Profile, type SamlConfig } from '@node-saml/node-saml';
import type { SamlIdentityConfig } from '../config/identity-saml-schema.js';
import { SamlSourceError } from './errors.js';
import type { IdpTrust } from './saml-upstream-idp.js';

/** The AuthnRequest a browser started, as its flow cookie carries it back. */
export interface PendingRequest {
  readonly id: string;
  /** When the request stops being answerable (ms). */
  readonly exp: number;
}

/** Our service-provider side of node-saml: AuthnRequests out, signed responses in. */
export interface ServiceProvider {
  readonly metadataXml: string;
  /** The IdP URL to send the browser to, and the ID of the request it carries; `stepUp` asks for a multi-factor AuthnContext. */
  startLogin(stepUp?: boolean): Promise<{ url: string; requestId: string }>;
  /** node-saml's checks (signature against the pinned certs, time, audience, InResponseTo). Throws on a refusal. */
  validate(samlResponse: string, pending: PendingRequest | undefined): Promise<Profile | null>;
}

const noCache: CacheProvider = {
  saveAsync: async () => null,
  getAsync: async () => null,
  removeAsync: async () => null,
};

export function createServiceProvider(
  cfg: SamlIdentityConfig,
  trust: IdpTrust,
  ids: { acsUrl: string; spEntityId: string },
  now: () => number,
): ServiceProvider {
  const requestTtlMs = cfg.requestTimeoutSeconds * 1000;

  // One SAML object per request, each with a cache holding at most this browser's
  // request ID: InResponseTo is then checked against the sealed cookie rather than a
  // process-local table, so any replica can finish a login another one started.
  const samlWith = (cache: CacheProvider, stepUp = false): SAML => {
    const options: SamlConfig = {
      idpCert: trust.certs.map((c) => c.pem),
      issuer: ids.spEntityId,
      callbackUrl: ids.acsUrl,
      entryPoint: trust.entryPoint,
      idpIssuer: cfg.idpIssuer,
      audience: ids.spEntityId,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: cfg.wantResponseSigned,
      acceptedClockSkewMs: cfg.clockSkewSeconds * 1000,
      validateInResponseTo: cfg.allowIdpInitiated ? ValidateInResponseTo.ifPresent : ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: requestTtlMs,
      cacheProvider: cache,
      identifierFormat: cfg.nameIdFormat ?? null,
      // node-saml asks for PasswordProtectedTransport by default; Entra then refuses users
      // who signed in with MFA or passwordless (AADSTS75011). Only a step-up (a role with
      // requireMfa) asks for something: one of the configured multi-factor classes.
      disableRequestedAuthnContext: !stepUp,
      ...(stepUp ? { authnContext: [...cfg.stepUp.authnContextClassRefs], racComparison: 'exact' as const } : {}),
      generateUniqueId: () => `_${randomBytes(20).toString('hex')}`,
    };
    return new SAML(options);
  };

  const cacheHolding = (pending: PendingRequest | undefined): CacheProvider => ({
    saveAsync: async () => null,
    getAsync: async (key) => (pending && key === pending.id ? new Date(pending.exp - requestTtlMs).toISOString() : null),
    // The cookie is cleared on the reply; the replay cache catches a resent copy.
    removeAsync: async () => null,
  });

  return {
    metadataXml: samlWith(noCache).generateServiceProviderMetadata(null, null),

    async startLogin(stepUp = false) {
      let saved: string | undefined;
      const capture: CacheProvider = {
        saveAsync: async (key, value) => {
          saved = key;
          return { value, createdAt: now() };
        },
        getAsync: async () => null,
        removeAsync: async () => null,
      };
      const url = await samlWith(capture, stepUp).getAuthorizeUrlAsync('', undefined, {});
      if (!saved) throw new SamlSourceError('PAI_SSO_SAML_REQUEST_ID', 'node-saml did not record the AuthnRequest ID');
      return { url, requestId: saved };
    },

    async validate(samlResponse, pending) {
      const { profile } = await samlWith(cacheHolding(pending)).validatePostResponseAsync({ SAMLResponse: samlResponse });
      return profile;
    },
  };
}
