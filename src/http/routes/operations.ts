import type { FastifyPluginAsync } from 'fastify';
import type { GatewayDeps } from '../deps.js';

const checkSchema = {
  type: 'object',
  properties: { ok: { type: 'boolean' }, reason: { type: 'string' } },
  required: ['ok'],
} as const;

const readySchema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    checks: {
      type: 'object',
      properties: { config: checkSchema, signingKey: checkSchema, identity: checkSchema, state: checkSchema },
      required: ['config', 'signingKey', 'identity', 'state'],
    },
  },
  required: ['status', 'checks'],
} as const;

/** Metadata and probes: what operators and RAM read, never behind a session. */
export const operationsRoutes: FastifyPluginAsync<GatewayDeps> = async (app, deps) => {
  app.get('/saml/metadata', { schema: { response: { 200: { type: 'string' } } } }, async (_request, reply) => {
    return reply.type('application/samlmetadata+xml; charset=utf-8').header('cache-control', 'public, max-age=300').send(deps.metadataXml);
  });

  app.get(
    '/healthz',
    {
      logLevel: 'warn',
      schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] } } },
    },
    async () => ({ status: 'ok' }),
  );

  app.get('/readyz', { logLevel: 'warn', schema: { response: { 200: readySchema, 503: readySchema } } }, async (_request, reply) => {
    const statuses = await Promise.all(
      deps.sources.all.map(async (s) => {
        const r = await s.ready().catch((err: unknown) => ({ ok: false, reason: (err as Error).message }));
        return r.ok ? r : { ok: false, reason: `${s.kind}: ${r.reason ?? 'not ready'}` };
      }),
    );
    // Ready when every source can sign people in: a chooser with a dead upstream is a broken login page.
    const failed = statuses.filter((s) => !s.ok);
    const identity = failed.length ? { ok: false, reason: failed.map((f) => f.reason).join('; ') } : { ok: true };
    // Without the store no session can be checked: fail closed, and say why.
    const state = await deps.store.ready().catch((err: unknown) => ({ ok: false, reason: (err as Error).message }));
    const checks = { config: { ok: true }, signingKey: deps.checkSigner(), identity, state };
    const ready = checks.signingKey.ok && checks.identity.ok && checks.state.ok && !app.isDraining();
    const status = app.isDraining() ? 'draining' : ready ? 'ready' : 'not ready';
    return reply.code(ready ? 200 : 503).send({ status, checks });
  });
};
