import type { StsCredentials } from '../../sts/assume-role-with-saml.js';

// Each format is what a real consumer reads:
// - aliyun-external: the aliyun CLI's External mode (`process_command` prints this JSON);
// - env: the variables the aliyun CLI and the Alibaba Cloud SDKs (Python, Node, Go, Java,
//   the PAI SDK) read, as one `export` line for `eval "$(pai-sso credentials --format env)"`;
// - the Credentials URI body (ALIBABA_CLOUD_CREDENTIALS_URI, the CLI's CredentialsURI mode).

export const FORMATS = ['aliyun-external', 'env'] as const;
export type Format = (typeof FORMATS)[number];

export function aliyunExternal(c: StsCredentials): string {
  return `${JSON.stringify({ mode: 'StsToken', access_key_id: c.accessKeyId, access_key_secret: c.accessKeySecret, sts_token: c.securityToken })}\n`;
}

/** Single-quoted for POSIX shells; STS values are base64-like, but quoting costs nothing. */
const sh = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

export function envExports(c: StsCredentials): string {
  return `export ALIBABA_CLOUD_ACCESS_KEY_ID=${sh(c.accessKeyId)} ALIBABA_CLOUD_ACCESS_KEY_SECRET=${sh(c.accessKeySecret)} ALIBABA_CLOUD_SECURITY_TOKEN=${sh(c.securityToken)}\n`;
}

export function credentialsUriBody(c: StsCredentials): Record<string, string> {
  return {
    Code: 'Success',
    AccessKeyId: c.accessKeyId,
    AccessKeySecret: c.accessKeySecret,
    SecurityToken: c.securityToken,
    Expiration: c.expiration,
  };
}

export function render(format: Format, c: StsCredentials): string {
  return format === 'env' ? envExports(c) : aliyunExternal(c);
}
