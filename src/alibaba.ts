import { createHash } from 'node:crypto';

// Alibaba Cloud's side of role-based SSO, in one place: the sites, the attribute names the
// SP reads, the ARN shapes, the name rules RAM enforces and the session-length bounds.
// The bottom of the import graph: it imports nothing from the project, and config, saml,
// mapping and ram import from it. docs/register.md describes the cloud side in prose.

// --- Sites -------------------------------------------------------------------------------

export const SITE_IDS = ['cn', 'intl'] as const;
/** cn: the China site (aliyun.com); intl: the international site (alibabacloud.com). */
export type Site = (typeof SITE_IDS)[number];

/**
 * Each site is a set that must never be mixed: the ACS we post to is also the Recipient
 * in the assertion and the saml:recipient in the role's trust policy.
 */
export interface SiteFacts {
  /** The site's own domain: the ACS redirects into the console under it. */
  readonly domain: 'aliyun.com' | 'alibabacloud.com';
  readonly acs: string;
  readonly audience: string;
  readonly paiConsole: string;
  readonly spMetadata: string;
}

export const SITES: Readonly<Record<Site, SiteFacts>> = {
  cn: {
    domain: 'aliyun.com',
    acs: 'https://signin.aliyun.com/saml-role/sso',
    audience: 'urn:alibaba:cloudcomputing',
    paiConsole: 'https://pai.console.aliyun.com/',
    spMetadata: 'https://signin.aliyun.com/saml-role/sp-metadata.xml',
  },
  intl: {
    domain: 'alibabacloud.com',
    acs: 'https://signin.alibabacloud.com/saml-role/sso',
    audience: 'urn:alibaba:cloudcomputing:international',
    paiConsole: 'https://pai.console.alibabacloud.com/',
    spMetadata: 'https://signin.alibabacloud.com/saml-role/sp-metadata.xml',
  },
};

/** The one lookup of a site's facts: the ACS, Recipient and trust-policy recipient all come from it. */
export function siteFacts(site: Site): SiteFacts {
  return SITES[site];
}

/** Domains Alibaba accepts as RelayState; anything else is dropped or refused by the SP. */
export const RELAY_STATE_DOMAINS = [
  'aliyun.com',
  'hichina.com',
  'yunos.com',
  'taobao.com',
  'tmall.com',
  'alibabacloud.com',
  'alipay.com',
] as const;

export function isAllowedRelayState(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'https:' || parsed.username || parsed.password || parsed.port) return false;
  const host = parsed.hostname.toLowerCase();
  return RELAY_STATE_DOMAINS.some((d) => host === d || host.endsWith(`.${d}`));
}

// --- Assertion attributes ----------------------------------------------------------------

export const ATTR_ROLE = 'https://www.aliyun.com/SAML-Role/Attributes/Role';
export const ATTR_ROLE_SESSION_NAME = 'https://www.aliyun.com/SAML-Role/Attributes/RoleSessionName';
export const ATTR_SESSION_DURATION = 'https://www.aliyun.com/SAML-Role/Attributes/SessionDuration';

// --- Session length ----------------------------------------------------------------------

/** The SessionDuration attribute: console session seconds. */
export const SESSION_DURATION_MIN = 900;
export const SESSION_DURATION_MAX = 43200;
/** A RAM role's MaxSessionDuration: 3600..SESSION_DURATION_MAX seconds. */
export const MAX_SESSION_DURATION_MIN = 3600;
/**
 * A role's MaxSessionDuration when nobody set one: what RAM gives a new role, and the
 * console session length when the assertion carries no SessionDuration.
 */
export const DEFAULT_SESSION_DURATION = 3600;

// --- ARNs and names ----------------------------------------------------------------------

export const roleArn = (accountId: string, roleName: string): string => `acs:ram::${accountId}:role/${roleName}`;
export const samlProviderArn = (accountId: string, provider: string): string => `acs:ram::${accountId}:saml-provider/${provider}`;

export const ACCOUNT_ID_PATTERN = /^[0-9]{10,20}$/;
export const ROLE_NAME_PATTERN = /^[A-Za-z0-9.-]{1,64}$/;
// ≤128, letters, digits, . - _, not starting or ending with a symbol.
export const SAML_PROVIDER_NAME_PATTERN = /^(?=.{1,128}$)[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
/** RAM policy names: 1-128 letters, digits and "-". */
export const POLICY_NAME_PATTERN = /^[A-Za-z0-9-]{1,128}$/;
/** Service principals look like `dataworks.aliyuncs.com`. */
export const SERVICE_PRINCIPAL_PATTERN = /^[a-z0-9][a-z0-9.-]{0,126}\.aliyuncs\.com$/;
/** Region IDs look like `cn-hangzhou`. */
export const REGION_PATTERN = /^[a-z]{2,}(-[a-z0-9]+)+$/;
/**
 * The PAI workspace roles AIWorkspace 2021-02-04 `CreateMember` and `AddMemberRole` grant
 * (API reference: help/en/pai/developer-reference/api-aiworkspace-2021-02-04-createmember and
 * -addmemberrole). `ListMembers` can also report `PAI.WorkspaceOwner`, the role of the account
 * that owns the workspace; it is not granted through these calls, so the config refuses it
 * (docs/register.md).
 */
export const PAI_ROLES = [
  'PAI.AlgoDeveloper',
  'PAI.AlgoOperator',
  'PAI.LabelManager',
  'PAI.MaxComputeDeveloper',
  'PAI.WorkspaceAdmin',
  'PAI.WorkspaceGuest',
] as const;
/** Reported by ListMembers for the workspace owner; never granted by register. */
export const PAI_OWNER_ROLE = 'PAI.WorkspaceOwner';

// --- Documents and tags ------------------------------------------------------------------

/**
 * The longest trust policy (AssumeRolePolicyDocument) register writes. RAM documents the
 * error (`InvalidParameter.AssumeRolePolicyDocument.Length`) but no figure for trust
 * policies; 2,048 characters is RAM's documented policy-document limit before it was raised
 * to 6,144 for custom policies, and the figure an independent emulator of RAM enforces. See
 * docs/register.md.
 */
export const TRUST_POLICY_MAX_CHARS = 2048;
/** RAM tags on roles and policies (TagResources): at most 20 per resource, key and value up to 128 characters. */
export const TAGS_PER_RESOURCE_MAX = 20;
export const TAG_KEY_MAX = 128;
export const TAG_VALUE_MAX = 128;
/** Alibaba Cloud's tag rules: a key may not start with `aliyun` or `acs:`; neither key nor value may contain `http://` or `https://`. */
export function tagProblem(key: string, value: string): string | undefined {
  if (key.length === 0 || key.length > TAG_KEY_MAX) return `tag key must be 1-${TAG_KEY_MAX} characters`;
  if (/^(aliyun|acs:)/i.test(key)) return 'tag key must not start with "aliyun" or "acs:"';
  if (/https?:\/\//i.test(key) || /https?:\/\//i.test(value)) return 'tags must not contain "http://" or "https://"';
  if (value.length > TAG_VALUE_MAX) return `tag value must be at most ${TAG_VALUE_MAX} characters`;
  return undefined;
}
/** IMS SAML provider descriptions: at most 256 characters. */
export const SAML_PROVIDER_DESCRIPTION_MAX = 256;

// --- RoleSessionName ---------------------------------------------------------------------

// Intersection of the old (2-32, adds `,+`) and current (2-64) RoleSessionName rules.
export const ROLE_SESSION_NAME_PATTERN = /^[A-Za-z0-9._@=-]{2,32}$/;
const ROLE_SESSION_NAME_MAX = 32;
/** base64url characters (all inside the allowed set) of SHA-256: 72 bits. */
const HASH_LEN = 12;
const PREFIX_MAX = ROLE_SESSION_NAME_MAX - HASH_LEN - 1;

/** The readable part: the value folded into the allowed characters, at most PREFIX_MAX of them. */
function readablePrefix(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._@=-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, PREFIX_MAX)
    .replace(/-+$/, '');
}

/**
 * RoleSessionName shows in the console and ActionTrail, so it should read like the
 * person, and it must never be the same for two people: `<readable>-<hash>`, where the
 * readable part is the configured user field fitted to Alibaba's [A-Za-z0-9._@=-]{2,32}
 * and the hash is 12 base64url characters of SHA-256 over the user's source and stable
 * id. The last 12 characters alone tell users apart, so neither a lookalike username
 * ("zhang san" against a user literally named "zhang-san-6ab6d18b") nor the same name
 * in two identity sources can produce another person's value; the same user always gets
 * the same value, even after a rename.
 */
export function roleSessionName(readable: string, who: { readonly source: string; readonly id: string }): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([who.source, who.id]), 'utf8')
    .digest('base64url')
    .slice(0, HASH_LEN);
  return `${readablePrefix(readable) || 'u'}-${hash}`;
}
