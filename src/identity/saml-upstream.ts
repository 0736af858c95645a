import type { SamlIdentityConfig } from '../config/identity-saml-schema.js';
import type { SourceStatus } from './user.js';
import type { RedirectSource } from './source.js';
import { loadIdpTrust, type IdpTrust } from './saml-upstream-idp.js';
import { SAML_UPSTREAM_PATHS, samlUpstreamRoutes } from './saml-upstream-routes.js';
import { createServiceProvider } from './saml-upstream-sp.js';
import { samlMappingGroupHint } from './saml-upstream-user.js';
import { settledOrThrow } from './settings.js';

export { SamlSourceError } from './errors.js';
export { SAML_UPSTREAM_PATHS } from './saml-upstream-routes.js';

export interface SamlSourceOptions {
  /** server.baseUrl: the ACS and the default entity ID hang off it. */
  readonly baseUrl: string;
  /** The one-time cookie binding an AuthnRequest to the browser that started it. */
  readonly cookieName?: string;
  readonly now?: () => number;
  /** How ready() asks whether the IdP answers; injectable for tests. */
  readonly probe?: (url: string) => Promise<void>;
}

const PROBE_CACHE_MS = 30_000;

async function defaultProbe(url: string): Promise<void> {
  // Any HTTP answer means the IdP is up; IdPs answer a bare GET with 200, 302 or 400.
  const res = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(3000) });
  await res.body?.cancel();
}

/** For /readyz: a live pinned certificate, and (when configured) an SSO URL that answers, cached. */
function readiness(
  cfg: SamlIdentityConfig,
  trust: IdpTrust,
  probe: (url: string) => Promise<void>,
  now: () => number,
): () => Promise<SourceStatus> {
  let probed: { at: number; status: SourceStatus } | undefined;
  return async () => {
    if (!trust.certs.some((c) => c.notAfter.getTime() > now())) return { ok: false, reason: 'IdP signing certificate expired' };
    if (!cfg.probeEntryPoint) return { ok: true };
    const t = now();
    if (probed && t - probed.at < PROBE_CACHE_MS) return probed.status;
    const origin = new URL(trust.entryPoint).origin;
    const status: SourceStatus = await probe(trust.entryPoint).then(
      () => ({ ok: true }),
      (err: unknown) => {
        const e = err as Error;
        return { ok: false, reason: `IdP ${origin} unreachable (${(e.cause as { code?: string } | undefined)?.code ?? e.name})` };
      },
    );
    probed = { at: t, status };
    return status;
  };
}

/**
 * Upstream SAML: the gateway is a service provider towards the company IdP (Entra ID,
 * ADFS, Okta, Keycloak). node-saml verifies signatures, time and audience against the
 * pinned IdP certificate; the rest (shape, comments, Issuer, Recipient, Destination,
 * the browser binding and replays) is checked in saml-upstream-routes.ts because
 * node-saml does not. Throws a ConfigError listing every problem with what the config
 * pins (the same checks `pai-sso check` runs).
 */
export async function createSamlUpstreamSource(cfg: SamlIdentityConfig, opts: SamlSourceOptions): Promise<RedirectSource> {
  const trust = settledOrThrow('identity.saml', await loadIdpTrust(cfg));
  const base = opts.baseUrl.replace(/\/+$/, '');
  const acsUrl = `${base}${SAML_UPSTREAM_PATHS.acs}`;
  const spEntityId = cfg.spEntityId ?? `${base}${SAML_UPSTREAM_PATHS.metadata}`;
  const now = opts.now ?? Date.now;
  const secure = new URL(base).protocol === 'https:';

  const routes = samlUpstreamRoutes({
    cfg,
    sp: createServiceProvider(cfg, trust, { acsUrl, spEntityId }, now),
    acsUrl,
    cookieName: opts.cookieName ?? 'pai_sso_saml',
    // The IdP POSTs back cross-site: a Lax cookie would stay behind. None needs Secure,
    // so plain-http deployments (loopback tests) fall back to Lax.
    cookieAttributes: { httpOnly: true, secure, sameSite: secure ? 'none' : 'lax', path: '/saml/upstream/' },
    now,
  });

  return {
    kind: 'saml',
    type: 'redirect',
    label: cfg.label,
    startPath: SAML_UPSTREAM_PATHS.login,
    callbackPath: SAML_UPSTREAM_PATHS.acs,
    routes,
    ready: readiness(cfg, trust, opts.probe ?? defaultProbe, now),
    async close() {},
    checkMappingGroup: (group) => samlMappingGroupHint(cfg.groupsAttribute, group),
  };
}
