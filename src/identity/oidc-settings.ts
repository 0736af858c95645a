import type { ConfigProblem } from '../config/errors.js';
import type { OidcIdentityConfig } from '../config/identity-oidc-schema.js';
import { settle, type Settled } from './settings.js';

export interface OidcSettings {
  readonly issuer: URL;
  /** Plain http to a loopback issuer (tests, a sidecar): openid-client must be told to allow it. */
  readonly insecure: boolean;
  /** undefined for tokenEndpointAuthMethod: none (a public client). */
  readonly clientSecret: string | undefined;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const P = 'identity.oidc';

/** The issuer URL and the client secret, checked without asking the IdP anything. */
export function readOidcSettings(cfg: OidcIdentityConfig, env: NodeJS.ProcessEnv): Settled<OidcSettings> {
  const problems: ConfigProblem[] = [];
  let issuer: URL | undefined;
  try {
    issuer = new URL(cfg.issuer);
  } catch {
    problems.push({ path: `${P}.issuer`, reason: 'must be an absolute URL' });
  }
  // Plain http only where nobody else can be on the wire: an IdP on this machine (tests, a sidecar).
  const insecure = issuer?.protocol === 'http:' && LOOPBACK.has(issuer.hostname);
  if (issuer && issuer.protocol !== 'https:' && !insecure) {
    problems.push({ path: `${P}.issuer`, reason: 'must be https (http is allowed only for 127.0.0.1 or localhost)' });
  }
  const clientSecret = cfg.tokenEndpointAuthMethod === 'none' ? undefined : env[cfg.clientSecretEnv];
  if (cfg.tokenEndpointAuthMethod !== 'none' && !clientSecret) {
    problems.push({
      path: `${P}.clientSecretEnv`,
      reason: `environment variable ${cfg.clientSecretEnv} must hold the client secret (or set tokenEndpointAuthMethod: none)`,
    });
  }
  return settle(problems, () => ({ issuer: issuer as URL, insecure, clientSecret }));
}
