import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GatewayDeps } from './deps.js';
import { constantTimeEqual } from '../crypto/constant-time.js';

export interface Check {
  readonly ok: boolean;
  readonly reason?: string;
}

export interface Readiness {
  readonly status: 'ready' | 'not ready' | 'draining';
  readonly ready: boolean;
  /** The reasons: directory URLs, bind DNs, store addresses. For operators only. */
  readonly checks: { readonly config: Check; readonly signingKey: Check; readonly identity: Check; readonly state: Check };
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every readiness check with its reason (the public /readyz shows only the status). */
    readiness(): Promise<Readiness>;
  }
}

/** What /readyz decides: every source can sign people in, the key signs, the store answers, not draining. */
export async function readinessOf(app: FastifyInstance, deps: GatewayDeps): Promise<Readiness> {
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
  return { status, ready, checks };
}

/** `Authorization: Bearer <server.adminTokenEnv's token>`, compared in constant time; false without a token configured. */
export function bearsAdminToken(request: FastifyRequest, token: string | undefined): boolean {
  if (token === undefined) return false;
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer (\S+)$/i.exec(header) : null;
  return match !== null && constantTimeEqual(match[1] ?? '', token);
}
