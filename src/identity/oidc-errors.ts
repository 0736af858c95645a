import { AuthorizationResponseError, ClientError, ResponseBodyError } from 'openid-client';

/** What a failed callback becomes: the page status and the `login.failed` reason. */
export interface Refusal {
  readonly status: number;
  readonly reason: string;
}

// Only [a-z0-9_-] from upstream reaches our audit line: error codes are IdP-chosen text.
const token = (s: unknown): string =>
  (typeof s === 'string'
    ? s
        .toLowerCase()
        .replace(/[^a-z0-9_-]/g, '')
        .slice(0, 64)
    : '') || 'unknown';

/** The claim or attribute an oauth4webapi check names, wherever in the cause chain it sits. */
function checkedField(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const c = e as { claim?: unknown; attribute?: unknown };
    if (typeof c.claim === 'string') return c.claim;
    if (typeof c.attribute === 'string') return c.attribute;
  }
  return undefined;
}

function innerMessage(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error ? cause.message : '';
}

/** The IdP refused or could not be asked: the user cannot fix it by retrying at once. */
export function upstreamErrorRefusal(error: string): Refusal {
  const code = token(error);
  return { status: code === 'access_denied' ? 403 : 400, reason: `upstream-${code}` };
}

/**
 * Maps what openid-client threw while validating the callback and redeeming the code
 * onto a refusal. Every branch is a 4xx except an IdP we could not reach (502): the
 * user's browser brought us something we will not accept, or the IdP is down.
 */
export function refusalFor(err: unknown): Refusal {
  if (err instanceof AuthorizationResponseError) return upstreamErrorRefusal(err.error);
  if (err instanceof ResponseBodyError) return { status: 400, reason: `token-endpoint-${token(err.error)}` };
  if (err instanceof ClientError) {
    const field = checkedField(err);
    switch (err.code) {
      case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
        return { status: 401, reason: field === 'exp' ? 'id-token-expired' : `id-token-time-${token(field)}` };
      case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
        if (field === 'iss') return { status: 401, reason: 'wrong-issuer' };
        if (field === 'nonce') return { status: 401, reason: 'nonce-mismatch' };
        if (field === 'aud' || field === 'azp') return { status: 401, reason: 'wrong-audience' };
        return { status: 401, reason: `id-token-claim-${token(field)}` };
      case 'OAUTH_INVALID_RESPONSE': {
        const msg = innerMessage(err);
        if (msg.includes('"iss"')) return { status: 401, reason: 'wrong-issuer' };
        if (msg.includes('"state"')) return { status: 400, reason: 'state-mismatch' };
        if (msg.includes('signature')) return { status: 401, reason: 'bad-signature' };
        return { status: 400, reason: 'invalid-response' };
      }
      case 'OAUTH_KEY_SELECTION_FAILED':
        return { status: 401, reason: 'bad-signature' };
      case 'OAUTH_TIMEOUT':
      case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
      case 'OAUTH_RESPONSE_IS_NOT_JSON':
        return { status: 502, reason: 'upstream-unavailable' };
      default:
        return { status: 400, reason: `oidc-${token(err.code)}` };
    }
  }
  // fetch() rejects with a TypeError when the IdP cannot be reached.
  if (err instanceof TypeError) return { status: 502, reason: 'upstream-unavailable' };
  return { status: 400, reason: 'invalid-response' };
}
