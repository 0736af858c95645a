import fp from 'fastify-plugin';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly assertionsIssued: Counter<'site'>;
  readonly assertionsDenied: Counter<'reason'>;
  readonly logins: Counter<'result'>;
  readonly signSeconds: Histogram;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics;
  }
}

/**
 * A registry per server instance, so tests and workers never share counters by accident.
 * `route: false` leaves /metrics off this instance (it is served by the admin listener).
 */
export const metricsPlugin = fp<{ route?: boolean }>(
  async (app, opts) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'pai_sso_' });
    const metrics: GatewayMetrics = {
      registry,
      assertionsIssued: new Counter({
        name: 'pai_sso_assertions_issued_total',
        help: 'Signed SAML responses issued',
        labelNames: ['site'],
        registers: [registry],
      }),
      assertionsDenied: new Counter({
        name: 'pai_sso_assertions_denied_total',
        help: 'Open PAI requests refused',
        labelNames: ['reason'],
        registers: [registry],
      }),
      logins: new Counter({
        name: 'pai_sso_logins_total',
        help: 'Login attempts by result',
        labelNames: ['result'],
        registers: [registry],
      }),
      signSeconds: new Histogram({
        name: 'pai_sso_sign_seconds',
        help: 'Time to build and sign one SAML response',
        buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
        registers: [registry],
      }),
    };
    app.decorate('metrics', metrics);
    if (opts.route === false) return;
    app.get('/metrics', { schema: { hide: true, response: { 200: { type: 'string' } } } }, async (_req, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    });
  },
  { name: 'pai-sso-metrics', fastify: '5.x' },
);
