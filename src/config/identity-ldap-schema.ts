import { Type, type Static } from '@sinclair/typebox';

const Strict = { additionalProperties: false } as const;

/*
 * Keys whose sensible default depends on `directoryType` (user filter, id attribute,
 * group filter...) have no schema default: src/identity/ldap.ts fills them from one
 * table per directory type, so an AD config need not restate AD's attribute names.
 */

export const LdapDirectoryTypeSchema = Type.Union([Type.Literal('openldap'), Type.Literal('ad')], {
  default: 'openldap',
  description: 'ad: Active Directory defaults (sAMAccountName, objectGUID) and LDAP_MATCHING_RULE_IN_CHAIN for nested groups',
});

export const LdapGroupsSchema = Type.Object(
  {
    from: Type.Union([Type.Literal('memberOf'), Type.Literal('search')], {
      default: 'memberOf',
      description:
        "memberOf: the user entry's memberOf values (AD; OpenLDAP with the memberof overlay); search: groups whose member is the user",
    }),
    base: Type.Optional(Type.String({ minLength: 1, description: 'Where groups live; required for from: search and for nested groups' })),
    filter: Type.Optional(
      Type.String({
        minLength: 3,
        description:
          'Group search filter; {dn} is the (escaped) member DN. Default (&(objectClass=groupOfNames)(member={dn})), AD (&(objectClass=group)(member={dn}))',
      }),
    ),
    nameAttribute: Type.String({ minLength: 1, default: 'cn', description: 'Group display name, matched by mappings beside the DN' }),
    nested: Type.Boolean({
      default: false,
      description: 'Also the groups of the groups; AD: the in-chain matching rule, otherwise a bounded breadth-first search',
    }),
    maxDepth: Type.Integer({ minimum: 1, maximum: 20, default: 5, description: 'Levels of nesting followed by the breadth-first search' }),
  },
  Strict,
);

/** `identity.ldap`: an LDAP directory or Active Directory checked through the gateway's own login form. */
export const LdapIdentitySchema = Type.Object(
  {
    label: Type.String({ default: 'Company directory', maxLength: 128 }),
    url: Type.String({
      pattern: '^ldaps?://[^/@\\s]+/?$',
      description: 'ldap://host:389 or ldaps://host:636 (no credentials, no base DN)',
    }),
    startTLS: Type.Boolean({ default: false, description: 'Upgrade an ldap:// connection with StartTLS before any bind' }),
    caFile: Type.Optional(
      Type.String({ minLength: 1, description: 'PEM CA bundle trusted for ldaps:// or StartTLS; the system CAs otherwise' }),
    ),
    bindDN: Type.Optional(
      Type.String({ minLength: 1, description: 'Service account used to find users and groups; anonymous search when absent' }),
    ),
    /** Environment variable holding the service account's password; never the password itself in a file. */
    bindPasswordEnv: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', default: 'PAI_SSO_LDAP_BIND_PASSWORD' }),
    userBase: Type.String({ minLength: 1, description: 'Subtree searched for users, e.g. ou=people,dc=corp,dc=example' }),
    userFilter: Type.Optional(
      Type.String({
        minLength: 3,
        description:
          '{username} is replaced by the RFC 4515-escaped username. Default (&(objectClass=inetOrgPerson)(uid={username})), AD (&(objectClass=user)(sAMAccountName={username}))',
      }),
    ),
    usernameAttribute: Type.Optional(Type.String({ minLength: 1, description: 'Default uid, AD sAMAccountName' })),
    idAttribute: Type.Optional(
      Type.String({ minLength: 1, description: 'Stable, never reused id (the NameID). Default entryUUID, AD objectGUID' }),
    ),
    displayNameAttribute: Type.Optional(Type.String({ minLength: 1, description: 'Default cn, AD displayName' })),
    emailAttribute: Type.String({ minLength: 1, default: 'mail' }),
    groups: Type.Object(LdapGroupsSchema.properties, { ...Strict, default: {} }),
    timeoutMs: Type.Integer({ minimum: 200, maximum: 60000, default: 5000, description: 'Per connection attempt and per operation' }),
    directoryType: LdapDirectoryTypeSchema,
  },
  Strict,
);

export type LdapIdentityConfig = Static<typeof LdapIdentitySchema>;
export type LdapDirectoryType = Static<typeof LdapDirectoryTypeSchema>;
