import { randomBytes } from 'node:crypto';
import { SAML, ValidateInResponseTo, type CacheProvider, type Profile, type SamlConfig } from '@node-saml/node-saml';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ENTRA_GROUPS_CLAIM, type SamlIdentityConfig } from '../config/identity-saml-schema.js';
import type { SourceStatus, User } from './user.js';
import type { LoginCompletion, RedirectSource } from './source.js';
import { loadIdpTrust, SamlSourceError, type IdpTrust } from './saml-upstream-idp.js';
import { inspectAssertion, inspectResponse, reasonFor } from './saml-upstream-checks.js';
import { createReplayCache } from './saml-upstream-replay.js';
import { settledOrThrow } from './settings.js';
import { createFlowCookie, type Flow } from '../crypto/flow-cookie.js';

export { SamlSourceError } from './saml-upstream-idp.js';

export const SAML_UPSTREAM_PATHS = {
  login: '/saml/upstream/login',
  acs: '/saml/upstream/acs',
  metadata: '/saml/upstream/metadata',
} as const;

export interface SamlSourceOptions {
  /** server.baseUrl: the ACS and the default entity ID hang off it. */
  readonly baseUrl: string;
  /** The one-time cookie binding an AuthnRequest to the browser that started it. */
  readonly cookieName?: string;
  readonly now?: () => number;
  /** How ready() asks whether the IdP answers; injectable for tests. */
  readonly probe?: (url: string) => Promise<void>;
}

/** What the state cookie holds between the redirect out and the POST back. */
interface PendingRequest {
  readonly id: string;
  readonly returnTo: string;
}
type Pending = Flow<PendingRequest>;

const isPending = (p: Readonly<Record<string, unknown>>): boolean => typeof p['id'] === 'string' && typeof p['returnTo'] === 'string';

interface AcsBody {
  SAMLResponse: string;
  RelayState?: string;
}

const PROBE_CACHE_MS = 30_000;
const MAX_GROUPS = 2000;
const REPLAY_FALLBACK_MS = 3600_000;

const looksLikeGuid = (g: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(g);
const looksLikeSid = (g: string) => /^S-1-\d+(-\d+)+$/i.test(g);
// Identifiers end up in cookies, logs and RoleSessionName: printable, bounded.
const cleanValue = (v: string) => (/^[^\u0000-\u001f\u007f]{1,256}$/.test(v) ? v.trim() : undefined);

function strings(v: unknown): string[] {
  const list = Array.isArray(v) ? v : [v];
  return list.filter((x): x is string => typeof x === 'string');
}

async function defaultProbe(url: string): Promise<void> {
  // Any HTTP answer means the IdP is up; IdPs answer a bare GET with 200, 302 or 400.
  const res = await fetch(url, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(3000) });
  await res.body?.cancel();
}

/**
 * Upstream SAML: the gateway is a service provider towards the company IdP (Entra ID,
 * ADFS, Okta, Keycloak). node-saml verifies signatures, time and audience against the
 * pinned IdP certificate; the rest (shape, comments, Issuer, Recipient, Destination,
 * the browser binding and replays) is checked here because node-saml does not.
 */
export async function createSamlUpstreamSource(cfg: SamlIdentityConfig, opts: SamlSourceOptions): Promise<RedirectSource> {
  const trust: IdpTrust = settledOrThrow('identity.saml', await loadIdpTrust(cfg));
  const base = opts.baseUrl.replace(/\/+$/, '');
  const acsUrl = `${base}${SAML_UPSTREAM_PATHS.acs}`;
  const spEntityId = cfg.spEntityId ?? `${base}${SAML_UPSTREAM_PATHS.metadata}`;
  const now = opts.now ?? Date.now;
  const probe = opts.probe ?? defaultProbe;
  const cookieName = opts.cookieName ?? 'pai_sso_saml';
  const secure = new URL(base).protocol === 'https:';
  // The IdP POSTs back cross-site: a Lax cookie would stay behind. None needs Secure,
  // so plain-http deployments (loopback tests) fall back to Lax.
  const cookieOptions = { httpOnly: true, secure, sameSite: secure ? ('none' as const) : ('lax' as const), path: '/saml/upstream/' };
  const requestTtlMs = cfg.requestTimeoutSeconds * 1000;
  const replays = createReplayCache(cfg.replayCacheSize, now);

  // One SAML object per request, each with a cache holding at most this browser's
  // request ID: InResponseTo is then checked against the sealed cookie rather than a
  // process-local table, so any replica can finish a login another one started.
  const samlWith = (cache: CacheProvider): SAML => {
    const options: SamlConfig = {
      idpCert: trust.certs.map((c) => c.pem),
      issuer: spEntityId,
      callbackUrl: acsUrl,
      entryPoint: trust.entryPoint,
      idpIssuer: cfg.idpIssuer,
      audience: spEntityId,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: cfg.wantResponseSigned,
      acceptedClockSkewMs: cfg.clockSkewSeconds * 1000,
      validateInResponseTo: cfg.allowIdpInitiated ? ValidateInResponseTo.ifPresent : ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: requestTtlMs,
      cacheProvider: cache,
      identifierFormat: cfg.nameIdFormat ?? null,
      // node-saml asks for PasswordProtectedTransport by default; Entra then refuses users
      // who signed in with MFA or passwordless (AADSTS75011).
      disableRequestedAuthnContext: true,
      generateUniqueId: () => `_${randomBytes(20).toString('hex')}`,
    };
    return new SAML(options);
  };

  const noCache: CacheProvider = {
    saveAsync: async () => null,
    getAsync: async () => null,
    removeAsync: async () => null,
  };

  const cacheHolding = (pending: Pending | undefined): CacheProvider => ({
    saveAsync: async () => null,
    getAsync: async (key) => (pending && key === pending.id ? new Date(pending.exp - requestTtlMs).toISOString() : null),
    // The cookie is cleared on the reply; the replay cache catches a resent copy.
    removeAsync: async () => null,
  });

  const metadataXml = samlWith(noCache).generateServiceProviderMetadata(null, null);

  const userFrom = (profile: Profile): User | undefined => {
    const attributes = (profile['attributes'] ?? {}) as Record<string, unknown>;
    const one = (from: string): string | undefined => {
      const raw = from === 'nameID' ? profile.nameID : strings(attributes[from])[0];
      return typeof raw === 'string' ? cleanValue(raw) : undefined;
    };
    const id = one(cfg.idFrom);
    const username = one(cfg.usernameFrom);
    if (!id || !username) return undefined;
    const groups = [...new Set(strings(attributes[cfg.groupsAttribute]).map(cleanValue).filter((g): g is string => !!g))].slice(0, MAX_GROUPS);
    return {
      id,
      username,
      displayName: one(cfg.nameAttribute) ?? username,
      email: one(cfg.emailAttribute),
      groups,
      source: 'saml',
    };
  };

  let probed: { at: number; status: SourceStatus } | undefined;

  const routes: FastifyPluginAsync<{ completion: LoginCompletion }> = async (app, { completion }) => {
    const pendingCookie = createFlowCookie<PendingRequest>({
      name: cookieName,
      sealer: completion.sealer('saml'),
      ttlSeconds: cfg.requestTimeoutSeconds,
      isShape: isPending,
      attributes: cookieOptions,
      now,
    });

    app.get(SAML_UPSTREAM_PATHS.metadata, async (_request, reply) =>
      reply.header('cache-control', 'no-cache').type('application/samlmetadata+xml; charset=utf-8').send(metadataXml),
    );

    app.get(SAML_UPSTREAM_PATHS.login, async (request, reply) => {
      let saved: string | undefined;
      const capture: CacheProvider = {
        saveAsync: async (key, value) => {
          saved = key;
          return { value, createdAt: now() };
        },
        getAsync: async () => null,
        removeAsync: async () => null,
      };
      const url = await samlWith(capture).getAuthorizeUrlAsync('', undefined, {});
      if (!saved) throw new SamlSourceError('PAI_SSO_SAML_REQUEST_ID', 'node-saml did not record the AuthnRequest ID');
      pendingCookie.begin(reply, { id: saved, returnTo: completion.returnTo(request) });
      reply.header('cache-control', 'no-store');
      return reply.redirect(url, 302);
    });

    app.post<{ Body: AcsBody }>(
      SAML_UPSTREAM_PATHS.acs,
      {
        bodyLimit: cfg.maxResponseBytes,
        schema: {
          body: {
            type: 'object',
            required: ['SAMLResponse'],
            properties: {
              SAMLResponse: { type: 'string', minLength: 1, maxLength: cfg.maxResponseBytes, pattern: '^[A-Za-z0-9+/=\\s]+$' },
              RelayState: { type: 'string', maxLength: 1024 },
            },
            additionalProperties: false,
          },
        },
      },
      async (request, reply) => {
        const pending = pendingCookie.read(request);
        pendingCookie.end(reply);
        const refuse = (status: number, reason: string, detail?: string, user?: string): FastifyReply => {
          if (detail) request.log.info({ source: 'saml', reason, detail: detail.slice(0, 300) }, 'upstream SAML response refused');
          return completion.fail(request, reply, status, reason, user);
        };

        const xml = Buffer.from(request.body.SAMLResponse, 'base64').toString('utf8');
        const shape = inspectResponse(xml);
        if ('refused' in shape) return refuse(shape.status, shape.refused);
        const facts = shape.ok;
        // Solicited: this browser must hold the request the response answers. Without
        // that, a response captured from (or made for) someone else's login would sign
        // this browser in: login CSRF.
        if (facts.inResponseTo !== undefined && !pending) return refuse(400, 'no-login-state');
        if (facts.inResponseTo !== undefined && pending && facts.inResponseTo !== pending.id) return refuse(403, 'request-mismatch');
        if (facts.inResponseTo === undefined && !cfg.allowIdpInitiated) return refuse(403, 'unsolicited-response');

        let profile: Profile | null;
        try {
          ({ profile } = await samlWith(cacheHolding(pending)).validatePostResponseAsync({ SAMLResponse: request.body.SAMLResponse }));
        } catch (err) {
          const { reason, status } = reasonFor(err);
          return refuse(status, reason, (err as Error).message);
        }
        if (!profile) return refuse(400, 'no-assertion');
        const nameId = typeof profile.nameID === 'string' ? profile.nameID : undefined;

        // Issuer: node-saml does not compare it on login responses.
        if (profile.issuer !== cfg.idpIssuer) return refuse(403, 'wrong-issuer', `assertion issuer ${String(profile.issuer)}`, nameId);
        if (facts.responseIssuer !== undefined && facts.responseIssuer !== cfg.idpIssuer) return refuse(403, 'wrong-issuer', 'response issuer', nameId);
        // Destination is required on a signed Response (SAML bindings §3.5.5.2) and must be us whenever present.
        if (facts.destination !== undefined ? facts.destination !== acsUrl : cfg.wantResponseSigned) {
          return refuse(403, 'wrong-destination', `destination ${String(facts.destination)}`, nameId);
        }
        const assertionXml = profile.getAssertionXml?.();
        if (!assertionXml) return refuse(400, 'no-assertion', undefined, nameId);
        const checked = inspectAssertion(assertionXml, acsUrl, facts.inResponseTo);
        if ('refused' in checked) return refuse(checked.status, checked.refused, undefined, nameId);

        const user = userFrom(profile);
        if (!user) return refuse(403, 'malformed-user', `no usable ${cfg.idFrom}/${cfg.usernameFrom}`, nameId);

        // Last, and with no await after it: two concurrent posts of one assertion cannot both pass.
        const t = now();
        const expiresAt = Math.min(checked.ok.expiresAt ?? t + REPLAY_FALLBACK_MS, t + REPLAY_FALLBACK_MS) + cfg.clockSkewSeconds * 1000;
        if (!replays.firstUse(checked.ok.id, expiresAt)) return refuse(403, 'replayed-assertion', undefined, user.username);

        return completion.succeed(request, reply, user, pending?.returnTo ?? completion.returnTo(request));
      },
    );
  };

  const certWarning = (): string | undefined => {
    const live = trust.certs.filter((c) => c.notAfter.getTime() > now());
    return live.length === 0 ? 'IdP signing certificate expired' : undefined;
  };

  return {
    kind: 'saml',
    type: 'redirect',
    label: cfg.label,
    startPath: SAML_UPSTREAM_PATHS.login,
    routes,
    async ready(): Promise<SourceStatus> {
      const expired = certWarning();
      if (expired) return { ok: false, reason: expired };
      if (!cfg.probeEntryPoint) return { ok: true };
      const t = now();
      if (probed && t - probed.at < PROBE_CACHE_MS) return probed.status;
      const origin = new URL(trust.entryPoint).origin;
      const status: SourceStatus = await probe(trust.entryPoint).then(
        () => ({ ok: true }),
        (err: Error) => ({ ok: false, reason: `IdP ${origin} unreachable (${(err.cause as { code?: string } | undefined)?.code ?? err.name})` }),
      );
      probed = { at: t, status };
      return status;
    },
    async close() {},
    checkMappingGroup(group) {
      if (cfg.groupsAttribute !== ENTRA_GROUPS_CLAIM || looksLikeGuid(group) || looksLikeSid(group)) return undefined;
      return `identity.saml sends ${ENTRA_GROUPS_CLAIM}, which Entra ID fills with group object IDs (GUIDs) and ADFS with SIDs; "${group}" looks like a name`;
    },
  };
}
