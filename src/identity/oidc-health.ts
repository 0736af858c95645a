import type { SourceStatus } from './user.js';

/**
 * Whether an OIDC provider discovered earlier can still sign people in: its discovery
 * document and its JWKS both answer. Asked by /readyz, at most once per `intervalMs`
 * (concurrent asks share one probe), so a provider that goes down after startup turns
 * readiness 503 within one interval instead of the callback failing with a 502, and
 * probes cannot hammer it.
 */
export interface OidcHealthOptions {
  /** The discovery document's URL (what discovery fetched). */
  readonly discoveryUrl: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly now: () => number;
}

async function probe(discoveryUrl: string, jwksUri: string | undefined, timeoutMs: number): Promise<SourceStatus> {
  const get = async (url: string, what: string): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' }, redirect: 'error' });
    } catch (err) {
      const cause = (err as { cause?: { code?: unknown } }).cause;
      throw new Error(`${what} ${url} unreachable (${typeof cause?.code === 'string' ? cause.code : (err as Error).name})`, { cause: err });
    }
    if (!res.ok) throw new Error(`${what} ${url} answered ${res.status}`);
    try {
      return await res.json();
    } catch (err) {
      throw new Error(`${what} ${url} is not JSON`, { cause: err });
    }
  };
  try {
    const doc = (await get(discoveryUrl, 'discovery')) as { jwks_uri?: unknown } | null;
    const jwks = typeof doc?.jwks_uri === 'string' ? doc.jwks_uri : jwksUri;
    if (jwks === undefined) return { ok: false, reason: `discovery ${discoveryUrl} names no jwks_uri` };
    const keys = (await get(jwks, 'JWKS')) as { keys?: unknown } | null;
    if (!Array.isArray(keys?.keys) || keys.keys.length === 0) return { ok: false, reason: `JWKS ${jwks} holds no keys` };
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

export function createOidcHealth(opts: OidcHealthOptions): { check(jwksUri: string | undefined): Promise<SourceStatus> } {
  let last: { at: number; status: Promise<SourceStatus> } | undefined;
  return {
    check(jwksUri) {
      const t = opts.now();
      if (!last || t - last.at >= opts.intervalMs) last = { at: t, status: probe(opts.discoveryUrl, jwksUri, opts.timeoutMs) };
      return last.status;
    },
  };
}

/** Where openid-client looks for the discovery document of `issuer` (OpenID Connect Discovery 1.0, section 4). */
export function discoveryUrlOf(issuer: URL): string {
  return `${issuer.href.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}
