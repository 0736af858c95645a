import type { Config } from '../config/schema.js';
import { ConfigError, type ConfigProblem } from '../config/errors.js';
import type { SourceKind } from './user.js';
import type { IdentitySource, PasswordSource, RedirectSource, RequestSource } from './source.js';
import { createLocalSource } from './local.js';
import { createHeaderSource } from './header.js';

export interface IdentitySources {
  readonly password: readonly PasswordSource[];
  readonly redirect: readonly RedirectSource[];
  readonly request: RequestSource | undefined;
  readonly all: readonly IdentitySource[];
}

export function configuredKinds(config: Pick<Config, 'identity'>): SourceKind[] {
  const s = config.identity.source;
  return Array.isArray(s) ? [...s] : [s];
}

export interface SourceHooks {
  readonly env: NodeJS.ProcessEnv;
  readonly onReload?: (kind: SourceKind, detail: string) => void;
  readonly onError?: (kind: SourceKind, err: Error) => void;
}

/** A configured source's section; config validation already refuses a missing one. */
export function sectionOf<K extends Exclude<SourceKind, 'local'>>(
  config: Pick<Config, 'identity'>,
  kind: K,
): NonNullable<Config['identity'][K]> {
  const section = config.identity[kind];
  if (!section) throw new ConfigError('identity', [missingSection(kind)]);
  return section;
}

export const missingSection = (kind: SourceKind): ConfigProblem => ({
  path: `identity.${kind}`,
  reason: `is required when identity.source includes "${kind}"`,
});

// Upstream sources are imported only when configured: openid-client, ldapts and node-saml
// together add hundreds of milliseconds to a start that uses none of them.
async function createSource(kind: SourceKind, config: Config, hooks: SourceHooks): Promise<IdentitySource> {
  switch (kind) {
    case 'local':
      return createLocalSource({
        usersFile: config.identity.local.usersFile,
        onReload: (n) => hooks.onReload?.('local', `${n} users`),
        onReloadError: (err) => hooks.onError?.('local', err),
      });
    case 'header': {
      const header = sectionOf(config, 'header');
      return createHeaderSource(header, hooks.env);
    }
    case 'oidc': {
      const oidc = sectionOf(config, 'oidc');
      const { createOidcSource } = await import('./oidc.js');
      return createOidcSource(oidc, {
        baseUrl: config.server.baseUrl,
        cookieName: `${config.session.cookieName}_oidc`,
        env: hooks.env,
        onError: (err) => hooks.onError?.('oidc', err),
      });
    }
    case 'saml': {
      const saml = sectionOf(config, 'saml');
      const { createSamlUpstreamSource } = await import('./saml-upstream.js');
      return createSamlUpstreamSource(saml, { baseUrl: config.server.baseUrl, cookieName: `${config.session.cookieName}_saml` });
    }
    case 'ldap': {
      const ldap = sectionOf(config, 'ldap');
      const { createLdapSource } = await import('./ldap.js');
      return createLdapSource(ldap, hooks.env);
    }
  }
}

/** Builds every configured source, in the order the config lists them. */
export async function createSources(config: Config, hooks: SourceHooks): Promise<IdentitySources> {
  const all: IdentitySource[] = [];
  try {
    for (const kind of configuredKinds(config)) all.push(await createSource(kind, config, hooks));
  } catch (err) {
    await Promise.all(all.map((s) => s.close()));
    throw err;
  }
  return fromList(all);
}

export function fromList(all: readonly IdentitySource[]): IdentitySources {
  const requestSources = all.filter((s): s is RequestSource => s.type === 'request');
  return {
    password: all.filter((s): s is PasswordSource => s.type === 'password'),
    redirect: all.filter((s): s is RedirectSource => s.type === 'redirect'),
    request: requestSources[0],
    all,
  };
}

/** Warnings for mappings that name groups the way no configured source emits them. */
export function mappingWarnings(config: Pick<Config, 'mappings'>, sources: IdentitySources): string[] {
  const out: string[] = [];
  config.mappings.forEach((m, i) => {
    const notes = sources.all.map((s) => s.checkMappingGroup?.(m.group)).filter((w): w is string => w !== undefined);
    // Only when every source would miss it: with a local directory beside an IdP, a name may be right for one.
    if (notes.length > 0 && notes.length === sources.all.length) out.push(`mappings.${i}.group "${m.group}": ${notes.join('; ')}`);
  });
  return out;
}
