import { Type, type Static } from '@sinclair/typebox';
import { SamlStepUpSchema } from './mfa-schema.js';

const Strict = { additionalProperties: false } as const;

/** Entra ID's group claim: object IDs (GUIDs) unless the app registration says otherwise. */
export const ENTRA_GROUPS_CLAIM = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups';

/**
 * identity.saml: we are a SAML service provider towards the company's IdP.
 * Exactly one of idpCertPem, idpCertFile or idpMetadataFile pins the IdP's signing
 * certificate; a certificate carried inside a response is never trusted.
 */
export const SamlIdentitySchema = Type.Object(
  {
    label: Type.String({ maxLength: 128, default: 'Company sign-in (SAML)' }),
    entryPoint: Type.Optional(
      Type.String({
        pattern: '^https?://',
        maxLength: 2048,
        description: 'IdP SingleSignOnService URL (HTTP-Redirect); taken from idpMetadataFile when omitted',
      }),
    ),
    idpIssuer: Type.String({ minLength: 1, maxLength: 1024, description: 'IdP entity ID: the Issuer every accepted assertion must carry' }),
    idpCertPem: Type.Optional(Type.String({ minLength: 100, description: 'IdP signing certificate(s), PEM' })),
    idpCertFile: Type.Optional(Type.String({ minLength: 1, description: 'File holding the IdP signing certificate(s), PEM' })),
    idpMetadataFile: Type.Optional(
      Type.String({ minLength: 1, description: 'IdP metadata XML; its signing certificates are read once at startup' }),
    ),
    spEntityId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'Our entity ID and the required Audience; default <baseUrl>/saml/upstream/metadata',
      }),
    ),
    wantResponseSigned: Type.Boolean({
      default: false,
      description: 'Also require a signature on the samlp:Response (the Assertion must always be signed)',
    }),
    allowIdpInitiated: Type.Boolean({
      default: false,
      description: 'Accept responses without InResponseTo (IdP-initiated, e.g. from a portal tile)',
    }),
    nameIdFormat: Type.Optional(Type.String({ minLength: 1, description: 'NameIDPolicy Format to request; omitted: the IdP decides' })),
    idFrom: Type.String({ minLength: 1, default: 'nameID', description: 'Stable user id: "nameID" or an attribute name' }),
    usernameFrom: Type.String({ minLength: 1, default: 'nameID', description: 'Username: "nameID" or an attribute name' }),
    nameAttribute: Type.String({ minLength: 1, default: 'http://schemas.microsoft.com/identity/claims/displayname' }),
    emailAttribute: Type.String({ minLength: 1, default: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress' }),
    groupsAttribute: Type.String({ minLength: 1, default: ENTRA_GROUPS_CLAIM }),
    clockSkewSeconds: Type.Integer({ minimum: 1, maximum: 300, default: 60, description: 'Tolerance on NotBefore/NotOnOrAfter' }),
    requestTimeoutSeconds: Type.Integer({
      minimum: 60,
      maximum: 3600,
      default: 600,
      description: 'How long a started login may take at the IdP',
    }),
    maxResponseBytes: Type.Integer({
      minimum: 4096,
      maximum: 1048576,
      default: 262144,
      description: 'Largest accepted ACS form body (many groups make large responses)',
    }),
    maxResponseElements: Type.Integer({
      minimum: 100,
      maximum: 20000,
      default: 2500,
      description: 'Most XML elements (attributes: twice as many) in a Response; more is refused before it is parsed',
    }),
    replayCacheSize: Type.Integer({
      minimum: 100,
      maximum: 1000000,
      default: 10000,
      description: 'Unused: the replay cache lives in the state store (kept so existing configs load)',
    }),
    probeEntryPoint: Type.Boolean({ default: true, description: '/readyz checks that the IdP SSO URL answers' }),
    stepUp: SamlStepUpSchema,
  },
  Strict,
);

export type SamlIdentityConfig = Static<typeof SamlIdentitySchema>;
