import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import { sign } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { KeyMaterial } from './keys/store.js';
import type { IdentitySources } from './identity/sources.js';
import type { User } from './identity/user.js';
import { createGroupFilter, createRoleMapper } from './mapping/roles.js';
import { siteFacts } from './alibaba.js';
import { createSigner } from './saml/sign.js';
import { createIssuer } from './saml/issue.js';
import { gatewayMetadata } from './saml/metadata.js';
import { createAudit } from './audit/audit.js';
import { sessionPlugin } from './http/session.js';
import { metricsPlugin } from './http/metrics.js';
import { createCompletion, loginRoutes } from './http/routes/login.js';
import { ssoRoutes } from './http/routes/sso.js';
import { cliRoutes } from './http/routes/cli.js';
import { requestIdentityPlugin } from './http/request-identity.js';
import { operationsRoutes } from './http/routes/operations.js';
import { readinessOf } from './http/readiness.js';
import type { GatewayDeps } from './http/deps.js';
import { sendMessage } from './http/pages.js';
import { httpStatusFor, PaiSsoError } from './errors.js';
import type { StateStore } from './state/store.js';
import { createMemoryStore } from './state/memory.js';
import { trustedProxyList } from './config/trusted-proxies.js';
import { loginThrottlePlugin } from './http/login-throttle.js';
import { peerOf } from './http/peer.js';
import { createSessionRecords } from './state/sessions.js';
import type { LocalSource } from './identity/local.js';
import { mfaPlugin } from './http/mfa.js';
import { mfaLoginRoutes } from './http/routes/mfa-login.js';
import { accountSecurityRoutes } from './http/routes/account-security.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Start refusing readiness and closing connections after each response, ahead of close(). */
    drain(): void;
    isDraining(): boolean;
  }
}

export interface ServerOptions {
  readonly config: Config;
  readonly keys: KeyMaterial;
  readonly sources: IdentitySources;
  readonly logger: Logger;
  /** Shared state (session records, revocations, ...); default: a memory store owned and closed by the server. */
  readonly store?: StateStore;
  /** server.adminTokenEnv's value (read by the caller from the environment). */
  readonly adminToken?: string | undefined;
  readonly now?: () => number;
}

/** Fastify's validation failures are 400s and its other 4xx errors keep their status; ours say theirs by kind. */
/** What reaches the error handler: Fastify's own errors carry a code, but anything a route or hook throws ends here too. */
type HandledError = Omit<FastifyError, 'code'> & { readonly code?: string | undefined };

function statusFor(error: HandledError): number {
  if (error.validation) return 400;
  if (error instanceof PaiSsoError) return httpStatusFor(error);
  return error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
}

/** Builds the gateway; listening is the caller's business (tests use inject). */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const { config, keys, sources } = opts;
  const now = opts.now ?? Date.now;
  const trustedProxies = trustedProxyList(config.server);
  const app = Fastify({
    // Typed as the base logger so the instance has the default FastifyInstance type.
    // Typed as the base logger so the instance keeps Fastify's default type parameters; the
    // assertion looks redundant to the linter, but without it buildServer's return type breaks.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: opts.logger as FastifyBaseLogger,
    // Only listed proxies: request.ip is the forwarded client when the peer is one of them.
    trustProxy: trustedProxies.length > 0 ? trustedProxies : false,
    bodyLimit: config.server.bodyLimitBytes,
    requestIdHeader: false,
    // During close, requests already on a kept-alive connection are served, not 503'd:
    // draining (below) has already told clients and balancers to go elsewhere.
    return503OnClosing: false,
  });

  const site = siteFacts(config.idp.site);
  const signer = createSigner({ privateKey: keys.privateKey, certPem: keys.current.pem }, { signResponse: config.idp.signResponse });
  const slimUser = createGroupFilter(config);
  const audit = createAudit(app.log);
  const store = opts.store ?? createMemoryStore(now);
  const deps: GatewayDeps = {
    store,
    config,
    site,
    sources,
    mapRoles: createRoleMapper(config),
    issue: createIssuer(config.idp, site, signer),
    audit,
    metadataXml: gatewayMetadata(config, keys),
    checkSigner: () => {
      try {
        sign('sha256', Buffer.from('readyz'), keys.privateKey);
      } catch (err) {
        return { ok: false, reason: `signing failed: ${(err as Error).message}` };
      }
      return keys.current.notAfter.getTime() > now() ? { ok: true } : { ok: false, reason: 'signing certificate expired' };
    },
    now,
    // Uses app.sessions only when called, so it can exist before the session plugin does.
    completion: createCompletion(app, audit, keys.sessionSecret),
    slimUser,
    adminToken: opts.adminToken,
  };

  // Behind TLS (an https baseUrl), browsers must never fall back to plain http for a year.
  const hsts = new URL(config.server.baseUrl).protocol === 'https:' ? 'max-age=31536000; includeSubDomains' : undefined;
  let draining = false;
  app.decorate('drain', () => {
    draining = true;
  });
  app.decorate('isDraining', () => draining);
  app.decorate('readiness', () => readinessOf(app, deps));
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    if (hsts) reply.header('strict-transport-security', hsts);
  });

  // Anything the client got wrong ends as a 4xx page and an audit line, never a 500; a
  // dependency that is down (a PaiSsoError of kind 'unavailable') is a 503 page.
  app.setErrorHandler((error: HandledError, request, reply) => {
    const status = statusFor(error);
    if (status === 503) {
      // A guard we depend on (the state store, a directory) cannot answer: refuse, never grant, say so.
      request.log.warn(
        { err: { code: error.code, message: error.message }, path: request.routeOptions.url ?? '' },
        'refused: dependency unavailable',
      );
      reply.header('retry-after', '5');
      return sendMessage(
        reply,
        status,
        'Temporarily unavailable',
        'A service the gateway depends on cannot be reached. Try again in a moment.',
      );
    }
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
    } else {
      deps.audit({
        event: 'request.rejected',
        status,
        // Errors that are not Fastify's carry no code, whatever the type says.
        reason: typeof error.code === 'string' ? error.code : error.message,
        path: request.routeOptions.url ?? request.url.split('?')[0] ?? '',
        ip: request.ip,
        peer: peerOf(request),
        reqId: request.id,
      });
    }
    if (status >= 500) return sendMessage(reply, status, 'Something went wrong', 'The request could not be completed. It has been logged.');
    return sendMessage(reply, status, 'Bad request', 'The request was not understood.');
  });
  app.setNotFoundHandler((_request, reply) => sendMessage(reply, 404, 'Not found', 'There is nothing at this address.'));

  await app.register(formbody, { bodyLimit: config.server.bodyLimitBytes });
  // With an admin listener, /metrics is served there only.
  await app.register(metricsPlugin, { route: config.server.adminListen === undefined });
  // Before the routes: it guards the upstream callbacks from onRequest on.
  await app.register(loginThrottlePlugin, deps);
  await app.register(sessionPlugin, {
    secret: keys.sessionSecret,
    cookieName: config.session.cookieName,
    idleTimeoutSeconds: config.session.idleTimeoutSeconds,
    absoluteTimeoutSeconds: config.session.absoluteTimeoutSeconds,
    secure: new URL(config.server.baseUrl).protocol === 'https:',
    slimUser,
    records: createSessionRecords(store, { absoluteTimeoutMs: config.session.absoluteTimeoutSeconds * 1000, now }),
    currentUser: currentUserFrom(sources),
    audit,
    now,
  });
  await app.register(requestIdentityPlugin, deps);
  await app.register(mfaPlugin, { ...deps, sessionSecret: keys.sessionSecret });
  await app.register(loginRoutes, deps);
  await app.register(mfaLoginRoutes, deps);
  await app.register(accountSecurityRoutes, deps);
  for (const source of sources.redirect) await app.register(source.routes, { completion: deps.completion, store: deps.store });
  await app.register(ssoRoutes, deps);
  await app.register(cliRoutes, deps);
  await app.register(operationsRoutes, deps);
  app.addHook('onClose', async () => {
    await Promise.all(sources.all.map((s) => s.close()));
    if (!opts.store) await store.close();
  });
  return app;
}

/** Local users are re-read on every request (removal, group changes); other sources keep the session's copy. */
function currentUserFrom(sources: IdentitySources): ((user: User) => User | undefined) | undefined {
  const local = sources.all.find((s): s is LocalSource => s.kind === 'local' && 'current' in s);
  return local ? (user) => (user.source === 'local' ? local.current(user) : user) : undefined;
}
