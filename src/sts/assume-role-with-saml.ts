import Sts from '@alicloud/sts20150401';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import { PaiSsoError } from '../errors.js';

// STS AssumeRoleWithSAML (2015-04-01) through @alicloud/sts20150401: anonymous (the
// signed SAML Response is the credential), returns temporary credentials for the role.
// The SDK's own assumeRoleWithSAML puts every parameter, the whole base64 Response
// included, in the query string; the call below goes through the same client and response
// model with the parameters in a form body, so the assertion never appears in a URL (nor
// in a proxy's or the endpoint's access log).

export const DEFAULT_STS_ENDPOINT = 'sts.aliyuncs.com';
/** DurationSeconds STS accepts: 900..the role's MaxSessionDuration (at most 43200). */
export const STS_DURATION_MIN = 900;
export const STS_DURATION_MAX = 43200;

export interface StsCredentials {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken: string;
  /** ISO 8601, UTC, as STS wrote it. */
  readonly expiration: string;
  /** acs:...:assumed-role/<role>/<session>, when STS said. */
  readonly assumedRoleArn?: string;
}

export interface AssumeRoleWithSamlInput {
  /** host[:port], or a URL (http://127.0.0.1:8080 for a local endpoint, https://sts.cn-hangzhou.aliyuncs.com). */
  readonly endpoint: string;
  readonly samlResponse: string;
  readonly roleArn: string;
  readonly providerArn: string;
  readonly durationSeconds: number;
}

/** What to do about an STS refusal, by its code. */
const HINTS: readonly (readonly [RegExp, string])[] = [
  [
    /^AuthenticationFail\.SAMLAssertion\.Expired/,
    'the assertion reached STS after it expired: check this computer’s and the gateway’s clocks, then run `pai-sso login` again',
  ],
  [
    /^AuthenticationFail\.(SAML|IDPMetadata)/,
    'the provider metadata in RAM does not hold the gateway’s current certificate or entity ID: run `pai-sso register plan` on the gateway',
  ],
  [/^EntityNotExist\.SAMLProvider/, 'the SAML provider is not in RAM: run `pai-sso register apply` on the gateway'],
  [/^EntityNotExist\.Role/, 'the role is not in RAM: run `pai-sso register apply` on the gateway'],
  [
    /^NoPermission/,
    'the role’s trust policy does not trust this SAML provider for this site’s saml:recipient: run `pai-sso register plan` on the gateway',
  ],
  [/^InvalidParameter\.DurationSeconds/, 'ask for a shorter --duration, or raise the role’s MaxSessionDuration in RAM'],
  [/^InvalidParameter\.RoleSessionName/, 'the gateway’s idp.roleSessionName source yields a name STS refuses'],
  [/Throttling/, 'STS is throttling: wait a moment and try again'],
];

export function stsHint(code: string | undefined): string | undefined {
  return code === undefined ? undefined : HINTS.find(([re]) => re.test(code))?.[1];
}

export class StsCallError extends PaiSsoError {
  constructor(
    readonly apiCode: string | undefined,
    readonly statusCode: number | undefined,
    detail: string,
    readonly requestId: string | undefined,
  ) {
    const hint = stsHint(apiCode);
    const rid = requestId ? ` [RequestId ${requestId}]` : '';
    super(
      'PAI_SSO_STS',
      apiCode === undefined ? 'unavailable' : 'runtime',
      `STS AssumeRoleWithSAML failed: ${apiCode ?? 'no answer'}${statusCode ? ` (HTTP ${statusCode})` : ''}: ${detail}${rid}${hint ? `\n  hint: ${hint}` : ''}`,
    );
  }
}

/** DurationSeconds within what STS and the role allow. */
export function clampDuration(requested: number, roleMax: number): number {
  const max = Math.max(STS_DURATION_MIN, Math.min(roleMax, STS_DURATION_MAX));
  return Math.min(Math.max(Math.floor(requested), STS_DURATION_MIN), max);
}

function clientConfig(endpoint: string): $OpenApiUtil.Config {
  const withScheme = /^[a-z]+:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  const url = new URL(withScheme);
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || (url.pathname !== '/' && url.pathname !== '') || url.search) {
    throw new PaiSsoError('PAI_SSO_USAGE', 'usage', `--sts-endpoint must be a host[:port] or an http(s) origin, not "${endpoint}"`);
  }
  return new $OpenApiUtil.Config({
    endpoint: url.host,
    protocol: url.protocol.slice(0, -1),
    regionId: 'cn-hangzhou',
    connectTimeout: 5_000,
    readTimeout: 15_000,
  });
}

interface SdkError {
  code?: unknown;
  statusCode?: unknown;
  requestId?: unknown;
  data?: unknown;
  message?: unknown;
}

/** Calls STS; throws StsCallError with Alibaba's code and a hint. Never echoes the assertion. */
export async function assumeRoleWithSaml(input: AssumeRoleWithSamlInput): Promise<StsCredentials> {
  const client = new Sts.default(clientConfig(input.endpoint));
  const request = new $OpenApiUtil.OpenApiRequest({
    body: {
      SAMLAssertion: input.samlResponse,
      RoleArn: input.roleArn,
      SAMLProviderArn: input.providerArn,
      DurationSeconds: String(input.durationSeconds),
    },
  });
  let raw: Record<string, unknown>;
  try {
    raw = await client.doRPCRequest(
      'AssumeRoleWithSAML',
      '2015-04-01',
      'HTTPS',
      'POST',
      'Anonymous',
      'json',
      request,
      new $dara.RuntimeOptions({}),
    );
  } catch (err) {
    const e = err as SdkError;
    const data = (e.data ?? {}) as { Message?: unknown };
    // Alibaba's refusals carry an HTTP status; a network failure (ECONNREFUSED, a timeout) does not.
    const answered = typeof e.statusCode === 'number';
    const code = answered && typeof e.code === 'string' && e.code !== '' ? e.code : undefined;
    const detail =
      typeof data.Message === 'string'
        ? data.Message
        : code === undefined
          ? `cannot reach ${input.endpoint}: ${String(e.message)}`
          : 'refused';
    throw new StsCallError(
      code,
      answered ? (e.statusCode as number) : undefined,
      // The SDK's own message repeats the request URL; only the endpoint's text is kept.
      detail.replaceAll(input.samlResponse, '[SAMLAssertion]'),
      typeof e.requestId === 'string' ? e.requestId : undefined,
    );
  }
  const res = $dara.cast<InstanceType<typeof Sts.AssumeRoleWithSAMLResponse>>(raw, new Sts.AssumeRoleWithSAMLResponse({}));
  const c = res.body?.credentials;
  if (!c?.accessKeyId || !c.accessKeySecret || !c.securityToken || !c.expiration) {
    throw new StsCallError('InvalidResponse', res.statusCode, 'the answer carries no credentials', res.body?.requestId);
  }
  return {
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret,
    securityToken: c.securityToken,
    expiration: c.expiration,
    ...(res.body?.assumedRoleUser?.arn ? { assumedRoleArn: res.body.assumedRoleUser.arn } : {}),
  };
}
