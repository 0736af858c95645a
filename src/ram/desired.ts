import { Value } from '@sinclair/typebox/value';
import type { Config } from '../config/schema.js';
import { RegisterSchema, type RegisterConfig, type WorkspaceMembership } from '../config/register-schema.js';
import { MAX_SESSION_DURATION_MIN, SAML_PROVIDER_DESCRIPTION_MAX, roleArn, samlProviderArn, siteFacts } from '../alibaba.js';
import { ConfigError } from '../config/errors.js';
import { gatewayMetadata, type PublishedCerts } from '../saml/metadata.js';
import { MANAGED_TAG, describeWithMarker, managedValue } from './ownership.js';

// What the cloud should look like, computed from the config and the signing certs alone.
// Pure: no I/O, so the planner can be tested without a network or a disk.

export type PolicyType = 'System' | 'Custom';
export interface PolicyRef {
  readonly type: PolicyType;
  readonly name: string;
}
export const policyKey = (p: PolicyRef): string => `${p.type}/${p.name}`;

/** A trust-policy statement as RAM stores it: open-ended JSON we must round-trip untouched. */
export type Statement = Record<string, unknown>;

export interface DesiredProvider {
  readonly name: string;
  readonly arn: string;
  readonly metadataXml: string;
  readonly metadataBase64: string;
  /** register.providerDescription with the ownership marker appended (ownership.ts). */
  readonly description: string;
  readonly authnSignAlgo: 'rsa-sha256';
}

/** RAM tags, key to value. */
export type Tags = Readonly<Record<string, string>>;

export interface DesiredRole {
  /** Key under `roles:` in the config, for messages. */
  readonly key: string;
  readonly roleName: string;
  readonly arn: string;
  readonly description: string | undefined;
  /** The statement that lets our provider's assertions assume the role. */
  readonly samlStatement: Statement;
  readonly trustedServices: readonly string[];
  /** `exact` when configured; otherwise only a floor, so a larger value set by hand stays. */
  readonly maxSessionDuration: { readonly exact?: number; readonly atLeast: number };
  readonly policies: readonly PolicyRef[];
  readonly workspaces: readonly WorkspaceMembership[];
  /** register.tags and the role's own tags, plus the ownership marker. */
  readonly tags: Tags;
}

export interface DesiredPolicy {
  readonly name: string;
  readonly document: string;
  readonly description: string;
  /** register.tags plus the ownership marker. */
  readonly tags: Tags;
}

export interface DesiredAccount {
  readonly key: string;
  readonly accountId: string;
  readonly profile: string | undefined;
  /** The ownership marker's value for this gateway (ownership.ts). */
  readonly managedBy: string;
  /** Addresses (`role/x`) the config lets register take over although it did not create them. */
  readonly adopt: readonly string[];
  readonly provider: DesiredProvider;
  /** Only when at least one role of this account attaches it. */
  readonly paiPolicy: DesiredPolicy | undefined;
  readonly roles: readonly DesiredRole[];
}

/** The register section with every default filled, also when the config has none. */
export function registerSettings(config: Config): RegisterConfig {
  return config.register ?? (Value.Default(RegisterSchema, {}) as RegisterConfig);
}

export function samlStatement(providerArn: string, acs: string): Statement {
  return {
    Effect: 'Allow',
    Action: 'sts:AssumeRole',
    Principal: { Federated: [providerArn] },
    Condition: { StringEquals: { 'saml:recipient': [acs] } },
  };
}

export function serviceStatement(services: readonly string[]): Statement {
  return { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: [...services] } };
}

export function desiredState(config: Config, keys: PublishedCerts, paiPolicyDocument: string): DesiredAccount[] {
  const reg = registerSettings(config);
  const site = siteFacts(config.idp.site);
  const metadataXml = gatewayMetadata(config, keys);
  const metadataBase64 = Buffer.from(metadataXml, 'utf8').toString('base64');
  const paiPolicyName = reg.paiPolicy.name;
  const managedBy = managedValue(config.idp.entityId);
  const providerDescription = describeWithMarker(reg.providerDescription, managedBy);
  if (providerDescription.length > SAML_PROVIDER_DESCRIPTION_MAX) {
    throw new ConfigError('register', [
      {
        path: 'register.providerDescription',
        reason: `with the ownership marker "[${MANAGED_TAG}=${managedBy}]" the provider description is ${providerDescription.length} characters; IMS allows ${SAML_PROVIDER_DESCRIPTION_MAX}: shorten it`,
      },
    ]);
  }
  const marker = { [MANAGED_TAG]: managedBy };

  return Object.entries(config.accounts).map(([key, account]) => {
    const providerArn = samlProviderArn(account.accountId, account.samlProvider);
    const roles = Object.entries(config.roles)
      .filter(([, r]) => r.account === key)
      .map(([roleKey, r]): DesiredRole => {
        const s = reg.roles[roleKey];
        const policies: PolicyRef[] = [
          ...(s?.attachPaiPolicy ? [{ type: 'Custom' as const, name: paiPolicyName }] : []),
          ...[...new Set(s?.systemPolicies ?? [])].map((name) => ({ type: 'System' as const, name })),
        ];
        return {
          key: roleKey,
          roleName: r.roleName,
          arn: roleArn(account.accountId, r.roleName),
          description: s?.description,
          samlStatement: samlStatement(providerArn, site.acs),
          trustedServices: [...new Set(s?.trustedServices ?? [])].sort(),
          maxSessionDuration: {
            ...(s?.maxSessionDuration !== undefined ? { exact: s.maxSessionDuration } : {}),
            atLeast: Math.max(MAX_SESSION_DURATION_MIN, r.sessionDuration ?? 0, s?.maxSessionDuration ?? 0),
          },
          policies,
          workspaces: s?.workspaces ?? [],
          tags: { ...reg.tags, ...(s?.tags ?? {}), ...marker },
        };
      });
    const wantsPolicy = roles.some((r) => r.policies.some((p) => p.type === 'Custom' && p.name === paiPolicyName));
    return {
      key,
      accountId: account.accountId,
      profile: reg.accounts[key]?.profile,
      managedBy,
      adopt: reg.adopt,
      provider: {
        name: account.samlProvider,
        arn: providerArn,
        metadataXml,
        metadataBase64,
        description: providerDescription,
        authnSignAlgo: 'rsa-sha256',
      },
      paiPolicy: wantsPolicy
        ? { name: paiPolicyName, document: paiPolicyDocument, description: reg.paiPolicy.description, tags: { ...reg.tags, ...marker } }
        : undefined,
      roles,
    };
  });
}
