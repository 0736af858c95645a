import type { ConfigProblem } from '../config/errors.js';
import type { Config } from '../config/schema.js';
import { readHeaderSettings } from './header.js';
import { readLdapSettings } from './ldap-settings.js';
import { readOidcSettings } from './oidc-settings.js';
import { loadIdpTrust } from './saml-upstream-idp.js';
import { problemsOf } from './settings.js';
import { configuredKinds, missingSection } from './sources.js';
import type { SourceKind } from './user.js';

async function checkSource(kind: SourceKind, identity: Config['identity'], env: NodeJS.ProcessEnv): Promise<readonly ConfigProblem[]> {
  const { ldap, oidc, saml, header } = identity;
  switch (kind) {
    case 'local':
      return []; // the users file is data the gateway creates and reloads, not a setting
    case 'ldap':
      return ldap ? problemsOf(readLdapSettings(ldap, env)) : [missingSection(kind)];
    case 'oidc':
      return oidc ? problemsOf(readOidcSettings(oidc, env)) : [missingSection(kind)];
    case 'saml':
      return saml ? problemsOf(await loadIdpTrust(saml)) : [missingSection(kind)];
    case 'header':
      return header ? problemsOf(readHeaderSettings(header, env)) : [missingSection(kind)];
  }
}

/**
 * Every check the configured identity sources make before they start, in the order the
 * config lists them: settings the schema cannot express, the files they will read, the
 * environment variables they need. Reads files; never opens a network connection. The
 * source factories run the same functions, so `pai-sso check` fails exactly where
 * `serve` would.
 */
export async function checkIdentitySettings(config: Pick<Config, 'identity'>, env: NodeJS.ProcessEnv): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  for (const kind of configuredKinds(config)) problems.push(...(await checkSource(kind, config.identity, env)));
  return problems;
}
