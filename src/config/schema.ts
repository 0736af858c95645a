import { Type, type Static } from '@sinclair/typebox';
import { RegisterSchema } from './register-schema.js';
import { OidcIdentitySchema } from './identity-oidc-schema.js';
import { LdapIdentitySchema } from './identity-ldap-schema.js';
import { SamlIdentitySchema } from './identity-saml-schema.js';
import { SESSION_DURATION_MAX, SESSION_DURATION_MIN, SITE_IDS } from '../alibaba.js';
import { LoginThrottleSchema } from './throttle-schema.js';
import { ADMIN_LISTEN_PATTERN } from './admin-listener.js';
import { CliSchema } from './cli-schema.js';
import { MfaModeSchema, SecondFactorSchema } from './mfa-schema.js';

// One schema is the source of both the runtime validation (Ajv) and the
// TypeScript types, so the two cannot drift apart.

const Strict = { additionalProperties: false } as const;

export const SiteSchema = Type.Union(
  SITE_IDS.map((s) => Type.Literal(s)),
  {
    description: 'Alibaba Cloud site of every configured account: cn (aliyun.com) or intl (alibabacloud.com)',
  },
);

const Seconds = (min: number, max: number, def: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: def, description });

export const ServerSchema = Type.Object(
  {
    baseUrl: Type.String({ description: 'Public base URL users reach the gateway at' }),
    host: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    trustProxy: Type.Union([Type.Boolean(), Type.String(), Type.Array(Type.String())], {
      default: false,
      description: 'Deprecated: false, or addresses/CIDRs (read as trustedProxies); true is refused',
    }),
    trustedProxies: Type.Array(Type.String(), { default: [], description: 'Proxy addresses or CIDRs whose X-Forwarded-For is believed' }),
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 1048576, default: 16384 }),
    loginAttemptsPerMinute: Type.Integer({ minimum: 1, maximum: 10000, default: 20, description: 'POST /login per client address' }),
    loginThrottle: LoginThrottleSchema,
    shutdownGraceSeconds: Type.Number({
      minimum: 0,
      maximum: 120,
      default: 3,
      description: 'After SIGTERM: /readyz answers 503 and responses close their connection for this long, then the server stops',
    }),
    adminListen: Type.Optional(
      Type.String({
        pattern: ADMIN_LISTEN_PATTERN,
        description: 'host:port of a second listener for /metrics, /readyz with reasons and /healthz; /metrics leaves the main port',
      }),
    ),
    adminTokenEnv: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
        description: 'Environment variable holding a token (16+ characters): Authorization: Bearer <token> gets /readyz reasons',
      }),
    ),
    workers: Type.Union([Type.Integer({ minimum: 1, maximum: 256 }), Type.Literal('auto')], {
      default: 1,
      description: 'Processes serving requests (node:cluster); auto = one per core',
    }),
  },
  Strict,
);

export const NameIdFormatSchema = Type.Union([
  Type.Literal('persistent'),
  Type.Literal('emailAddress'),
  Type.Literal('transient'),
  Type.Literal('unspecified'),
]);

export const UserFieldSchema = Type.Union([Type.Literal('id'), Type.Literal('username'), Type.Literal('email')]);

export const IdpSchema = Type.Object(
  {
    entityId: Type.String({ minLength: 1, maxLength: 1024 }),
    site: SiteSchema,
    assertionLifetimeSeconds: Seconds(30, 600, 300, 'Validity of an assertion after issue'),
    clockSkewSeconds: Seconds(0, 300, 60, 'How far NotBefore is back-dated'),
    nameId: Type.Object(
      { format: NameIdFormatSchema, source: UserFieldSchema },
      { ...Strict, default: { format: 'persistent', source: 'id' } },
    ),
    roleSessionName: Type.Object({ source: UserFieldSchema }, { ...Strict, default: { source: 'username' } }),
    signResponse: Type.Boolean({ default: false, description: 'Also sign the samlp:Response (the Assertion is always signed)' }),
    roleSelection: Type.Union([Type.Literal('gateway'), Type.Literal('alibaba')], {
      default: 'gateway',
      description: 'gateway: our picker, one role per assertion; alibaba: send every role and let Alibaba ask',
    }),
  },
  Strict,
);

export const AccountSchema = Type.Object(
  {
    accountId: Type.String({ description: 'Alibaba Cloud account ID (digits)' }),
    samlProvider: Type.String({ description: 'Name of the RAM SAML provider holding our metadata' }),
    label: Type.Optional(Type.String({ maxLength: 128 })),
  },
  Strict,
);

export const RoleSchema = Type.Object(
  {
    account: Type.String(),
    roleName: Type.String(),
    label: Type.Optional(Type.String({ maxLength: 128 })),
    sessionDuration: Type.Optional(
      Type.Integer({ description: `Console session seconds, ${SESSION_DURATION_MIN}..${SESSION_DURATION_MAX}` }),
    ),
    cli: Type.Optional(Type.Boolean({ description: 'false keeps the role console-only: pai-sso login never gets credentials for it' })),
    requireMfa: Type.Optional(Type.Boolean({ description: 'Issue this role only after a second factor (docs/mfa.md)' })),
  },
  Strict,
);

export const MappingSchema = Type.Object(
  {
    group: Type.String({ minLength: 1 }),
    roles: Type.Array(Type.String(), { minItems: 1 }),
  },
  Strict,
);

export const TargetSchema = Type.Object(
  {
    url: Type.String({ description: 'RelayState: where Alibaba lands the user (an Alibaba-owned https URL)' }),
    label: Type.Optional(Type.String({ maxLength: 128 })),
  },
  Strict,
);

export const SessionSchema = Type.Object(
  {
    idleTimeoutSeconds: Seconds(60, 86400, 1800, 'Sign out after this much inactivity'),
    absoluteTimeoutSeconds: Seconds(300, 604800, 28800, 'Sign out this long after login, active or not'),
    cookieName: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'pai_sso' }),
    groupsMaxAgeSeconds: Seconds(0, 86400, 900, 'Re-read the groups from the source before an assertion when older than this'),
  },
  Strict,
);

export const LocalIdentitySchema = Type.Object(
  {
    usersFile: Type.String({
      default: 'var/users.yaml',
      description: 'Writable; default <PAI_SSO_DATA_DIR, else var>/users.yaml (config/users.yaml still read if only it exists)',
    }),
  },
  Strict,
);

export const SourceKindSchema = Type.Union([
  Type.Literal('local'),
  Type.Literal('ldap'),
  Type.Literal('oidc'),
  Type.Literal('saml'),
  Type.Literal('header'),
]);

export const HeaderIdentitySchema = Type.Object(
  {
    label: Type.String({ default: 'Company proxy' }),
    /** Addresses (exact IPs or CIDRs) of the proxies allowed to assert identity. */
    trustedSources: Type.Array(Type.String(), { minItems: 1 }),
    secretHeader: Type.String({ default: 'x-pai-sso-proxy-secret' }),
    /** Environment variable holding the shared secret; never the secret itself in a file. */
    secretEnv: Type.String({ default: 'PAI_SSO_PROXY_SECRET' }),
    userHeader: Type.String({ default: 'x-forwarded-user' }),
    emailHeader: Type.String({ default: 'x-forwarded-email' }),
    nameHeader: Type.Optional(Type.String()),
    groupsHeader: Type.String({ default: 'x-forwarded-groups' }),
    groupsSeparator: Type.String({ minLength: 1, maxLength: 4, default: ',' }),
  },
  Strict,
);

export const IdentitySchema = Type.Object(
  {
    /** One source, or several: the login page then offers a choice. */
    source: Type.Union([SourceKindSchema, Type.Array(SourceKindSchema, { minItems: 1, uniqueItems: true })], { default: 'local' }),
    caseInsensitiveGroups: Type.Boolean({ default: false, description: 'Match mapping groups to user groups ignoring case' }),
    mfa: MfaModeSchema,
    secondFactor: SecondFactorSchema,
    local: Type.Object(LocalIdentitySchema.properties, { ...Strict, default: {} }),
    header: Type.Optional(HeaderIdentitySchema),
    oidc: Type.Optional(OidcIdentitySchema),
    ldap: Type.Optional(LdapIdentitySchema),
    saml: Type.Optional(SamlIdentitySchema),
  },
  Strict,
);

export const KeysSchema = Type.Object(
  {
    dir: Type.String({ default: 'certs', description: 'Directory of signing key, certificate and session secret' }),
    commonName: Type.Optional(Type.String({ description: 'CN of a generated certificate; defaults to the base URL host' })),
    certValidityDays: Type.Integer({ minimum: 1, maximum: 3650, default: 1095 }),
  },
  Strict,
);

export const LogSchema = Type.Object(
  {
    level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
  },
  Strict,
);

export const RedisStateSchema = Type.Object(
  {
    url: Type.String({ description: 'redis://host:6379/0 or rediss:// (TLS); Redis 7 or Valkey. No password here: see passwordEnv' }),
    keyPrefix: Type.String({ minLength: 1, maxLength: 64, default: 'pai-sso:' }),
    /** Environment variable holding the AUTH password; never the password itself in a file. */
    passwordEnv: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' })),
    tls: Type.Optional(Type.Object({ caFile: Type.Optional(Type.String({ description: 'PEM CA bundle for a private CA' })) }, Strict)),
    connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 60000, default: 2000 }),
    commandTimeoutMs: Type.Integer({ minimum: 50, maximum: 60000, default: 1000 }),
  },
  Strict,
);

export const StateSchema = Type.Object(
  {
    store: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
      default: 'memory',
      description: 'memory: one process; redis: shared by every replica (sessions, revocations, throttles, replay caches)',
    }),
    redis: Type.Optional(RedisStateSchema),
  },
  Strict,
);

export const ConfigSchema = Type.Object(
  {
    server: ServerSchema,
    idp: IdpSchema,
    keys: Type.Object(KeysSchema.properties, { ...Strict, default: {} }),
    session: Type.Object(SessionSchema.properties, { ...Strict, default: {} }),
    identity: Type.Object(IdentitySchema.properties, { ...Strict, default: {} }),
    log: Type.Object(LogSchema.properties, { ...Strict, default: {} }),
    state: Type.Object(StateSchema.properties, { ...Strict, default: {} }),
    cli: Type.Object(CliSchema.properties, { ...Strict, default: {} }),
    accounts: Type.Record(Type.String(), AccountSchema),
    roles: Type.Record(Type.String(), RoleSchema),
    mappings: Type.Array(MappingSchema),
    targets: Type.Record(Type.String(), TargetSchema),
    defaultTarget: Type.Optional(Type.String()),
    register: Type.Optional(RegisterSchema),
  },
  Strict,
);

export type { Site } from '../alibaba.js';
export type NameIdFormat = Static<typeof NameIdFormatSchema>;
export type UserField = Static<typeof UserFieldSchema>;
export type MappingConfig = Static<typeof MappingSchema>;
export type Config = Static<typeof ConfigSchema>;
export type StateConfig = Config['state'];
export type RedisStateConfig = Static<typeof RedisStateSchema>;
export type HeaderIdentityConfig = Static<typeof HeaderIdentitySchema>;
