import Fastify, { type FastifyInstance } from 'fastify';
import { readySchema } from './routes/operations.js';

/**
 * The admin listener (server.adminListen): a second Fastify instance for operators and
 * the orchestrator, bound to an address the public cannot reach. It serves the gateway's
 * /metrics, /readyz with every reason and /healthz, and nothing else. Listening and
 * closing are the caller's business, as for the gateway.
 */
export async function buildAdminServer(gateway: FastifyInstance): Promise<FastifyInstance> {
  const admin = Fastify({
    loggerInstance: gateway.log.child({ listener: 'admin' }),
    requestIdHeader: false,
    return503OnClosing: false,
  });
  admin.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  admin.get('/readyz', { logLevel: 'warn', schema: { response: { 200: readySchema, 503: readySchema } } }, async (_request, reply) => {
    const r = await gateway.readiness();
    return reply
      .code(r.ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: r.status, checks: r.checks });
  });
  admin.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    const registry = gateway.metrics.registry;
    return reply.type(registry.contentType).send(await registry.metrics());
  });
  await admin.ready();
  return admin;
}
