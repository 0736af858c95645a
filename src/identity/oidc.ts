import * as client from 'openid-client';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { OidcIdentityConfig } from '../config/identity-oidc-schema.js';
import type { SourceStatus } from './user.js';
import type { LoginCompletion, RedirectSource } from './source.js';
import { mappingGroupHint, userFromClaims, type Claims } from './oidc-claims.js';
import { refusalFor, upstreamErrorRefusal } from './oidc-errors.js';
import { OidcSourceError } from './errors.js';
import { readOidcSettings } from './oidc-settings.js';
import { settledOrThrow } from './settings.js';
import { createOidcHealth, discoveryUrlOf } from './oidc-health.js';
import { createFlowCookie } from '../crypto/flow-cookie.js';
import { oidcProvesMfa } from './upstream-mfa.js';

export { OidcSourceError };

export interface OidcSourceOptions {
  /** server.baseUrl: the redirect URI is this plus `redirectPath`. */
  readonly baseUrl: string;
  /** Name of the one-time cookie carrying state, nonce and PKCE verifier. */
  readonly cookieName?: string;
  readonly env: NodeJS.ProcessEnv;
  /** Told once per new discovery failure (the gateway logs it). */
  readonly onError?: (err: Error) => void;
  readonly now?: () => number;
  /** After a failed discovery, how long ready() and the start route wait before asking again. */
  readonly rediscoverAfterMs?: number;
  /** How long a readiness probe of discovery and JWKS is reused (default 10 s). */
  readonly readyIntervalMs?: number;
}

/** What the one-time cookie holds between the redirect out and the callback. */
interface OidcFlow {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly returnTo: string;
  /** A step-up: the gateway asked for a second factor (acr_values, max_age) and refuses an answer without one. */
  readonly stepUp?: boolean;
}

const FLOW_SECONDS = 600;
export const OIDC_START_PATH = '/oidc/login';

const isFlow = (f: Readonly<Record<string, unknown>>): boolean =>
  ['state', 'nonce', 'verifier', 'returnTo'].every((k) => typeof f[k] === 'string');

/** Why discovery failed, in words an operator can act on and without anything secret. */
function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return 'unknown error';
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const detail = typeof cause?.code === 'string' ? cause.code : cause instanceof Error ? cause.message : undefined;
  return detail ? `${err.message} (${detail})` : err.message;
}

function clientAuth(cfg: OidcIdentityConfig, secret: string | undefined): client.ClientAuth {
  if (cfg.tokenEndpointAuthMethod === 'none' || secret === undefined) return client.None();
  return cfg.tokenEndpointAuthMethod === 'client_secret_post' ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
}

/**
 * Discovery that never throws at startup: the first attempt starts at once, a failure
 * is remembered (ready() reports it) and retried on demand, no more often than the
 * back-off allows, so a down IdP is neither a crash nor a request storm.
 */
function lazyDiscovery(
  run: () => Promise<client.Configuration>,
  opts: { now: () => number; retryMs: number; onError?: ((err: Error) => void) | undefined },
) {
  let config: client.Configuration | undefined;
  let pending: Promise<client.Configuration | undefined> | undefined;
  let failure: { reason: string; at: number } | undefined;

  const attempt = (): Promise<client.Configuration | undefined> => {
    pending ??= run()
      .then(
        (c) => {
          config = c;
          failure = undefined;
          return c;
        },
        (err: unknown) => {
          const reason = describeFailure(err);
          if (reason !== failure?.reason) opts.onError?.(new OidcSourceError('PAI_SSO_OIDC_DISCOVERY', `discovery failed: ${reason}`));
          failure = { reason, at: opts.now() };
          return undefined;
        },
      )
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };

  return {
    async get(): Promise<client.Configuration | undefined> {
      if (config) return config;
      if (failure && opts.now() - failure.at < opts.retryMs) return undefined;
      return attempt();
    },
    failure: () => failure?.reason,
    start: () => void attempt(),
  };
}

/** OpenID Connect: authorization code flow with PKCE, state and nonce, via openid-client. */
export function createOidcSource(cfg: OidcIdentityConfig, opts: OidcSourceOptions): RedirectSource {
  const now = opts.now ?? Date.now;
  const { issuer, insecure, clientSecret } = settledOrThrow('identity.oidc', readOidcSettings(cfg, opts.env));
  const auth = clientAuth(cfg, clientSecret);
  const redirectUri = new URL(`${opts.baseUrl.replace(/\/+$/, '')}${cfg.redirectPath}`);
  const cookieName = opts.cookieName ?? 'pai_sso_oidc';
  const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, secure: redirectUri.protocol === 'https:', path: cfg.redirectPath };
  // Plain http for a loopback issuer only (tests, local development): readOidcSettings refuses any other.
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- openid-client deprecates it only to make it stand out, as above
  const allowHttp = insecure ? [client.allowInsecureRequests] : [];
  const discovered = lazyDiscovery(
    () =>
      client.discovery(issuer, cfg.clientId, { [client.clockTolerance]: cfg.clockToleranceSeconds }, auth, {
        // Non-repudiation: verify the ID token's signature against the IdP's JWKS too. The spec lets a
        // client rely on TLS to the token endpoint instead; a forged or mis-signed token should not pass either way.
        execute: [...allowHttp, client.enableNonRepudiationChecks],
        timeout: cfg.timeoutSeconds,
      }),
    { now, retryMs: opts.rediscoverAfterMs ?? 5000, onError: opts.onError },
  );
  discovered.start();
  const health = createOidcHealth({
    discoveryUrl: discoveryUrlOf(issuer),
    intervalMs: opts.readyIntervalMs ?? 10_000,
    // Short: /readyz must answer before the orchestrator's probe gives up.
    timeoutMs: Math.min(cfg.timeoutSeconds * 1000, 2000),
    now,
  });

  const unavailable = (completion: LoginCompletion, request: FastifyRequest, reply: FastifyReply) =>
    completion.fail(request, reply, 503, 'source-unavailable');

  const routes: FastifyPluginAsync<{ completion: LoginCompletion }> = async (app, { completion }) => {
    const flowCookie = createFlowCookie<OidcFlow>({
      name: cookieName,
      sealer: completion.sealer('oidc'),
      ttlSeconds: FLOW_SECONDS,
      isShape: isFlow,
      attributes: cookieOptions,
      now,
    });

    app.get<{ Querystring: { mfa?: string } }>(OIDC_START_PATH, async (request, reply) => {
      const config = await discovered.get();
      if (!config) return unavailable(completion, request, reply);
      const verifier = client.randomPKCECodeVerifier();
      // ?mfa=1: a role with requireMfa sent the user back to ask the IdP for a second factor.
      const stepUp = request.query.mfa === '1';
      const flow: OidcFlow = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        verifier,
        returnTo: completion.returnTo(request),
        ...(stepUp ? { stepUp } : {}),
      };
      const target = client.buildAuthorizationUrl(config, {
        ...(stepUp && cfg.stepUp.acrValues.length > 0 ? { acr_values: cfg.stepUp.acrValues.join(' ') } : {}),
        ...(stepUp && cfg.stepUp.maxAgeSeconds !== undefined ? { max_age: String(cfg.stepUp.maxAgeSeconds) } : {}),
        redirect_uri: redirectUri.href,
        scope: cfg.scopes.join(' '),
        state: flow.state,
        nonce: flow.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      flowCookie.begin(reply, flow);
      return reply.redirect(target.href, 302);
    });

    // The query holds the authorization code: keep the access log (info) from writing the URL down.
    app.get<{ Querystring: Record<string, string | string[] | undefined> }>(
      cfg.redirectPath,
      { logLevel: 'warn' },
      async (request, reply) => {
        // One-time: whatever happens next, this flow cannot be replayed.
        const flow = flowCookie.read(request);
        flowCookie.end(reply);
        const q = request.query;
        const one = (k: string) => (typeof q[k] === 'string' ? q[k] : undefined);

        if (!flow) return completion.fail(request, reply, 400, 'oidc-no-flow');
        // An IdP-reported error (the user declined, consent missing) needs no further checks.
        const upstreamError = one('error');
        if (upstreamError !== undefined) {
          const r = upstreamErrorRefusal(upstreamError);
          return completion.fail(request, reply, r.status, r.reason);
        }
        // The state is compared by openid-client (expectedState below), before it calls the token
        // endpoint: a missing or other state never redeems the code (test/identity/oidc.test.ts).

        const config = await discovered.get();
        if (!config) return unavailable(completion, request, reply);

        // The URL the IdP sent the browser to, rebuilt on our public base: behind a proxy request.url alone is not it.
        const current = new URL(redirectUri);
        const search = request.url.indexOf('?');
        current.search = search >= 0 ? request.url.slice(search) : '';

        let idClaims: Claims | undefined;
        let userinfo: Claims | undefined;
        try {
          const tokens = await client.authorizationCodeGrant(config, current, {
            pkceCodeVerifier: flow.verifier,
            expectedState: flow.state,
            expectedNonce: flow.nonce,
            idTokenExpected: true,
            // max_age sent: openid-client then requires auth_time and checks it.
            ...(flow.stepUp && cfg.stepUp.maxAgeSeconds !== undefined ? { maxAge: cfg.stepUp.maxAgeSeconds } : {}),
          });
          const claims = tokens.claims();
          idClaims = claims;
          if (claims && cfg.groupsFromUserinfo) userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
        } catch (err) {
          const r = refusalFor(err);
          // Message and code only: openid-client errors can carry token endpoint bodies in their cause.
          request.log.warn(
            { source: 'oidc', reason: r.reason, code: (err as { code?: unknown }).code, msg: (err as Error).message },
            'oidc callback refused',
          );
          return completion.fail(request, reply, r.status, r.reason);
        }
        if (!idClaims) return completion.fail(request, reply, 401, 'id-token-missing');

        const outcome = userFromClaims(cfg, idClaims, userinfo);
        if ('rejected' in outcome) return completion.fail(request, reply, 403, outcome.rejected, outcome.who);
        // From the signed ID token only: amr/acr say whether the IdP checked a second factor.
        const mfa = oidcProvesMfa(cfg.stepUp, idClaims);
        if (flow.stepUp && !mfa) return completion.fail(request, reply, 403, 'mfa-not-proven', outcome.user.username);
        return completion.succeed(request, reply, outcome.user, flow.returnTo, mfa ? { mfa: 'upstream' } : undefined);
      },
    );
  };

  return {
    kind: 'oidc',
    type: 'redirect',
    label: cfg.label,
    startPath: OIDC_START_PATH,
    callbackPath: cfg.redirectPath,
    routes,
    async ready(): Promise<SourceStatus> {
      const config = await discovered.get();
      if (!config) return { ok: false, reason: `discovery of ${issuer.href} failed: ${discovered.failure() ?? 'pending'}` };
      // Discovered once is not up now: ask again (discovery and JWKS), at most once per interval.
      return health.check(config.serverMetadata().jwks_uri);
    },
    async close() {},
    checkMappingGroup: (group) => mappingGroupHint(cfg.groupsAre, group),
  };
}
