// Alibaba Cloud's side of role-based SSO, typed out by hand from Alibaba's documentation,
// with the page each value was copied from beside it. These are the expected values of
// the tests: the node-saml stand-in for Alibaba (test/helpers/saml-sp.ts) and every
// expectation about a site, an attribute name or a name/duration rule read from here,
// never from src/. test/alibaba.test.ts checks that src/alibaba.ts says the same.
//
// Do not "fix" a value here to make a test pass: change it only when Alibaba's
// documentation says otherwise, and update the source note with it.
//
// Pages (the "Source" notes below refer to these):
// [SP-CN]    "进行角色SSO时企业IdP的SAML配置" (SAML settings of the enterprise IdP for role-based SSO),
//            China site; github.com/AlibabaCloudDocs/ram, cn.zh-CN/单点登录管理（SSO）/角色SSO/
// [SP-INTL]  "Configure Alibaba Cloud as a trusted SP for role-based SSO",
//            https://www.alibabacloud.com/help/en/ram/configure-alibaba-cloud-as-a-trusted-sp-for-role-based-sso
// [RESP]     "SAML response for role-based SSO" (current revision),
//            https://www.alibabacloud.com/help/en/ram/saml-response-for-role-based-sso
// [RESP-OLD] "角色SSO的SAML响应" (older revision, cn.zh-CN and intl.zh-CN),
//            github.com/AlibabaCloudDocs/ram, 单点登录管理（SSO）/角色SSO/角色SSO的SAML响应.md
// [IDP-ROLE] "Create a RAM role for a trusted IdP",
//            https://www.alibabacloud.com/help/en/ram/user-guide/create-a-ram-role-for-a-trusted-idp
// [PAI-SSO]  "Log on to the PAI console through SSO" (Access PAI by using a RAM role),
//            https://www.alibabacloud.com/help/en/pai/user-guide/log-on-to-the-pai-console-through-sso
// [MAX-SESS] "Specify the maximum session duration for a RAM role",
//            https://www.alibabacloud.com/help/en/ram/user-guide/specify-the-maximum-session-duration-for-a-ram-role

export interface SiteSpec {
  /** The SP's AssertionConsumerService: the form's action, Response@Destination, SubjectConfirmationData@Recipient, the trust policy's saml:recipient. */
  readonly acs: string;
  /** The SP's entityID: the one Audience the assertion must carry. */
  readonly audience: string;
  /** Where Alibaba publishes the SP metadata. */
  readonly spMetadata: string;
  /** The PAI console's home. */
  readonly paiConsole: string;
  /** The site's own domain (the ACS and the console live under it). */
  readonly domain: string;
}

export const CN: SiteSpec = {
  // Source: [SP-CN] (ACS URL), [RESP-OLD] cn (Recipient), [IDP-ROLE] (saml:recipient example)
  acs: 'https://signin.aliyun.com/saml-role/sso',
  // Source: [SP-CN] (entityID), [RESP-OLD] cn (Audience)
  audience: 'urn:alibaba:cloudcomputing',
  // Source: [SP-CN]
  spMetadata: 'https://signin.aliyun.com/saml-role/sp-metadata.xml',
  // Source: [PAI-SSO]
  paiConsole: 'https://pai.console.aliyun.com/',
  // Source: [SP-CN] (the ACS host), [PAI-SSO]
  domain: 'aliyun.com',
};

export const INTL: SiteSpec = {
  // Source: [SP-INTL] (ACS URL), [RESP-OLD] intl (Recipient), [IDP-ROLE] (saml:recipient)
  acs: 'https://signin.alibabacloud.com/saml-role/sso',
  // Source: [SP-INTL] (entityID), [RESP-OLD] intl (Audience)
  audience: 'urn:alibaba:cloudcomputing:international',
  // Source: [SP-INTL]
  spMetadata: 'https://signin.alibabacloud.com/saml-role/sp-metadata.xml',
  // Source: [PAI-SSO]
  paiConsole: 'https://pai.console.alibabacloud.com/',
  // Source: [SP-INTL] (the ACS host), [PAI-SSO]
  domain: 'alibabacloud.com',
};

export const SITE_SPECS = { cn: CN, intl: INTL } as const;

// Source: [RESP], [RESP-OLD]: the three attribute names the SP reads.
export const ATTR_ROLE = 'https://www.aliyun.com/SAML-Role/Attributes/Role';
export const ATTR_ROLE_SESSION_NAME = 'https://www.aliyun.com/SAML-Role/Attributes/RoleSessionName';
export const ATTR_SESSION_DURATION = 'https://www.aliyun.com/SAML-Role/Attributes/SessionDuration';
export const ATTRIBUTE = { role: ATTR_ROLE, roleSessionName: ATTR_ROLE_SESSION_NAME, sessionDuration: ATTR_SESSION_DURATION } as const;

/** Source: [RESP], [RESP-OLD]: each Role value is `<role ARN>,<SAML provider ARN>`, role first, no spaces. */
export const rolePair = (accountId: string, role: string, provider: string): string =>
  `acs:ram::${accountId}:role/${role},acs:ram::${accountId}:saml-provider/${provider}`;

export const ROLE_SESSION_NAME = {
  // Source: [RESP] (current): 2-64 characters, letters, digits and - _ . @ =
  current: { min: 2, max: 64, chars: /^[A-Za-z0-9_.@=-]+$/ },
  // Source: [RESP-OLD]: 2-32 characters, letters, digits and - _ . @ = , +
  older: { min: 2, max: 32, chars: /^[A-Za-z0-9_.@=,+-]+$/ },
} as const;

/** A name both revisions accept: what the gateway must always emit. */
export function acceptedByBothRoleSessionNameRules(name: string): boolean {
  return [ROLE_SESSION_NAME.current, ROLE_SESSION_NAME.older].every(
    (rule) => name.length >= rule.min && name.length <= rule.max && rule.chars.test(name),
  );
}

export const SESSION_DURATION = {
  // Source: [RESP]: SessionDuration is at least 900 seconds and at most the role's MaxSessionDuration.
  min: 900,
  // Source: [MAX-SESS]: a role's MaxSessionDuration is 3600-43200 seconds, 3600 unless set.
  roleMaxSessionDuration: { min: 3600, max: 43200, default: 3600 },
} as const;

// Source: [SP-CN], [SP-INTL]: RelayState must point into one of these domains.
export const RELAY_STATE_DOMAINS = [
  'aliyun.com',
  'hichina.com',
  'yunos.com',
  'taobao.com',
  'tmall.com',
  'alibabacloud.com',
  'alipay.com',
] as const;
