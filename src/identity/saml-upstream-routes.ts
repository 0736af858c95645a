import type { Profile } from '@node-saml/node-saml';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { SamlIdentityConfig } from '../config/identity-saml-schema.js';
import { createFlowCookie, type CookieAttributes } from '../crypto/flow-cookie.js';
import type { LoginCompletion } from './source.js';
import { inspectAssertion, inspectResponse, reasonFor, type RawFacts } from './saml-upstream-checks.js';
import { createStoreReplayCache } from './saml-upstream-replay.js';
import type { StateStore } from '../state/store.js';
import type { ServiceProvider } from './saml-upstream-sp.js';
import { samlUser } from './saml-upstream-user.js';
import { SAML_PRESCAN_LIMITS } from './xml-prescan.js';
import { samlProvesMfa } from './upstream-mfa.js';

export const SAML_UPSTREAM_PATHS = {
  login: '/saml/upstream/login',
  acs: '/saml/upstream/acs',
  metadata: '/saml/upstream/metadata',
} as const;

const REPLAY_FALLBACK_MS = 3600_000;

/** What the state cookie holds between the redirect out and the POST back (plus its expiry). */
interface PendingLogin {
  readonly id: string;
  readonly returnTo: string;
  /** A step-up: RequestedAuthnContext asked for a multi-factor class, and an answer without one is refused. */
  readonly stepUp?: boolean;
}

const isPending = (p: Readonly<Record<string, unknown>>): boolean => typeof p['id'] === 'string' && typeof p['returnTo'] === 'string';

interface AcsBody {
  SAMLResponse: string;
  RelayState?: string;
}

export interface SamlRoutesContext {
  readonly cfg: SamlIdentityConfig;
  readonly sp: ServiceProvider;
  readonly acsUrl: string;
  readonly cookieName: string;
  readonly cookieAttributes: CookieAttributes;
  readonly now: () => number;
}

type Refusal = { readonly status: number; readonly reason: string; readonly detail?: string };

/**
 * Solicited: this browser must hold the request the response answers. Without that, a
 * response captured from (or made for) someone else's login would sign this browser in:
 * login CSRF. Unsolicited only when the config allows IdP-initiated logins.
 */
function bindingRefusal(facts: RawFacts, pending: PendingLogin | undefined, allowIdpInitiated: boolean): Refusal | undefined {
  if (facts.inResponseTo !== undefined && !pending) return { status: 400, reason: 'no-login-state' };
  if (facts.inResponseTo !== undefined && pending && facts.inResponseTo !== pending.id) return { status: 403, reason: 'request-mismatch' };
  if (facts.inResponseTo === undefined && !allowIdpInitiated) return { status: 403, reason: 'unsolicited-response' };
  return undefined;
}

/** Issuer and Destination: node-saml compares neither on login responses. */
function addressRefusal(profile: Profile, facts: RawFacts, cfg: SamlIdentityConfig, acsUrl: string): Refusal | undefined {
  if (profile.issuer !== cfg.idpIssuer) return { status: 403, reason: 'wrong-issuer', detail: `assertion issuer ${profile.issuer}` };
  if (facts.responseIssuer !== undefined && facts.responseIssuer !== cfg.idpIssuer)
    return { status: 403, reason: 'wrong-issuer', detail: 'response issuer' };
  // Destination is required on a signed Response (SAML 2.0 bindings, section 3.5.5.2) and must be us whenever present.
  if (facts.destination !== undefined ? facts.destination !== acsUrl : cfg.wantResponseSigned) {
    return { status: 403, reason: 'wrong-destination', detail: `destination ${String(facts.destination)}` };
  }
  return undefined;
}

/** The routes of the upstream SAML source: our SP metadata, the redirect out, the ACS. */
export function samlUpstreamRoutes(ctx: SamlRoutesContext): FastifyPluginAsync<{ completion: LoginCompletion; store: StateStore }> {
  const { cfg, sp, acsUrl, now } = ctx;

  return async (app, { completion, store }) => {
    const replays = createStoreReplayCache(store, now);
    const pendingCookie = createFlowCookie<PendingLogin>({
      name: ctx.cookieName,
      sealer: completion.sealer('saml'),
      ttlSeconds: cfg.requestTimeoutSeconds,
      isShape: isPending,
      attributes: ctx.cookieAttributes,
      now,
    });

    app.get(SAML_UPSTREAM_PATHS.metadata, async (_request, reply) =>
      reply.header('cache-control', 'no-cache').type('application/samlmetadata+xml; charset=utf-8').send(sp.metadataXml),
    );

    app.get<{ Querystring: { mfa?: string } }>(SAML_UPSTREAM_PATHS.login, async (request, reply) => {
      // ?mfa=1: a role with requireMfa sent the user back to ask the IdP for a second factor.
      const stepUp = request.query.mfa === '1';
      const { url, requestId } = await sp.startLogin(stepUp);
      pendingCookie.begin(reply, { id: requestId, returnTo: completion.returnTo(request), ...(stepUp ? { stepUp } : {}) });
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
        const refuse = (r: Refusal, user?: string): FastifyReply => {
          if (r.detail)
            request.log.info({ source: 'saml', reason: r.reason, detail: r.detail.slice(0, 300) }, 'upstream SAML response refused');
          return completion.fail(request, reply, r.status, r.reason, user);
        };

        // Shape first, before any crypto: one Assertion, no comments, no DOCTYPE.
        const xml = Buffer.from(request.body.SAMLResponse, 'base64').toString('utf8');
        const shape = inspectResponse(xml, { ...SAML_PRESCAN_LIMITS, maxElements: cfg.maxResponseElements });
        if ('refused' in shape) return refuse({ status: shape.status, reason: shape.refused });
        const facts = shape.ok;
        const unbound = bindingRefusal(facts, pending, cfg.allowIdpInitiated);
        if (unbound) return refuse(unbound);

        let profile: Profile | null;
        try {
          profile = await sp.validate(request.body.SAMLResponse, pending);
        } catch (err) {
          return refuse({ ...reasonFor(err), detail: (err as Error).message });
        }
        if (!profile) return refuse({ status: 400, reason: 'no-assertion' });
        const nameId = typeof profile.nameID === 'string' ? profile.nameID : undefined;

        const misaddressed = addressRefusal(profile, facts, cfg, acsUrl);
        if (misaddressed) return refuse(misaddressed, nameId);
        const assertionXml = profile.getAssertionXml?.();
        if (!assertionXml) return refuse({ status: 400, reason: 'no-assertion' }, nameId);
        const checked = inspectAssertion(assertionXml, acsUrl, facts.inResponseTo);
        if ('refused' in checked) return refuse({ status: checked.status, reason: checked.refused }, nameId);

        const user = samlUser(cfg, profile);
        if (!user) return refuse({ status: 403, reason: 'malformed-user', detail: `no usable ${cfg.idFrom}/${cfg.usernameFrom}` }, nameId);

        // Last: the store's add is atomic, so of two posts of one assertion (to any replica) one passes.
        const t = now();
        const expiresAt = Math.min(checked.ok.expiresAt ?? t + REPLAY_FALLBACK_MS, t + REPLAY_FALLBACK_MS) + cfg.clockSkewSeconds * 1000;
        if (!(await replays.firstUse(checked.ok.id, expiresAt)))
          return refuse({ status: 403, reason: 'replayed-assertion' }, user.username);

        // The verified assertion's AuthnContextClassRef says whether the IdP checked a second factor.
        const mfa = samlProvesMfa(cfg.stepUp, assertionXml);
        if (pending?.stepUp && !mfa) return refuse({ status: 403, reason: 'mfa-not-proven' }, user.username);
        return completion.succeed(
          request,
          reply,
          user,
          pending?.returnTo ?? completion.returnTo(request),
          mfa ? { mfa: 'upstream' } : undefined,
        );
      },
    );
  };
}
