import { Type, type Static } from '@sinclair/typebox';
import type { ConfigProblem } from './errors.js';

const Strict = { additionalProperties: false } as const;

/**
 * `identity.mfa`: the gateway's own second factor for users who sign in with a password
 * here (local directory, LDAP).
 * - off: no second factor at the gateway; enrolments are ignored and /account/security is gone.
 *   Roles with requireMfa are then reachable only through an upstream IdP's step-up.
 * - optional: users may enrol (TOTP, passkeys); whoever has enrolled must use it at every sign-in.
 * - required: every assertion needs a second factor; a user without one is sent to enrol.
 */
export const MfaModeSchema = Type.Union([Type.Literal('off'), Type.Literal('optional'), Type.Literal('required')], {
  default: 'optional',
  description: 'off | optional | required: the second factor for local and LDAP users (docs/mfa.md)',
});

/** `identity.secondFactor`: where enrolments live and how the factors behave. */
export const SecondFactorSchema = Type.Object(
  {
    dir: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Directory of enrolments, one 0600 file per user (encrypted); default: mfa/ beside identity.local.usersFile',
      }),
    ),
    totpIssuer: Type.String({ minLength: 1, maxLength: 64, default: 'pai-sso', description: 'The name authenticator apps show' }),
    totpSkewSteps: Type.Integer({
      minimum: 0,
      maximum: 2,
      default: 1,
      description: '30-second steps accepted either side of now (phone clock drift)',
    }),
    recoveryCodes: Type.Integer({ minimum: 4, maximum: 20, default: 10, description: 'Single-use recovery codes per user' }),
    pendingSeconds: Type.Integer({
      minimum: 60,
      maximum: 900,
      default: 300,
      description: 'Time between a correct password and the second factor',
    }),
    webauthnRpId: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9.-]{1,253}$',
        description: 'WebAuthn relying party ID: the host of server.baseUrl (default) or a registrable suffix of it',
      }),
    ),
    webauthnRpName: Type.String({ minLength: 1, maxLength: 64, default: 'pai-sso', description: 'Name shown by the passkey prompt' }),
  },
  { ...Strict, default: {} },
);

export type MfaMode = Static<typeof MfaModeSchema>;
export type SecondFactorConfig = Static<typeof SecondFactorSchema>;

/** `identity.oidc.stepUp`: how a role with requireMfa asks the OpenID Provider for a second factor, and what proves it. */
export const OidcStepUpSchema = Type.Object(
  {
    acrValues: Type.Array(Type.String({ minLength: 1, maxLength: 256, pattern: '^[\\x21-\\x7e]+$' }), {
      default: ['http://schemas.openid.net/pape/policies/2007/06/multi-factor'],
      description: 'Sent as acr_values on a step-up; an ID token whose acr is one of these proves it',
    }),
    maxAgeSeconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 86400, description: 'Sent as max_age on a step-up; auth_time is then checked' }),
    ),
    acceptAmr: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      default: ['mfa'],
      description: 'amr values (RFC 8176) that prove a second factor; Entra ID sends "mfa"',
    }),
    acceptAcr: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
      default: [],
      description: 'Further acr values that prove a second factor (Keycloak levels, Okta urn:okta:loa:2fa:any)',
    }),
  },
  { ...Strict, default: {} },
);

export const REFEDS_MFA = 'https://refeds.org/profile/mfa';

/** `identity.saml.stepUp`: the RequestedAuthnContext of a step-up, and the upstream classes that prove a second factor. */
export const SamlStepUpSchema = Type.Object(
  {
    authnContextClassRefs: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
      minItems: 1,
      default: [REFEDS_MFA, 'http://schemas.microsoft.com/claims/multipleauthn'],
      description: 'Asked for (RequestedAuthnContext, Comparison exact) on a step-up; an assertion with one of these proves it',
    }),
  },
  { ...Strict, default: {} },
);

export type OidcStepUpConfig = Static<typeof OidcStepUpSchema>;
export type SamlStepUpConfig = Static<typeof SamlStepUpSchema>;

interface MfaView {
  readonly identity?: { readonly mfa?: unknown; readonly source?: unknown };
  readonly roles?: Readonly<Record<string, { readonly requireMfa?: unknown } | undefined>>;
}

/** A role that demands a second factor nobody could ever present is a configuration mistake. */
export function checkMfa(c: MfaView): ConfigProblem[] {
  const source = c.identity?.source ?? 'local';
  const kinds = new Set(Array.isArray(source) ? (source as unknown[]) : [source]);
  const gatewayFactor = c.identity?.mfa !== 'off' && (kinds.has('local') || kinds.has('ldap'));
  const upstream = kinds.has('oidc') || kinds.has('saml');
  const out: ConfigProblem[] = [];
  if (gatewayFactor || upstream) return out;
  const why = 'no configured source can prove a second factor (identity.mfa is off, or only the header source is configured)';
  if (c.identity?.mfa === 'required') out.push({ path: 'identity.mfa', reason: `is required but ${why}` });
  for (const [key, role] of Object.entries(c.roles ?? {})) {
    if (role?.requireMfa === true) out.push({ path: `roles.${key}.requireMfa`, reason: `cannot be met: ${why}` });
  }
  return out;
}
