import type { FastifyPluginAsync } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import { bearsAdminToken } from '../readiness.js';

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
  required: ['status'],
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

  // Anyone may ask whether we are ready; only an operator (the admin token, or the admin
  // listener) learns why not: the reasons name directory URLs, bind DNs and store addresses.
  app.get('/readyz', { logLevel: 'warn', schema: { response: { 200: readySchema, 503: readySchema } } }, async (request, reply) => {
    const r = await app.readiness();
    reply.header('cache-control', 'no-store');
    return reply
      .code(r.ready ? 200 : 503)
      .send(bearsAdminToken(request, deps.adminToken) ? { status: r.status, checks: r.checks } : { status: r.status });
  });
};

export { readySchema };
