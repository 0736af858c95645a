import Credentials, {
  CLIProfileCredentialsProvider,
  StaticAKCredentialsProvider,
  StaticSTSCredentialsProvider,
} from '@alicloud/credentials';
import Ims from '@alicloud/ims20190815';
import Ram from '@alicloud/ram20150501';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { AiWorkspaceClient } from './aiworkspace.js';
import { StsClient } from './caller-identity.js';
import type { RegisterConfig } from '../config/register-schema.js';

// CJS module: under NodeNext the default import is module.exports, and the class is its
// `default` property.
export type Credential = Credentials.default;
const Credential = Credentials.default;

// Credentials and endpoints. Everything that decides *where* a call goes and *who* makes
// it lives here, so plan/apply code never sees a secret.

export type Endpoints = RegisterConfig['endpoints'];

export interface CredentialSource {
  readonly credential: Credential;
  /** Where the credential came from, safe to print (never the key itself). */
  readonly description: string;
}

/**
 * Picks the credential for one account.
 * - a configured aliyun CLI profile wins;
 * - otherwise ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET (and SECURITY_TOKEN) from `env`, read here
 *   rather than by the SDK because the SDK's own environment step only looks at process.env
 *   and tests (and embedding callers) pass their own environment;
 * - otherwise the SDK's default chain (OIDC role, CLI profile, ~/.alibabacloud/credentials,
 *   ECS RAM role, credentials URI).
 */
export function resolveCredential(profile: string | undefined, env: NodeJS.ProcessEnv): CredentialSource {
  if (profile) {
    const provider = CLIProfileCredentialsProvider.builder().withProfileName(profile).build();
    return { credential: new Credential(null, provider), description: `aliyun CLI profile "${profile}"` };
  }
  const id = env['ALIBABA_CLOUD_ACCESS_KEY_ID'];
  const secret = env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'];
  const token = env['ALIBABA_CLOUD_SECURITY_TOKEN'];
  if (id && secret) {
    const provider = token
      ? StaticSTSCredentialsProvider.builder().withAccessKeyId(id).withAccessKeySecret(secret).withSecurityToken(token).build()
      : StaticAKCredentialsProvider.builder().withAccessKeyId(id).withAccessKeySecret(secret).build();
    return {
      credential: new Credential(null, provider),
      description: `environment (ALIBABA_CLOUD_ACCESS_KEY_ID ${maskKeyId(id)}${token ? ', STS token' : ''})`,
    };
  }
  return { credential: new Credential(), description: 'default credential chain' };
}

/** Shows enough of an AccessKey ID to tell two apart; IDs are not secret but need not be printed whole. */
export function maskKeyId(id: string): string {
  return id.length <= 8 ? '****' : `${id.slice(0, 4)}****${id.slice(-4)}`;
}

export interface AccountClients {
  readonly ims: Ims.default;
  readonly ram: Ram.default;
  readonly sts: StsClient;
  /** One client per region; PAI workspaces are regional. */
  readonly pai: (region: string) => AiWorkspaceClient;
}

const TIMEOUTS = { connectTimeout: 5_000, readTimeout: 30_000 } as const;

function sdkConfig(credential: Credential, endpoint: string, protocol: string, regionId: string): $OpenApiUtil.Config {
  return new $OpenApiUtil.Config({ credential, endpoint, protocol, regionId, ...TIMEOUTS });
}

export function createClients(credential: Credential, endpoints: Endpoints): AccountClients {
  const { protocol } = endpoints;
  // IMS and RAM are global services; the region only satisfies the SDK's config check.
  const ims = new Ims.default(sdkConfig(credential, endpoints.ims, protocol, 'cn-hangzhou'));
  const ram = new Ram.default(sdkConfig(credential, endpoints.ram, protocol, 'cn-hangzhou'));
  const sts = new StsClient(sdkConfig(credential, endpoints.sts, protocol, 'cn-hangzhou'));
  const pai = new Map<string, AiWorkspaceClient>();
  return {
    ims,
    ram,
    sts,
    pai(region: string) {
      let c = pai.get(region);
      if (!c) {
        const endpoint = endpoints.aiworkspace.replaceAll('{region}', region);
        c = new AiWorkspaceClient(sdkConfig(credential, endpoint, protocol, region));
        pai.set(region, c);
      }
      return c;
    },
  };
}

/** Secrets the credential resolves to, so every line we print can be scrubbed of them. */
export async function credentialSecrets(credential: Credential): Promise<string[]> {
  const model = await credential.getCredential();
  return [model.accessKeySecret, model.securityToken, model.bearerToken].filter((s): s is string => typeof s === 'string' && s.length >= 4);
}
