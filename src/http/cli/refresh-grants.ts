import type { StateStore } from '../../state/store.js';
import { constantTimeEqual } from '../../crypto/constant-time.js';
import { isApproval, newSecret, parseJson, secretKey, type CliApproval } from './approval.js';

// How the command keeps getting credentials without a browser while the gateway session
// lasts: a refresh grant bound to the session record it was approved in. It lives no
// longer than that session (its absolute expiry), and every use re-checks the record, so
// `POST /logout` and `pai-sso session revoke` end it too. The token rotates on every use
// (RFC 9700 §4.14.2 for public clients); presenting a token that was already rotated
// away means two parties hold it, so the grant is revoked for both. Keys:
//   cli-grant:<id>                 the grant (JSON: approval, hash of the current secret, expiry)
//   cli-grant-used:<hash of token> a token that was presented once (atomic add: single use)

export interface RefreshGrant {
  readonly id: string;
  readonly approval: CliApproval;
  /** ms: the session's absolute expiry. */
  readonly expires: number;
}

export type GrantUse =
  { readonly ok: true; readonly grant: RefreshGrant } | { readonly ok: false; readonly reason: 'unknown-grant' | 'refresh-reused' };

interface Stored {
  readonly approval: CliApproval;
  readonly secretHash: string;
  readonly expires: number;
}

const grantKey = (id: string) => `cli-grant:${id}`;
const usedKey = (token: string) => `cli-grant-used:${secretKey(token)}`;
const TOKEN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface RefreshGrants {
  /** A new grant; returns its first token. */
  issue(approval: CliApproval, expires: number): Promise<{ token: string; grant: RefreshGrant }>;
  /** Consumes a token (single use); the caller then rotates or revokes. */
  use(token: string): Promise<GrantUse>;
  /** The grant's next token, replacing the one just used. */
  rotate(grant: RefreshGrant, approval: CliApproval): Promise<string>;
  revoke(idOrToken: string): Promise<void>;
}

export function createRefreshGrants(store: StateStore, now: () => number): RefreshGrants {
  const write = async (id: string, approval: CliApproval, expires: number) => {
    const secret = newSecret();
    const stored: Stored = { approval, secretHash: secretKey(secret), expires };
    await store.set(grantKey(id), JSON.stringify(stored), Math.max(1, expires - now()));
    return `${id}.${secret}`;
  };
  const read = async (id: string): Promise<Stored | undefined> => {
    const s = parseJson(await store.get(grantKey(id))) as Partial<Stored> | undefined;
    return s && isApproval(s.approval) && typeof s.secretHash === 'string' && typeof s.expires === 'number' ? (s as Stored) : undefined;
  };

  return {
    async issue(approval, expires) {
      const id = newSecret(16);
      const token = await write(id, approval, expires);
      return { token, grant: { id, approval, expires } };
    },
    async use(token) {
      const m = TOKEN.exec(token);
      if (!m) return { ok: false, reason: 'unknown-grant' };
      const [, id, secret] = m as unknown as [string, string, string];
      const stored = await read(id);
      if (!stored || stored.expires <= now()) return { ok: false, reason: 'unknown-grant' };
      const fresh = await store.add(usedKey(token), '1', Math.max(1, stored.expires - now()));
      if (!fresh) {
        // This token was presented before: whoever presents it now holds a copy. End the grant.
        await store.del(grantKey(id));
        return { ok: false, reason: 'refresh-reused' };
      }
      if (!constantTimeEqual(secretKey(secret), stored.secretHash)) return { ok: false, reason: 'unknown-grant' };
      return { ok: true, grant: { id, approval: stored.approval, expires: stored.expires } };
    },
    rotate(grant, approval) {
      return write(grant.id, approval, grant.expires);
    },
    async revoke(idOrToken) {
      const id = TOKEN.exec(idOrToken)?.[1] ?? idOrToken;
      await store.del(grantKey(id));
    },
  };
}
