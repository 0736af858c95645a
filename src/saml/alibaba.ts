import type { Site } from '../config/schema.js';

// Facts about Alibaba's side of role-based SSO (../shared/spec/alibaba-role-sso.md §1, §3).
// Each site is a triplet that must never be mixed: the ACS we post to is also the
// Recipient in the assertion and the saml:recipient in the role's trust policy.

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

export const ATTR_ROLE = 'https://www.aliyun.com/SAML-Role/Attributes/Role';
export const ATTR_ROLE_SESSION_NAME = 'https://www.aliyun.com/SAML-Role/Attributes/RoleSessionName';
export const ATTR_SESSION_DURATION = 'https://www.aliyun.com/SAML-Role/Attributes/SessionDuration';

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

export const SESSION_DURATION_MIN = 900;
export const SESSION_DURATION_MAX = 43200;

// Intersection of the old (2-32, adds `,+`) and current (2-64) RoleSessionName rules.
export const ROLE_SESSION_NAME_PATTERN = /^[A-Za-z0-9._@=-]{2,32}$/;

export const ACCOUNT_ID_PATTERN = /^[0-9]{10,20}$/;
export const ROLE_NAME_PATTERN = /^[A-Za-z0-9.-]{1,64}$/;
// ≤128, letters, digits, . - _, not starting or ending with a symbol.
export const SAML_PROVIDER_NAME_PATTERN = /^(?=.{1,128}$)[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

export const roleArn = (accountId: string, roleName: string): string => `acs:ram::${accountId}:role/${roleName}`;
export const samlProviderArn = (accountId: string, provider: string): string =>
  `acs:ram::${accountId}:saml-provider/${provider}`;
