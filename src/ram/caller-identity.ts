import OpenApi, { $OpenApiUtil } from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';

// STS 2015-04-01 GetCallerIdentity: which account a credential belongs to. register asks
// before it reads or writes anything (command.ts), because the only other evidence, the
// account in the ARNs the APIs return, is missing exactly when it matters most: an empty
// account returns no ARNs. The call needs no RAM permission. It goes through the generic
// RPC call of @alicloud/openapi-core (same signing and errors as the IMS and RAM SDKs).

export const STS_VERSION = '2015-04-01';

/** Who a credential is. */
export interface CallerIdentity {
  readonly accountId: string;
  readonly arn: string;
  readonly identityType: string;
}

export class StsClient {
  readonly #client: OpenApi.default;

  constructor(config: $OpenApiUtil.Config) {
    this.#client = new OpenApi.default(config);
  }

  async getCallerIdentity(): Promise<CallerIdentity> {
    const params = new $OpenApiUtil.Params({
      action: 'GetCallerIdentity',
      version: STS_VERSION,
      protocol: 'HTTPS',
      pathname: '/',
      method: 'POST',
      authType: 'AK',
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
    const res = await this.#client.callApi(params, new $OpenApiUtil.OpenApiRequest({ query: {} }), new RuntimeOptions({}));
    const body = (res['body'] ?? {}) as Record<string, unknown>;
    const text = (k: string) => (typeof body[k] === 'string' ? body[k] : '');
    return { accountId: text('AccountId'), arn: text('Arn'), identityType: text('IdentityType') };
  }
}
