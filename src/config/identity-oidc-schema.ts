import { Type, type Static } from '@sinclair/typebox';
import { OidcStepUpSchema } from './mfa-schema.js';

const Strict = { additionalProperties: false } as const;

/** `identity.oidc`: an OpenID Provider (Entra ID, Okta, Keycloak, ...) reached by the authorization code flow with PKCE. */
export const OidcIdentitySchema = Type.Object(
  {
    label: Type.String({ default: 'Company sign-in', maxLength: 128 }),
    issuer: Type.String({
      minLength: 1,
      description:
        'Issuer identifier; discovery reads <issuer>/.well-known/openid-configuration. https, or http only on 127.0.0.1/localhost',
    }),
    clientId: Type.String({ minLength: 1, maxLength: 512 }),
    /** Environment variable holding the client secret; never the secret itself in a file. */
    clientSecretEnv: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', default: 'PAI_SSO_OIDC_CLIENT_SECRET' }),
    tokenEndpointAuthMethod: Type.Union([Type.Literal('client_secret_basic'), Type.Literal('client_secret_post'), Type.Literal('none')], {
      default: 'client_secret_basic',
      description: 'none: a public client (PKCE only, no secret)',
    }),
    redirectPath: Type.String({
      pattern: '^/[A-Za-z0-9/_.-]{0,127}$',
      default: '/oidc/callback',
      description: 'Appended to server.baseUrl: the redirect URI to register at the IdP',
    }),
    scopes: Type.Array(Type.String({ pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$' }), {
      minItems: 1,
      default: ['openid', 'profile', 'email'],
    }),
    idClaim: Type.String({ minLength: 1, default: 'sub', description: 'Stable user id; Entra ID: oid (sub is per application)' }),
    usernameClaim: Type.String({ minLength: 1, default: 'preferred_username' }),
    groupsClaim: Type.String({
      minLength: 1,
      default: 'groups',
      description: 'Exact claim name first, then a dotted path (realm_access.roles)',
    }),
    groupsFromUserinfo: Type.Boolean({
      default: false,
      description: 'Read groups (and missing profile claims) from the userinfo endpoint',
    }),
    groupsAre: Type.Union([Type.Literal('names'), Type.Literal('ids')], {
      default: 'names',
      description: 'ids: the IdP sends group object IDs (Entra ID GUIDs); mappings naming groups are then warned about',
    }),
    allowedDomains: Type.Array(Type.String({ pattern: '^[A-Za-z0-9.-]{1,253}$' }), {
      default: [],
      description: 'When set, the verified email must be in one of these domains',
    }),
    requireVerifiedEmail: Type.Boolean({
      default: true,
      description: 'Trust the email claim only with email_verified=true; Entra ID sends no email_verified (set false there)',
    }),
    clockToleranceSeconds: Type.Integer({
      minimum: 0,
      maximum: 300,
      default: 30,
      description: 'Allowed clock difference for ID token times',
    }),
    timeoutSeconds: Type.Integer({ minimum: 1, maximum: 60, default: 10, description: 'Per request to the IdP' }),
    stepUp: OidcStepUpSchema,
  },
  Strict,
);

export type OidcIdentityConfig = Static<typeof OidcIdentitySchema>;
